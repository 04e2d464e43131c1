#pragma once
// Axis sums, per-channel (strided) statistics for batch normalisation, and loss sums.
#include "ops/simd/batch_io.hpp"
#include "ops/simd/kernel_table.hpp"

namespace ww::ops::simd {
namespace {

template <class A>
void sum_axis_forward(const float* x, float* y, size_t outer, size_t n, size_t inner,
                      size_t inner_stride, float scale) {
  const Batch<A> scale_b(scale);
  for (size_t o = 0; o < outer; ++o) {
    const float* xo = x + o * n * inner_stride;
    float* yo = y + o * inner_stride;
    if (inner_stride == 1) {
      yo[0] = static_cast<float>(scale * sum_in_blocks<A>(n, [&](size_t i, size_t count) { return load<A>(xo + i, count); }));
      continue;
    }
    // Columns in registers, rows streamed: each x element is read once.
    each_batch<A>(inner, [&](size_t i, size_t count) {
      Batch<A> acc(0.f);
      for (size_t m = 0; m < n; ++m) acc += load<A>(xo + m * inner_stride + i, count);
      store<A>(yo + i, acc * scale_b, count);
    });
  }
}

template <class A>
void sum_axis_backward(const float* dy, float* dx, size_t outer, size_t n, size_t inner,
                       size_t inner_stride, float scale, bool overwrite) {
  const Batch<A> scale_b(scale);
  for (size_t o = 0; o < outer; ++o) {
    const float* dyo = dy + o * inner_stride;
    float* dxo = dx + o * n * inner_stride;
    if (inner_stride == 1) {
      // One value spread over a contiguous row of n.
      const Batch<A> g = Batch<A>(dyo[0]) * scale_b;
      each_batch<A>(n, [&](size_t m, size_t count) { store_gradient<A>(dxo + m, g, count, overwrite); });
      continue;
    }
    each_batch<A>(inner, [&](size_t i, size_t count) {
      const Batch<A> g = load<A>(dyo + i, count) * scale_b;
      for (size_t m = 0; m < n; ++m) {
        store_gradient<A>(dxo + m * inner_stride + i, g, count, overwrite);
      }
    });
  }
}

// y[i] (+)= sum over m < n of x[m * x_stride + i] * w[m * w_stride + i], i < len: blocks of four
// vectors of y in registers while the rows stream past.
template <class A>
void weighted_row_sum(size_t n, size_t len, const float* x, size_t x_stride, const float* w, size_t w_stride, float* y,
                      bool accumulate) {
  using B = Batch<A>;
  constexpr size_t v_count = 4, block = v_count * width<A>;
  size_t i = 0;
  for (; i + block <= len; i += block) {
    B acc[v_count];
    for (size_t v = 0; v < v_count; ++v) acc[v] = accumulate ? B::load_unaligned(y + i + v * width<A>) : B(0.f);
    for (size_t m = 0; m < n; ++m) {
      const float* xm = x + m * x_stride + i;
      const float* wm = w + m * w_stride + i;
      for (size_t v = 0; v < v_count; ++v)
        acc[v] = xsimd::fma(B::load_unaligned(xm + v * width<A>), B::load_unaligned(wm + v * width<A>), acc[v]);
    }
    for (size_t v = 0; v < v_count; ++v) acc[v].store_unaligned(y + i + v * width<A>);
  }
  each_batch<A>(len - i, [&](size_t j, size_t count) {
    B acc = accumulate ? load<A>(y + i + j, count) : B(0.f);
    for (size_t m = 0; m < n; ++m) acc = xsimd::fma(load<A>(x + m * x_stride + i + j, count), load<A>(w + m * w_stride + i + j, count), acc);
    store<A>(y + i + j, acc, count);
  });
}

template <class A>
double strided_sum(const float* x, size_t rows, size_t len, size_t stride) {
  double total = 0.0;
  for (size_t r = 0; r < rows; ++r) {
    const float* row = x + r * stride;
    total += sum_in_blocks<A>(len, [&](size_t i, size_t count) { return load<A>(row + i, count); });
  }
  return total;
}

template <class A>
double strided_sum_sqdev(const float* x, size_t rows, size_t len, size_t stride, float mean) {
  const Batch<A> mean_b(mean);
  double total = 0.0;
  for (size_t r = 0; r < rows; ++r) {
    const float* row = x + r * stride;
    total += sum_in_blocks<A>(len, [&](size_t i, size_t count) {
      // Padded lanes load `mean` so they contribute 0.
      const Batch<A> d = load<A>(row + i, count, mean) - mean_b;
      return d * d;
    });
  }
  return total;
}

template <class A>
void strided_sum_and_dot(const float* dy, const float* x, size_t rows, size_t len, size_t stride,
                         double* sum_dy, double* sum_dy_x) {
  double total = 0.0, total_dot = 0.0;
  for (size_t r = 0; r < rows; ++r) {
    const float* dy_row = dy + r * stride;
    const float* x_row = x + r * stride;
    total += sum_in_blocks<A>(len, [&](size_t i, size_t count) { return load<A>(dy_row + i, count); });
    total_dot += sum_in_blocks<A>(len, [&](size_t i, size_t count) {
      return load<A>(dy_row + i, count) * load<A>(x_row + i, count);
    });
  }
  *sum_dy = total;
  *sum_dy_x = total_dot;
}

template <class A>
void strided_affine(const float* x, float* y, size_t rows, size_t len, size_t stride, float a, float c) {
  const Batch<A> a_b(a), c_b(c);
  for (size_t r = 0; r < rows; ++r) {
    const float* x_row = x + r * stride;
    float* y_row = y + r * stride;
    each_batch<A>(len, [&](size_t i, size_t count) {
      store<A>(y_row + i, xsimd::fma(load<A>(x_row + i, count), a_b, c_b), count);
    });
  }
}

template <class A>
void strided_affine_backward(const float* dy, const float* x, float* dx, size_t rows, size_t len,
                             size_t stride, float k1, float k2, float k3, bool overwrite) {
  const Batch<A> k1_b(k1), k2_b(k2), k3_b(k3);
  for (size_t r = 0; r < rows; ++r) {
    const size_t base = r * stride;
    each_batch<A>(len, [&](size_t i, size_t count) {
      const Batch<A> g = xsimd::fma(k1_b, load<A>(dy + base + i, count),
                                    xsimd::fma(k2_b, load<A>(x + base + i, count), k3_b));
      store_gradient<A>(dx + base + i, g, count, overwrite);
    });
  }
}

template <class A>
double norm_sum(Norm norm, const float* x, size_t n) {
  if (norm == Norm::l1) return sum_in_blocks<A>(n, [&](size_t i, size_t count) { return xsimd::abs(load<A>(x + i, count)); });
  return sum_in_blocks<A>(n, [&](size_t i, size_t count) {
    const Batch<A> v = load<A>(x + i, count);
    return v * v;
  });
}

template <class A>
void norm_backward(Norm norm, const float* x, float* dx, size_t n, float scale, bool overwrite) {
  const Batch<A> zero(0.f), up(scale), down(-scale), twice(2.f * scale);
  each_batch<A>(n, [&](size_t i, size_t count) {
    const Batch<A> v = load<A>(x + i, count);
    // |x|'s gradient is 0 at 0, as abs's (and PyTorch's).
    const Batch<A> g = norm == Norm::l1 ? xsimd::select(v > zero, up, xsimd::select(v < zero, down, zero)) : twice * v;
    store_gradient<A>(dx + i, g, count, overwrite);
  });
}

template <class A>
double squared_error_sum(const float* p, const float* t, size_t n) {
  return sum_in_blocks<A>(n, [&](size_t i, size_t count) {
    const Batch<A> d = load<A>(p + i, count) - load<A>(t + i, count);
    return d * d;
  });
}

template <class A>
void squared_error_backward(const float* p, const float* t, float* dp, size_t n, float scale) {
  const Batch<A> scale_b(scale);
  each_batch<A>(n, [&](size_t i, size_t count) {
    const Batch<A> g = scale_b * (load<A>(p + i, count) - load<A>(t + i, count));
    store<A>(dp + i, load<A>(dp + i, count) + g, count);
  });
}

template <class A>
double poisson_sum(const float* r, const float* y, size_t n, float eps) {
  const Batch<A> eps_b(eps);
  return sum_in_blocks<A>(n, [&](size_t i, size_t count) {
    // Padded lanes: r = 0, y = 0 contribute 0 - 0 * log(eps) = 0.
    const Batch<A> rate = load<A>(r + i, count);
    return rate - load<A>(y + i, count) * xsimd::log(rate + eps_b);
  });
}

template <class A>
void poisson_backward(const float* r, const float* y, float* dr, size_t n, float eps, float scale) {
  const Batch<A> eps_b(eps), scale_b(scale), one(1.f);
  each_batch<A>(n, [&](size_t i, size_t count) {
    const Batch<A> g = scale_b * (one - load<A>(y + i, count) / (load<A>(r + i, count) + eps_b));
    store<A>(dr + i, load<A>(dr + i, count) + g, count);
  });
}

}  // namespace
}  // namespace ww::ops::simd
