#include "ops/reduce.hpp"

#include <algorithm>
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

void weighted_sum_forward(const float* x, const float* w, float* y, std::size_t outer, std::size_t n, std::size_t inner) {
  const auto& k = simd::kernels();
  parallel_for(outer, grain_for(n * inner), [&](std::size_t, std::size_t begin, std::size_t end) {
    for (std::size_t o = begin; o < end; ++o) k.weighted_row_sum(n, inner, x + o * n * inner, inner, w, inner, y + o * inner, false);
  });
}

void weighted_sum_backward(const float* x, const float* w, const float* dy, float* dx, bool overwrite_dx, float* dw,
                           bool overwrite_dw, std::size_t outer, std::size_t n, std::size_t inner) {
  const auto& k = simd::kernels();
  if (dx != nullptr) {
    parallel_for(outer, grain_for(n * inner), [&](std::size_t, std::size_t begin, std::size_t end) {
      for (std::size_t o = begin; o < end; ++o)
        for (std::size_t m = 0; m < n; ++m)
          k.weighted_row_sum(1, inner, dy + o * inner, 0, w + m * inner, 0, dx + (o * n + m) * inner, !overwrite_dx);
    });
  }
  if (dw != nullptr) {
    // Each task owns a stretch of dw and sums over every o in order: the same for any thread count.
    constexpr std::size_t stretch = 256;
    const std::size_t stretches = (inner + stretch - 1) / stretch;
    parallel_for(n * stretches, 1, [&](std::size_t, std::size_t begin, std::size_t end) {
      for (std::size_t task = begin; task < end; ++task) {
        const std::size_t m = task / stretches, first = task % stretches * stretch, len = std::min(stretch, inner - first);
        k.weighted_row_sum(outer, len, x + m * inner + first, n * inner, dy + first, inner, dw + m * inner + first, !overwrite_dw);
      }
    });
  }
}

}  // namespace ww::ops
