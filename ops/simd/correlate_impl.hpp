#pragma once
// Direct valid cross-correlation of one image with one kernel, output rows in registers: for
// single-channel convolutions with few output channels (the linear model's 17x17 filter), where
// im2col + GEMM would spend its time copying.
#include "ops/simd/batch_io.hpp"
#include "ops/simd/kernel_table.hpp"

namespace ww::ops::simd {
namespace {

template <class A>
void correlate_valid(const float* x, size_t x_width, const float* w, size_t kh, size_t kw, float* y, size_t out_height,
                     size_t out_width, bool accumulate) {
  using B = Batch<A>;
  constexpr size_t wv = width<A>;
  for (size_t oy = 0; oy < out_height; ++oy) {
    float* row = y + oy * out_width;
    size_t ox = 0;
    // Two vectors of outputs share each weight broadcast.
    for (; ox + 2 * wv <= out_width; ox += 2 * wv) {
      B acc0 = accumulate ? B::load_unaligned(row + ox) : B(0.f);
      B acc1 = accumulate ? B::load_unaligned(row + ox + wv) : B(0.f);
      for (size_t ky = 0; ky < kh; ++ky) {
        const float* in = x + (oy + ky) * x_width + ox;
        const float* wk = w + ky * kw;
        for (size_t kx = 0; kx < kw; ++kx) {
          const B weight(wk[kx]);
          acc0 = xsimd::fma(weight, B::load_unaligned(in + kx), acc0);
          acc1 = xsimd::fma(weight, B::load_unaligned(in + kx + wv), acc1);
        }
      }
      acc0.store_unaligned(row + ox);
      acc1.store_unaligned(row + ox + wv);
    }
    for (; ox < out_width; ox += wv) {
      const size_t count = out_width - ox < wv ? out_width - ox : wv;
      B acc = accumulate ? load<A>(row + ox, count) : B(0.f);
      for (size_t ky = 0; ky < kh; ++ky)
        for (size_t kx = 0; kx < kw; ++kx)
          acc = xsimd::fma(B(w[ky * kw + kx]), load<A>(x + (oy + ky) * x_width + ox + kx, count), acc);
      store<A>(row + ox, acc, count);
    }
  }
}

template <class A>
void correlate_valid_weight_grad(const float* x, size_t x_width, const float* dy, size_t out_height, size_t out_width,
                                 size_t kh, size_t kw, float* dw) {
  using B = Batch<A>;
  for (size_t ky = 0; ky < kh; ++ky)
    for (size_t kx = 0; kx < kw; ++kx) {
      B acc(0.f);
      for (size_t oy = 0; oy < out_height; ++oy) {
        const float* g = dy + oy * out_width;
        const float* in = x + (oy + ky) * x_width + kx;
        each_batch<A>(out_width, [&](size_t ox, size_t count) { acc = xsimd::fma(load<A>(g + ox, count), load<A>(in + ox, count), acc); });
      }
      dw[ky * kw + kx] += xsimd::hadd(acc);
    }
}

}  // namespace
}  // namespace ww::ops::simd
