#include "ops/reduce.hpp"

#include <vector>

#include "ops/parallel.hpp"
#include "ops/simd/kernel_table.hpp"

namespace ww::ops {
namespace {
constexpr std::size_t reduce_grain = 1 << 15;

std::size_t grain_for(std::size_t entry_size) {
  return entry_size >= reduce_grain ? 1 : reduce_grain / entry_size;
}
}  // namespace

void sum_axis_forward(const float* x, float* y, std::size_t outer, std::size_t n, std::size_t inner,
                      float scale) {
  const auto& k = simd::kernels();
  if (outer > 1 || (inner == 1 && n * inner <= reduce_grain)) {
    parallel_for(outer, grain_for(n * inner), [&](std::size_t, std::size_t begin, std::size_t end) {
      k.sum_axis_forward(x + begin * n * inner, y + begin * inner, end - begin, n, inner, inner, scale);
    });
  } else if (inner > 1) {
    // One row: split its columns.
    parallel_for(inner, grain_for(n), [&](std::size_t, std::size_t begin, std::size_t end) {
      k.sum_axis_forward(x + begin, y + begin, 1, n, end - begin, inner, scale);
    });
  } else {
    // A long vector to one value: partial sums per chunk, combined in chunk order.
    const std::size_t chunks = chunk_count(n, reduce_grain);
    std::vector<float> partials(chunks);
    parallel_for(n, reduce_grain, [&](std::size_t chunk, std::size_t begin, std::size_t end) {
      k.sum_axis_forward(x + begin, &partials[chunk], 1, end - begin, 1, 1, 1.f);
    });
    double total = 0.0;
    for (float partial : partials) total += partial;
    y[0] = static_cast<float>(scale * total);
  }
}

void sum_axis_backward(const float* dy, float* dx, bool overwrite_dx, std::size_t outer,
                       std::size_t n, std::size_t inner, float scale) {
  const auto& k = simd::kernels();
  if (outer > 1) {
    parallel_for(outer, grain_for(n * inner), [&](std::size_t, std::size_t begin, std::size_t end) {
      k.sum_axis_backward(dy + begin * inner, dx + begin * n * inner, end - begin, n, inner, inner, scale,
                          overwrite_dx);
    });
  } else if (inner > 1) {
    parallel_for(inner, grain_for(n), [&](std::size_t, std::size_t begin, std::size_t end) {
      k.sum_axis_backward(dy + begin, dx + begin, 1, n, end - begin, inner, scale, overwrite_dx);
    });
  } else {
    // Every entry gets the same value: dx[m] += scale * dy[0].
    const float value = scale * dy[0];
    parallel_for(n, reduce_grain, [&](std::size_t, std::size_t begin, std::size_t end) {
      k.sum_axis_backward(&value, dx + begin, 1, end - begin, 1, 1, 1.f, overwrite_dx);
    });
  }
}

}  // namespace ww::ops
