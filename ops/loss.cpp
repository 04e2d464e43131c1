#include "ops/loss.hpp"

#include <vector>

#include "ops/parallel.hpp"
#include "ops/simd/kernel_table.hpp"

namespace ww::ops {
namespace {
constexpr std::size_t loss_grain = 1 << 15;

// Sum of chunk_sum(begin, end) over fixed chunks, combined in chunk order.
template <class ChunkSum>
double chunked_sum(std::size_t n, ChunkSum&& chunk_sum) {
  std::vector<double> partials(chunk_count(n, loss_grain), 0.0);
  parallel_for(n, loss_grain, [&](std::size_t chunk, std::size_t begin, std::size_t end) {
    partials[chunk] = chunk_sum(begin, end);
  });
  double total = 0.0;
  for (double partial : partials) total += partial;
  return total;
}
}  // namespace

float mse_forward(const float* pred, const float* target, std::size_t n) {
  const auto& k = simd::kernels();
  const double total = chunked_sum(n, [&](std::size_t begin, std::size_t end) {
    return k.squared_error_sum(pred + begin, target + begin, end - begin);
  });
  return static_cast<float>(total / static_cast<double>(n));
}

void mse_backward(const float* pred, const float* target, float dloss, float* dpred, std::size_t n) {
  const auto& k = simd::kernels();
  const float scale = static_cast<float>(2.0 * dloss / static_cast<double>(n));
  parallel_for(n, loss_grain, [&](std::size_t, std::size_t begin, std::size_t end) {
    k.squared_error_backward(pred + begin, target + begin, dpred + begin, end - begin, scale);
  });
}

float norm_forward(Norm norm, const float* x, std::size_t n) {
  const auto& k = simd::kernels();
  return static_cast<float>(
      chunked_sum(n, [&](std::size_t begin, std::size_t end) { return k.norm_sum(norm, x + begin, end - begin); }));
}

void norm_backward(Norm norm, const float* x, float dnorm, float* dx, bool overwrite_dx, std::size_t n) {
  const auto& k = simd::kernels();
  parallel_for(n, loss_grain, [&](std::size_t, std::size_t begin, std::size_t end) {
    k.norm_backward(norm, x + begin, dx + begin, end - begin, dnorm, overwrite_dx);
  });
}

float poisson_forward(const float* rate, const float* target, std::size_t batch,
                      std::size_t neurons, float eps) {
  const auto& k = simd::kernels();
  const double total = chunked_sum(batch * neurons, [&](std::size_t begin, std::size_t end) {
    return k.poisson_sum(rate + begin, target + begin, end - begin, eps);
  });
  return static_cast<float>(total / static_cast<double>(batch));
}

void poisson_backward(const float* rate, const float* target, float dloss, float* drate,
                      std::size_t batch, std::size_t neurons, float eps) {
  const auto& k = simd::kernels();
  const float scale = static_cast<float>(dloss / static_cast<double>(batch));
  parallel_for(batch * neurons, loss_grain, [&](std::size_t, std::size_t begin, std::size_t end) {
    k.poisson_backward(rate + begin, target + begin, drate + begin, end - begin, eps, scale);
  });
}

}  // namespace ww::ops
