#pragma once
// Parameter updates of the optimisers.
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

}  // namespace
}  // namespace ww::ops::simd
