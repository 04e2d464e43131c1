#pragma once
// Direct valid cross-correlations, output rows in registers: for convolutions with one input
// channel or few output channels (the linear model's 17x17 filter, the 64 -> 4 last layer of the
// nonlinear core), where im2col + GEMM would spend its time copying a column matrix that is
// larger than the cache and used only a few times.
#include <algorithm>

#include "ops/simd/batch_io.hpp"
#include "ops/simd/kernel_table.hpp"

namespace ww::ops::simd {
namespace {

// Output rows [oy, oy + R) at columns [ox, ox + 2 wv): each input row is loaded once per tap
// column and serves every output row it reaches (the loads are unaligned, most of them split across
// two cache lines, so with one output row at a time the loads and not the FMAs bound the kernel).
template <class A, size_t R>
inline void correlate_valid_rows(const float* x, size_t x_width, const float* w, size_t kh, size_t kw, float* y,
                                 size_t out_width, size_t oy, size_t ox, bool accumulate) {
  using B = Batch<A>;
  constexpr size_t wv = width<A>;
  B acc[R][2];
  for (size_t r = 0; r < R; ++r) {
    float* row = y + (oy + r) * out_width + ox;
    acc[r][0] = accumulate ? B::load_unaligned(row) : B(0.f);
    acc[r][1] = accumulate ? B::load_unaligned(row + wv) : B(0.f);
  }
  for (size_t i = 0; i + 1 < R + kh; ++i) {  // input row oy + i reaches output rows oy + i - ky
    const float* in = x + (oy + i) * x_width + ox;
    for (size_t kx = 0; kx < kw; ++kx) {
      const B v0 = B::load_unaligned(in + kx), v1 = B::load_unaligned(in + kx + wv);
      for (size_t r = 0; r < R; ++r) {
        if (i < r || i - r >= kh) continue;
        const B weight(w[(i - r) * kw + kx]);
        acc[r][0] = xsimd::fma(weight, v0, acc[r][0]);
        acc[r][1] = xsimd::fma(weight, v1, acc[r][1]);
      }
    }
  }
  for (size_t r = 0; r < R; ++r) {
    float* row = y + (oy + r) * out_width + ox;
    acc[r][0].store_unaligned(row);
    acc[r][1].store_unaligned(row + wv);
  }
}

template <class A>
void correlate_valid(const float* x, size_t x_width, const float* w, size_t kh, size_t kw, float* y, size_t out_height,
                     size_t out_width, bool accumulate) {
  using B = Batch<A>;
  constexpr size_t wv = width<A>, rows_together = 4;
  const size_t full_columns = out_width / (2 * wv) * (2 * wv);
  size_t oy = 0;
  for (; oy + rows_together <= out_height; oy += rows_together)
    for (size_t ox = 0; ox < full_columns; ox += 2 * wv)
      correlate_valid_rows<A, rows_together>(x, x_width, w, kh, kw, y, out_width, oy, ox, accumulate);
  for (; oy < out_height; ++oy)
    for (size_t ox = 0; ox < full_columns; ox += 2 * wv)
      correlate_valid_rows<A, 1>(x, x_width, w, kh, kw, y, out_width, oy, ox, accumulate);
  // The columns past the last two full vectors, a vector at a time.
  for (oy = 0; oy < out_height; ++oy) {
    float* row = y + oy * out_width;
    for (size_t ox = full_columns; ox < out_width; ox += wv) {
      const size_t count = out_width - ox < wv ? out_width - ox : wv;
      B acc = accumulate ? load<A>(row + ox, count) : B(0.f);
      for (size_t ky = 0; ky < kh; ++ky)
        for (size_t kx = 0; kx < kw; ++kx)
          acc = xsimd::fma(B(w[ky * kw + kx]), load<A>(x + (oy + ky) * x_width + ox + kx, count), acc);
      store<A>(row + ox, acc, count);
    }
  }
}

// dw[ky0 + t, kx0 + j] for t < KY, j < KX: each input row's KX vectors are loaded once and meet the
// KY rows of dy that they multiply, so a load serves several FMAs (one tap at a time, each FMA had
// two loads of its own, one of them split across cache lines).
template <class A, size_t KY, size_t KX>
inline void correlate_valid_weight_grad_block(const float* x, size_t x_width, const float* dy, size_t out_height,
                                              size_t out_width, size_t ky0, size_t kx0, size_t kw, float* dw) {
  using B = Batch<A>;
  B acc[KY][KX];
  for (size_t t = 0; t < KY; ++t)
    for (size_t j = 0; j < KX; ++j) acc[t][j] = B(0.f);
  for (size_t i = ky0; i + 1 < ky0 + out_height + KY; ++i) {  // input row i meets dy row i - ky0 - t
    const float* in = x + i * x_width + kx0;
    each_batch<A>(out_width, [&](size_t ox, size_t count) {
      B value[KX];
      for (size_t j = 0; j < KX; ++j) value[j] = load<A>(in + ox + j, count);
      for (size_t t = 0; t < KY; ++t) {
        if (i < ky0 + t || i - ky0 - t >= out_height) continue;
        const B gradient = load<A>(dy + (i - ky0 - t) * out_width + ox, count);
        for (size_t j = 0; j < KX; ++j) acc[t][j] = xsimd::fma(gradient, value[j], acc[t][j]);
      }
    });
  }
  for (size_t t = 0; t < KY; ++t)
    for (size_t j = 0; j < KX; ++j) dw[(ky0 + t) * kw + kx0 + j] += xsimd::hadd(acc[t][j]);
}

template <class A, size_t KY>
inline void correlate_valid_weight_grad_rows(const float* x, size_t x_width, const float* dy, size_t out_height,
                                             size_t out_width, size_t ky0, size_t kw, float* dw) {
  constexpr size_t columns_together = 4;
  size_t kx0 = 0;
  for (; kx0 + columns_together <= kw; kx0 += columns_together)
    correlate_valid_weight_grad_block<A, KY, columns_together>(x, x_width, dy, out_height, out_width, ky0, kx0, kw, dw);
  for (; kx0 < kw; ++kx0) correlate_valid_weight_grad_block<A, KY, 1>(x, x_width, dy, out_height, out_width, ky0, kx0, kw, dw);
}

template <class A>
void correlate_valid_weight_grad(const float* x, size_t x_width, const float* dy, size_t out_height, size_t out_width,
                                 size_t kh, size_t kw, float* dw) {
  // 5 x 4 accumulators, 4 input vectors and one of dy fit AVX-512's 32 registers (AVX2 and SSE2 spill
  // some, and still ran faster than one tap at a time); 6 x 4 was no faster.
  constexpr size_t rows_together = 5;
  size_t ky0 = 0;
  for (; ky0 + rows_together <= kh; ky0 += rows_together)
    correlate_valid_weight_grad_rows<A, rows_together>(x, x_width, dy, out_height, out_width, ky0, kw, dw);
  for (; ky0 < kh; ++ky0) correlate_valid_weight_grad_rows<A, 1>(x, x_width, dy, out_height, out_width, ky0, kw, dw);
}

// R rows from oy of O output channels over `count` (<= V * wv) outputs starting at ox:
// acc[r][o] (+)= sum_c sum_ky sum_kx w[o, c, ky, kx] x[c, oy + r + ky, ox + kx].
template <class A, size_t O, size_t V, size_t R>
inline void correlate_channels_rows(const ChannelCorrelation& g, size_t oy, size_t ox, size_t count, bool accumulate) {
  using B = Batch<A>;
  constexpr size_t wv = width<A>;
  const bool full = count == V * wv;
  auto out_at = [&](size_t r, size_t o, size_t v) { return g.y + o * g.y_plane + (oy + r) * g.out_width + ox + v * wv; };
  B acc[R][O][V];
  for (size_t r = 0; r < R; ++r)
    for (size_t o = 0; o < O; ++o)
      for (size_t v = 0; v < V; ++v)
        acc[r][o][v] = !accumulate ? B(0.f) : full ? B::load_unaligned(out_at(r, o, v)) : load<A>(out_at(r, o, v), count - v * wv);
  for (size_t c = 0; c < g.channels; ++c)
    for (size_t ky = 0; ky < g.kh; ++ky) {
      const float* in = g.x + c * g.x_plane + (oy + ky) * g.x_width + ox;
      const float* wk = g.w + (c * g.kh + ky) * g.kw * g.out_channels;
      for (size_t kx = 0; kx < g.kw; ++kx, wk += g.out_channels) {
        B value[R][V];
        for (size_t r = 0; r < R; ++r)
          for (size_t v = 0; v < V; ++v) {
            const float* at = in + r * g.x_width + kx + v * wv;
            value[r][v] = full ? B::load_unaligned(at) : load<A>(at, count - v * wv);
          }
        for (size_t o = 0; o < O; ++o) {
          const B weight(wk[o]);
          for (size_t r = 0; r < R; ++r)
            for (size_t v = 0; v < V; ++v) acc[r][o][v] = xsimd::fma(weight, value[r][v], acc[r][o][v]);
        }
      }
    }
  for (size_t r = 0; r < R; ++r)
    for (size_t o = 0; o < O; ++o)
      for (size_t v = 0; v < V; ++v) {
        if (full) {
          acc[r][o][v].store_unaligned(out_at(r, o, v));
        } else {
          store<A>(out_at(r, o, v), acc[r][o][v], count - v * wv);
        }
      }
}

// Output rows [oy, oy + R) of O output channels, two vectors of outputs at a time.
template <class A, size_t O, size_t R>
void correlate_channels_band(const ChannelCorrelation& g, size_t oy, bool accumulate) {
  constexpr size_t wv = width<A>;
  size_t ox = 0;
  for (; ox + 2 * wv <= g.out_width; ox += 2 * wv) correlate_channels_rows<A, O, 2, R>(g, oy, ox, 2 * wv, accumulate);
  for (; ox < g.out_width; ox += wv) correlate_channels_rows<A, O, 1, R>(g, oy, ox, std::min(wv, g.out_width - ox), accumulate);
}

template <class A, size_t O>
void correlate_channels_fixed(const ChannelCorrelation& g, bool accumulate) {
  // Two output rows at once while their accumulators (two vectors of each) take at most half the
  // registers (16 of AVX-512's 32, 8 of 16 elsewhere): each weight broadcast then feeds twice
  // the FMAs, and twice the independent sums hide the FMA's latency.
  constexpr size_t accumulator_registers = width<A> == 16 ? 16 : 8;
  constexpr size_t R = 2 * O * 2 <= accumulator_registers ? 2 : 1;
  // The input channels in blocks whose kernel rows of input and weights fit in L1 together, each
  // block over every output row: the next output row then finds kh - 1 of its kh input rows in L1.
  // All channels at once swept 64 x 5 rows of 36 floats (46 KB) per output row, so every input
  // vector came from L2.
  constexpr size_t l1_budget = 16 * 1024 / sizeof(float);
  const size_t per_channel = g.kh * (g.x_width + g.kw * g.out_channels);
  const size_t block = std::max<size_t>(1, l1_budget / per_channel);
  ChannelCorrelation part = g;
  for (size_t first = 0; first < g.channels; first += block) {
    part.x = g.x + first * g.x_plane;
    part.w = g.w + first * g.kh * g.kw * g.out_channels;
    part.channels = std::min(block, g.channels - first);
    const bool add = accumulate || first > 0;
    size_t oy = 0;
    for (; oy + R <= g.out_height; oy += R) correlate_channels_band<A, O, R>(part, oy, add);
    for (; oy < g.out_height; ++oy) correlate_channels_band<A, O, 1>(part, oy, add);
  }
}

template <class A>
void correlate_channels(const ChannelCorrelation& g, bool accumulate) {
  // Groups of up to 4 output channels (4 x 2 accumulators and 2 input vectors per tap); of 8 where
  // 32 registers hold 8 x 2 accumulators, loading each input vector for twice the FMAs (the 64 -> 8
  // layer's forward on 64 images of 36x36: 7.3 -> 6.4 ms).
  constexpr size_t widest = width<A> == 16 ? 8 : 4;
  ChannelCorrelation group = g;
  for (size_t first = 0, count = 0; first < g.out_channels; first += count) {
    const size_t remaining = g.out_channels - first;
    count = remaining >= widest ? widest : std::min<size_t>(4, remaining);
    group.w = g.w + first;
    group.y = g.y + first * g.y_plane;
    switch (count) {
      case 1: correlate_channels_fixed<A, 1>(group, accumulate); break;
      case 2: correlate_channels_fixed<A, 2>(group, accumulate); break;
      case 3: correlate_channels_fixed<A, 3>(group, accumulate); break;
      case 4: correlate_channels_fixed<A, 4>(group, accumulate); break;
      default: correlate_channels_fixed<A, widest>(group, accumulate); break;
    }
  }
}

// dw[o, c, ky, kx] += sum_oy,ox dy[o, oy, ox] x[c, oy + ky, ox + kx] for O output channels and a
// KW-wide kernel: O x KW accumulators, each input vector loaded once per row and tap column.
template <class A, size_t O, size_t KW>
void correlate_channels_weight_grad_fixed(const ChannelCorrelation& g, const float* dy, float* dw) {
  using B = Batch<A>;
  constexpr size_t wv = width<A>;
  for (size_t c = 0; c < g.channels; ++c)
    for (size_t ky = 0; ky < g.kh; ++ky) {
      B acc[O][KW];
      for (size_t o = 0; o < O; ++o)
        for (size_t kx = 0; kx < KW; ++kx) acc[o][kx] = B(0.f);
      // One vector of pixels from (oy, ox), `count` of them real.
      auto add_products = [&](size_t oy, size_t ox, size_t count) {
        const float* in = g.x + c * g.x_plane + (oy + ky) * g.x_width + ox;
        B grad[O];
        for (size_t o = 0; o < O; ++o) grad[o] = load<A>(dy + o * g.y_plane + oy * g.out_width + ox, count);
        for (size_t kx = 0; kx < KW; ++kx) {
          const B value = load<A>(in + kx, count);
          for (size_t o = 0; o < O; ++o) acc[o][kx] = xsimd::fma(grad[o], value, acc[o][kx]);
        }
      };
      // The rows' whole vectors, then their ends: with both in one loop the compiler kept the
      // accumulators on the stack between rows (20 stores and loads for every 40 FMAs).
      const size_t whole = g.out_width / wv * wv;
      for (size_t oy = 0; oy < g.out_height; ++oy)
        for (size_t ox = 0; ox < whole; ox += wv) add_products(oy, ox, wv);
      if (whole < g.out_width)
        for (size_t oy = 0; oy < g.out_height; ++oy) add_products(oy, whole, g.out_width - whole);
      for (size_t o = 0; o < O; ++o)
        for (size_t kx = 0; kx < KW; ++kx) dw[((o * g.channels + c) * g.kh + ky) * KW + kx] += xsimd::hadd(acc[o][kx]);
    }
}

template <class A, size_t KW>
void correlate_channels_weight_grad_width(const ChannelCorrelation& g, const float* dy, float* dw) {
  for (size_t first = 0; first < g.out_channels; first += 4) {
    const float* group_dy = dy + first * g.y_plane;
    float* group_dw = dw + first * g.channels * g.kh * KW;
    switch (std::min<size_t>(4, g.out_channels - first)) {
      case 1: correlate_channels_weight_grad_fixed<A, 1, KW>(g, group_dy, group_dw); break;
      case 2: correlate_channels_weight_grad_fixed<A, 2, KW>(g, group_dy, group_dw); break;
      case 3: correlate_channels_weight_grad_fixed<A, 3, KW>(g, group_dy, group_dw); break;
      default: correlate_channels_weight_grad_fixed<A, 4, KW>(g, group_dy, group_dw); break;
    }
  }
}

template <class A>
void correlate_channels_weight_grad(const ChannelCorrelation& g, const float* dy, float* dw) {
  if (g.kw == 3) {
    correlate_channels_weight_grad_width<A, 3>(g, dy, dw);
  } else {
    correlate_channels_weight_grad_width<A, 5>(g, dy, dw);
  }
}

}  // namespace
}  // namespace ww::ops::simd
