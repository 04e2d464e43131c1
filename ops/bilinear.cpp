#include "ops/bilinear.hpp"

#include <cmath>
#include <cstring>
#include <vector>

#include "ops/parallel.hpp"
#include "ops/scratch.hpp"
#include "ops/simd/kernel_table.hpp"

namespace ww::ops {
namespace {

// The four pixels around a position and their weights; a corner outside the map has index -1.
struct Corners {
  std::ptrdiff_t index[4];  // (x0,y0), (x1,y0), (x0,y1), (x1,y1) as y*width + x
  float weight[4];
  float fx, fy;
  float scale_x, scale_y;   // d(pixel)/d(position)
};

Corners corners_at(float x, float y, const BilinearShape& s) {
  Corners c;
  c.scale_x = 0.5f * static_cast<float>(s.width - 1);
  c.scale_y = 0.5f * static_cast<float>(s.height - 1);
  const float px = (x + 1.f) * c.scale_x;
  const float py = (y + 1.f) * c.scale_y;
  const float x0 = std::floor(px), y0 = std::floor(py);
  c.fx = px - x0;
  c.fy = py - y0;
  const std::ptrdiff_t xs[2] = {static_cast<std::ptrdiff_t>(x0), static_cast<std::ptrdiff_t>(x0) + 1};
  const std::ptrdiff_t ys[2] = {static_cast<std::ptrdiff_t>(y0), static_cast<std::ptrdiff_t>(y0) + 1};
  const float wx[2] = {1.f - c.fx, c.fx}, wy[2] = {1.f - c.fy, c.fy};
  for (int corner = 0; corner < 4; ++corner) {
    const std::ptrdiff_t cx = xs[corner & 1], cy = ys[corner >> 1];
    const bool inside = cx >= 0 && cy >= 0 && cx < static_cast<std::ptrdiff_t>(s.width) &&
                        cy < static_cast<std::ptrdiff_t>(s.height);
    c.index[corner] = inside ? cy * static_cast<std::ptrdiff_t>(s.width) + cx : -1;
    c.weight[corner] = wx[corner & 1] * wy[corner >> 1];
  }
  return c;
}

const float* position_of(const float* positions, std::size_t b, std::size_t n, const BilinearShape& s) {
  return positions + ((s.positions_per_sample ? b * s.neurons : 0) + n) * 2;
}

}  // namespace

void bilinear_sample_forward(const float* map, const float* positions, float* out,
                             const BilinearShape& s) {
  const auto& k = simd::kernels();
  const std::size_t pixels = s.height * s.width;
  parallel_for(s.batch, 1, [&](std::size_t, std::size_t b, std::size_t) {
    float* features = scratch(ScratchSlot::channels_last, pixels * s.channels);
    k.transpose(s.channels, pixels, map + b * s.channels * pixels, pixels, features, s.channels);  // a pixel's features contiguous
    for (std::size_t n = 0; n < s.neurons; ++n) {
      const float* pos = position_of(positions, b, n, s);
      const Corners c = corners_at(pos[0], pos[1], s);
      float* o = out + (b * s.neurons + n) * s.channels;
      std::memset(o, 0, s.channels * sizeof(float));
      for (int corner = 0; corner < 4; ++corner) {
        if (c.index[corner] < 0) continue;
        k.axpy(s.channels, c.weight[corner], features + c.index[corner] * s.channels, o);
      }
    }
  });
}

void bilinear_sample_backward(const float* map, const float* positions, const float* dout,
                              float* dmap, float* dpositions, const BilinearShape& s) {
  const auto& k = simd::kernels();
  const std::size_t pixels = s.height * s.width;
  // Shared positions collect gradient from every sample: one partial per sample, summed in order.
  const bool shared = dpositions != nullptr && !s.positions_per_sample;
  std::vector<float> position_partials(shared ? s.batch * s.neurons * 2 : 0, 0.f);
  parallel_for(s.batch, 1, [&](std::size_t, std::size_t b, std::size_t) {
    float* features = scratch(ScratchSlot::channels_last, pixels * s.channels);
    k.transpose(s.channels, pixels, map + b * s.channels * pixels, pixels, features, s.channels);  // a pixel's features contiguous
    float* feature_grad = nullptr;
    if (dmap != nullptr) {
      feature_grad = scratch(ScratchSlot::column_grad, pixels * s.channels);
      std::memset(feature_grad, 0, pixels * s.channels * sizeof(float));
    }
    for (std::size_t n = 0; n < s.neurons; ++n) {
      const float* pos = position_of(positions, b, n, s);
      const Corners c = corners_at(pos[0], pos[1], s);
      const float* g = dout + (b * s.neurons + n) * s.channels;
      float value[4] = {0.f, 0.f, 0.f, 0.f};  // dot(g, features at corner)
      for (int corner = 0; corner < 4; ++corner) {
        if (c.index[corner] < 0) continue;
        if (feature_grad != nullptr) {
          k.axpy(s.channels, c.weight[corner], g, feature_grad + c.index[corner] * s.channels);
        }
        value[corner] = k.dot(g, features + c.index[corner] * s.channels, s.channels);
      }
      if (dpositions == nullptr) continue;
      const float d_px = (1.f - c.fy) * (value[1] - value[0]) + c.fy * (value[3] - value[2]);
      const float d_py = (1.f - c.fx) * (value[2] - value[0]) + c.fx * (value[3] - value[1]);
      float* d = shared ? position_partials.data() + (b * s.neurons + n) * 2
                        : dpositions + (b * s.neurons + n) * 2;
      d[0] += d_px * c.scale_x;
      d[1] += d_py * c.scale_y;
    }
    if (feature_grad != nullptr) {
      float* dmap_b = dmap + b * s.channels * pixels;
      for (std::size_t ch = 0; ch < s.channels; ++ch)
        for (std::size_t p = 0; p < pixels; ++p) dmap_b[ch * pixels + p] += feature_grad[p * s.channels + ch];
    }
  });
  if (!shared) return;
  for (std::size_t b = 0; b < s.batch; ++b) {
    k.axpy(s.neurons * 2, 1.f, position_partials.data() + b * s.neurons * 2, dpositions);
  }
}

}  // namespace ww::ops
