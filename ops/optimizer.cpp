#include "ops/optimizer.hpp"

#include <chrono>
#include <cmath>

#include "ops/parallel.hpp"
#include "ops/simd/kernel_table.hpp"

namespace ww::ops {

void adam_update(float* param, const float* grad, float* m, float* v, std::size_t n, const AdamStep& s) {
  const auto& k = simd::kernels();
  const auto t = static_cast<double>(s.t);
  const auto c1 = static_cast<float>(1.0 - std::pow(static_cast<double>(s.beta1), t));
  const auto c2 = static_cast<float>(1.0 - std::pow(static_cast<double>(s.beta2), t));
  parallel_for(n, 1 << 15, [&](std::size_t, std::size_t begin, std::size_t end) {
    k.adam_update(param + begin, grad + begin, m + begin, v + begin, end - begin, s.lr, s.beta1,
                  s.beta2, s.eps, c1, c2);
  });
}

void sgd_update(float* param, const float* grad, float* velocity, std::size_t n, float lr, float momentum) {
  const auto& k = simd::kernels();
  parallel_for(n, 1 << 15, [&](std::size_t, std::size_t begin, std::size_t end) {
    k.sgd_update(param + begin, grad + begin, velocity + begin, end - begin, lr, momentum);
  });
}

double measure_fma_peak_gflops(int threads, double seconds) {
  const auto& k = simd::kernels();
  constexpr std::size_t iterations = 1 << 20;
  volatile float sink = k.fma_throughput(iterations / 16);  // warm up, wake the cores
  set_num_threads(threads);
  std::size_t rounds = 1;
  double elapsed = 0.0;
  while (true) {
    const auto start = std::chrono::steady_clock::now();
    parallel_for(static_cast<std::size_t>(threads) * rounds, 1, [&](std::size_t, std::size_t, std::size_t) {
      sink = k.fma_throughput(iterations);
    });
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (elapsed >= seconds) break;
    rounds *= 2;
  }
  set_num_threads(0);
  (void)sink;
  return static_cast<double>(threads * rounds * iterations * k.fma_flops_per_iteration) / elapsed * 1e-9;
}

}  // namespace ww::ops
