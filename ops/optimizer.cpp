#include "ops/optimizer.hpp"

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

}  // namespace ww::ops
