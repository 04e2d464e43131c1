#pragma once
// Parameter updates of the optimisers, and the FMA throughput probe of the benchmarks.
#include "ops/simd/batch_io.hpp"
#include "ops/simd/kernel_table.hpp"

namespace ww::ops::simd {
namespace {

template <class A>
void adam_update(float* param, const float* grad, float* m, float* v, size_t n, float lr,
                 float beta1, float beta2, float eps, float c1, float c2) {
  using B = Batch<A>;
  const B b1(beta1), b2(beta2), one_minus_b1(1.f - beta1), one_minus_b2(1.f - beta2);
  const B step(lr / c1), inv_c2(1.f / c2), eps_b(eps);
  each_batch<A>(n, [&](size_t i, size_t count) {
    const B g = load<A>(grad + i, count);
    const B m_new = xsimd::fma(b1, load<A>(m + i, count), one_minus_b1 * g);
    const B v_new = xsimd::fma(b2, load<A>(v + i, count), one_minus_b2 * g * g);
    store<A>(m + i, m_new, count);
    store<A>(v + i, v_new, count);
    const B update = step * m_new / (xsimd::sqrt(v_new * inv_c2) + eps_b);
    store<A>(param + i, load<A>(param + i, count) - update, count);
  });
}

template <class A>
void sgd_update(float* param, const float* grad, float* velocity, size_t n, float lr, float momentum) {
  using B = Batch<A>;
  const B lr_b(lr), momentum_b(momentum);
  each_batch<A>(n, [&](size_t i, size_t count) {
    const B v = xsimd::fma(momentum_b, load<A>(velocity + i, count), load<A>(grad + i, count));
    store<A>(velocity + i, v, count);
    store<A>(param + i, xsimd::fnma(lr_b, v, load<A>(param + i, count)), count);
  });
}

constexpr size_t fma_chains = 12;

template <class A>
float fma_throughput(size_t iterations) {
  using B = Batch<A>;
  B acc[fma_chains];
  for (size_t c = 0; c < fma_chains; ++c) acc[c] = B(static_cast<float>(c) * 1e-3f);
  const B a(0.999999f), b(1e-7f);
  for (size_t i = 0; i < iterations; ++i) {
#pragma GCC unroll 12
    for (size_t c = 0; c < fma_chains; ++c) acc[c] = xsimd::fma(acc[c], a, b);
  }
  B total(0.f);
  for (size_t c = 0; c < fma_chains; ++c) total += acc[c];
  return xsimd::hadd(total);
}

}  // namespace
}  // namespace ww::ops::simd
