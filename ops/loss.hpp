#pragma once
// Losses over n predictions. Sums accumulate in double, in fixed chunks (thread-count independent).
#include <cstddef>

#include "ops/simd/kernel_table.hpp"

namespace ww::ops {

// mean_i (pred[i] - target[i])^2.
float mse_forward(const float* pred, const float* target, std::size_t n);
// dpred += dloss * 2 (pred - target) / n.
void mse_backward(const float* pred, const float* target, float dloss, float* dpred, std::size_t n);

using simd::Norm;

// sum |x| or sum x^2 over n values.
float norm_forward(Norm norm, const float* x, std::size_t n);
// dx += dnorm * d/dx (dx = ... when overwrite_dx).
void norm_backward(Norm norm, const float* x, float dnorm, float* dx, bool overwrite_dx, std::size_t n);

// Poisson negative log-likelihood without constant terms, rate [batch, neurons]:
// (1/batch) sum_{b,n} rate - y log(rate + eps).
float poisson_forward(const float* rate, const float* target, std::size_t batch,
                      std::size_t neurons, float eps);
// drate += dloss (1 - y / (rate + eps)) / batch.
void poisson_backward(const float* rate, const float* target, float dloss, float* drate,
                      std::size_t batch, std::size_t neurons, float eps);

}  // namespace ww::ops
