#pragma once
// Optimiser update kernels on flat parameter arrays.
#include <cstddef>

namespace ww::ops {

struct AdamStep {
  float lr, beta1, beta2, eps;
  long long t;  // 1-based step number, for bias correction
};

// m = beta1 m + (1-beta1) g; v = beta2 v + (1-beta2) g^2;
// param -= lr (m / (1-beta1^t)) / (sqrt(v / (1-beta2^t)) + eps).
void adam_update(float* param, const float* grad, float* m, float* v, std::size_t n, const AdamStep& step);

// velocity = momentum velocity + grad; param -= lr velocity.
void sgd_update(float* param, const float* grad, float* velocity, std::size_t n, float lr, float momentum);

// The measured peak of fused multiply-adds on `threads` threads (each running independent FMA
// chains for about `seconds`), in GFLOP/s. For benchmarks: the ceiling kernels are compared to.
double measure_fma_peak_gflops(int threads, double seconds = 0.2);

}  // namespace ww::ops
