#pragma once
// Fills a KernelTable with the instantiations for one instruction set. Included only by the
// arch_<isa>.cpp files.
#include "ops/simd/correlate_impl.hpp"
#include "ops/simd/elementwise_impl.hpp"
#include "ops/simd/optimizer_impl.hpp"
#include "ops/simd/gemm_impl.hpp"
#include "ops/simd/reduce_impl.hpp"

namespace ww::ops::simd {
namespace {

template <class A>
KernelTable make_table(const char* name) {
  KernelTable t{};
  t.name = name;
  t.unary_forward = &unary_forward<A>;
  t.unary_backward = &unary_backward<A>;
  t.activation_backward_from_output = &activation_backward_from_output<A>;
  t.binary_forward = &binary_forward<A>;
  t.binary_backward_a = &binary_backward_a<A>;
  t.binary_backward_b = &binary_backward_b<A>;
  t.sum_axis_forward = &sum_axis_forward<A>;
  t.sum_axis_backward = &sum_axis_backward<A>;
  t.weighted_row_sum = &weighted_row_sum<A>;
  t.axpy = &axpy<A>;
  t.dot = &dot<A>;
  t.copy_rows = &copy_rows<A>;
  t.axpy_rows = &axpy_rows<A>;
  t.add_shifted_rows = &add_shifted_rows<A>;
  t.strided_sum = &strided_sum<A>;
  t.strided_sum_sqdev = &strided_sum_sqdev<A>;
  t.strided_sum_and_dot = &strided_sum_and_dot<A>;
  t.strided_affine = &strided_affine<A>;
  t.strided_affine_backward = &strided_affine_backward<A>;
  t.gemm = &gemm<A>;
  t.gemm_gathered = &gemm_gathered<A>;
  t.gemm_pack_a_floats = GemmShape<A>::pack_a_floats;
  t.gemm_pack_a_rows = &pack_a_rows<A>;
  t.gemm_packed_a_floats = &packed_a_floats<A>;
  t.gemm_pack_b_floats = GemmShape<A>::pack_b_floats;
  t.gemm_pack_b_columns = &pack_b_columns<A>;
  t.gemm_packed_b_floats = &packed_b_floats<A>;
  t.gemm_packed = &gemm_packed<A>;
  t.gemm_narrow = &gemm_narrow<A>;
  t.transpose = &transpose<A>;
  t.correlate_valid = &correlate_valid<A>;
  t.correlate_valid_weight_grad = &correlate_valid_weight_grad<A>;
  t.correlate_channels = &correlate_channels<A>;
  t.correlate_channels_weight_grad = &correlate_channels_weight_grad<A>;
  t.adam_update = &adam_update<A>;
  t.sgd_update = &sgd_update<A>;
  t.fma_throughput = &fma_throughput<A>;
  t.fma_flops_per_iteration = fma_chains * width<A> * 2;
  t.norm_sum = &norm_sum<A>;
  t.norm_backward = &norm_backward<A>;
  t.squared_error_sum = &squared_error_sum<A>;
  t.squared_error_backward = &squared_error_backward<A>;
  t.poisson_sum = &poisson_sum<A>;
  t.poisson_backward = &poisson_backward<A>;
  return t;
}

}  // namespace
}  // namespace ww::ops::simd
