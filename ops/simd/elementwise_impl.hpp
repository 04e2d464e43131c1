#pragma once
// Unary and broadcasting binary kernels, per instruction set (see kernel_table.hpp).
#include "ops/simd/batch_io.hpp"
#include "ops/simd/kernel_table.hpp"

namespace ww::ops::simd {
namespace {

template <class A, class F>
inline void map_unary(const float* x, float* y, size_t n, F f) {
  // Tails are padded with 1 so log, sqrt and division stay finite in unused lanes.
  each_batch<A>(n, [&](size_t i, size_t count) { store<A>(y + i, f(load<A>(x + i, count, 1.f)), count); });
}

// e^-|x| (softplus and sigmoid): -|x| = k ln2 + r with |r| <= ln2 / 2, e^r by the Cephes expf
// polynomial, times 2^k. The polynomials here are evaluated by Estrin's scheme, whose dependency
// chain is shorter than Horner's; softplus is latency-bound (its chain is longer than the
// out-of-order window hides), so every operation off the chain counts.
template <class A>
Batch<A> exp_of_negative_abs(const Batch<A>& v) {
  using B = Batch<A>;
  const B x = v | B(-0.f);  // -|v|: the sign bit set
  const B k = xsimd::nearbyint(x * B(1.44269504f));
  // ln2 in two parts: the first has few enough bits that k times it is exact. fma with the
  // constants negated, as xsimd's avx512 fnma negates k first.
  const B r = xsimd::fma(k, B(2.12194440e-4f), xsimd::fma(k, B(-0.693359375f), x));
  const B r2 = r * r;
  const B low = xsimd::fma(B(1.6666665459e-1f), r, B(5.0000001201e-1f));
  const B mid = xsimd::fma(B(8.3334519073e-3f), r, B(4.1665795894e-2f));
  const B high = xsimd::fma(B(1.9875691500e-4f), r, B(1.3981999507e-3f));
  const B poly = xsimd::fma(xsimd::fma(high, r2, mid), r2, low);
  const B exp_r = xsimd::fma(poly, r2, r + B(1.f));
#ifdef __AVX512F__
  if constexpr (std::is_same_v<A, xsimd::avx512f>) {
    // scalef multiplies by 2^k through the subnormals to 0; the lanes where x = -inf (r is NaN
    // there) are zeroed, NaN lanes kept (the comparison is true for unordered operands).
    return _mm512_maskz_scalef_ps(_mm512_cmp_ps_mask(x, _mm512_set1_ps(-104.f), _CMP_NLT_UQ), exp_r, k);
  }
#endif
  using Int = xsimd::batch<int32_t, A>;
  const B two_to_k = xsimd::bitwise_cast<B>((xsimd::to_int(k) + Int(127)) << 23);
  return xsimd::select(x < B(-87.33f), B(0.f), exp_r * two_to_k);  // 0 below the normal range
}

template <class A>
Batch<A> stable_sigmoid(const Batch<A>& x) {
  const Batch<A> e = exp_of_negative_abs<A>(x);
  const Batch<A> inverse = Batch<A>(1.f) / (Batch<A>(1.f) + e);  // one division for both branches
  return xsimd::select(x >= Batch<A>(0.f), inverse, e * inverse);
}

// log(1 + t) for t in [0, 1] (softplus's log(1 + e^-|x|)) as t + t^2 R(t), R of degree 7: a
// weighted minimax fit (relative error of log1p) with float coefficients, within 1.5e-7 relative
// when evaluated in float (modelled against double), by Estrin's scheme; no division on the chain,
// and t added last keeps the leading term exact.
template <class A>
Batch<A> log1p_unit(const Batch<A>& t) {
  using B = Batch<A>;
  const B t2 = t * t, t4 = t2 * t2;
  const B r01 = xsimd::fma(B(3.3321323991e-1f), t, B(-4.9999648333e-1f));
  const B r23 = xsimd::fma(B(1.9153752923e-1f), t, B(-2.4857182801e-1f));
  const B r45 = xsimd::fma(B(7.9207926989e-2f), t, B(-1.3754050434e-1f));
  const B r67 = xsimd::fma(B(5.3654755466e-3f), t, B(-3.0068142340e-2f));
  const B r = xsimd::fma(xsimd::fma(r67, t2, r45), t4, xsimd::fma(r23, t2, r01));
  return xsimd::fma(r, t2, t);
}

template <class A>
void unary_forward(UnaryOp op, const float* x, float* y, size_t n, float alpha) {
  using B = Batch<A>;
  const B zero(0.f), alpha_b(alpha);
  switch (op) {
    case UnaryOp::neg: return map_unary<A>(x, y, n, [](B v) { return -v; });
    case UnaryOp::exp: return map_unary<A>(x, y, n, [](B v) { return xsimd::exp(v); });
    case UnaryOp::log: return map_unary<A>(x, y, n, [](B v) { return xsimd::log(v); });
    case UnaryOp::abs: return map_unary<A>(x, y, n, [](B v) { return xsimd::abs(v); });
    case UnaryOp::sqrt: return map_unary<A>(x, y, n, [](B v) { return xsimd::sqrt(v); });
    case UnaryOp::square: return map_unary<A>(x, y, n, [](B v) { return v * v; });
    case UnaryOp::relu: return map_unary<A>(x, y, n, [&](B v) { return xsimd::max(v, zero); });
    case UnaryOp::elu:
      return map_unary<A>(x, y, n, [&](B v) {
        return xsimd::select(v > zero, v, alpha_b * xsimd::expm1(xsimd::min(v, zero)));
      });
    case UnaryOp::softplus:
      // max(x, 0) + log(1 + e^-|x|): no overflow for large |x|.
      return map_unary<A>(x, y, n, [&](B v) {
        return xsimd::max(v, zero) + log1p_unit<A>(exp_of_negative_abs<A>(v));
      });
    case UnaryOp::sigmoid: return map_unary<A>(x, y, n, [](B v) { return stable_sigmoid<A>(v); });
    case UnaryOp::tanh: return map_unary<A>(x, y, n, [](B v) { return xsimd::tanh(v); });
  }
}

template <class A, class F>
inline void map_backward(const float* x, const float* y, const float* dy, float* dx, size_t n,
                         bool overwrite, F f) {
  each_batch<A>(n, [&](size_t i, size_t count) {
    const Batch<A> grad = f(load<A>(x + i, count, 1.f), load<A>(y + i, count, 1.f), load<A>(dy + i, count));
    store_gradient<A>(dx + i, grad, count, overwrite);
  });
}

template <class A>
void unary_backward(UnaryOp op, const float* x, const float* y, const float* dy, float* dx,
                    size_t n, float alpha, bool overwrite) {
  using B = Batch<A>;
  const B zero(0.f), one(1.f), half(0.5f), two(2.f), alpha_b(alpha);
  switch (op) {
    case UnaryOp::neg: return map_backward<A>(x, y, dy, dx, n, overwrite, [](B, B, B g) { return -g; });
    case UnaryOp::exp: return map_backward<A>(x, y, dy, dx, n, overwrite, [](B, B out, B g) { return g * out; });
    case UnaryOp::log: return map_backward<A>(x, y, dy, dx, n, overwrite, [](B in, B, B g) { return g / in; });
    case UnaryOp::abs:
      // Zero gradient at 0, as PyTorch.
      return map_backward<A>(x, y, dy, dx, n, overwrite, [&](B in, B, B g) {
        return xsimd::select(in > zero, g, xsimd::select(in < zero, -g, zero));
      });
    case UnaryOp::sqrt:
      return map_backward<A>(x, y, dy, dx, n, overwrite, [&](B, B out, B g) { return half * g / out; });
    case UnaryOp::square:
      return map_backward<A>(x, y, dy, dx, n, overwrite, [&](B in, B, B g) { return two * in * g; });
    case UnaryOp::relu:
      return map_backward<A>(x, y, dy, dx, n, overwrite, [&](B in, B, B g) { return xsimd::select(in > zero, g, zero); });
    case UnaryOp::elu:
      // For x <= 0, d/dx alpha (e^x - 1) = y + alpha.
      return map_backward<A>(x, y, dy, dx, n, overwrite, [&](B in, B out, B g) {
        return xsimd::select(in > zero, g, g * (out + alpha_b));
      });
    case UnaryOp::softplus:
      return map_backward<A>(x, y, dy, dx, n, overwrite, [](B in, B, B g) { return g * stable_sigmoid<A>(in); });
    case UnaryOp::sigmoid:
      return map_backward<A>(x, y, dy, dx, n, overwrite, [&](B, B out, B g) { return g * out * (one - out); });
    case UnaryOp::tanh:
      return map_backward<A>(x, y, dy, dx, n, overwrite, [&](B, B out, B g) { return g * (one - out * out); });
  }
}

// dz = dy * f'(z) from the output y = f(z) alone, for relu (y > 0) and softplus (sigmoid(z) =
// 1 - e^-y, as -expm1(-y) to keep small gradients accurate): a fused batchnorm + activation keeps
// only y. dz may alias dy.
template <class A>
void activation_backward_from_output(UnaryOp op, const float* y, const float* dy, float* dz, size_t n) {
  using B = Batch<A>;
  // relu's own backward reads only the sign of its input, which its output shares.
  if (op == UnaryOp::relu) return unary_backward<A>(op, y, y, dy, dz, n, 0.f, true);
  map_backward<A>(y, y, dy, dz, n, true, [](B, B out, B g) { return -g * xsimd::expm1(-out); });
}

template <class A>
inline Batch<A> apply_binary(BinaryOp op, const Batch<A>& a, const Batch<A>& b) {
  switch (op) {
    case BinaryOp::add: return a + b;
    case BinaryOp::sub: return a - b;
    case BinaryOp::mul: return a * b;
    case BinaryOp::div: return a / b;
  }
  return a;
}

// Calls row(a_offset, b_batch_source...) over the [outer, mid, inner] block: when inner == 1
// the b values vary along the row (vector b), otherwise one b value covers a row of `inner`.
template <class A, class RowVector, class RowScalar>
inline void each_row(size_t outer, size_t mid, size_t inner, RowVector&& vector_row, RowScalar&& scalar_row) {
  for (size_t o = 0; o < outer; ++o) {
    if (inner == 1) {
      vector_row(o * mid);
    } else {
      for (size_t m = 0; m < mid; ++m) scalar_row((o * mid + m) * inner, m);
    }
  }
}

template <class A>
void binary_forward(BinaryOp op, const float* a, const float* b, float* y, size_t outer, size_t mid,
                    size_t inner) {
  each_row<A>(
      outer, mid, inner,
      [&](size_t base) {
        each_batch<A>(mid, [&](size_t i, size_t count) {
          store<A>(y + base + i,
                   apply_binary<A>(op, load<A>(a + base + i, count), load<A>(b + i, count, 1.f)), count);
        });
      },
      [&](size_t base, size_t m) {
        const Batch<A> bm(b[m]);
        each_batch<A>(inner, [&](size_t i, size_t count) {
          store<A>(y + base + i, apply_binary<A>(op, load<A>(a + base + i, count), bm), count);
        });
      });
}

// d(a op b)/da * dy.
template <class A>
inline Batch<A> grad_a(BinaryOp op, const Batch<A>& b, const Batch<A>& dy) {
  switch (op) {
    case BinaryOp::add:
    case BinaryOp::sub: return dy;
    case BinaryOp::mul: return dy * b;
    case BinaryOp::div: return dy / b;
  }
  return dy;
}

// d(a op b)/db * dy.
template <class A>
inline Batch<A> grad_b(BinaryOp op, const Batch<A>& a, const Batch<A>& b, const Batch<A>& dy) {
  switch (op) {
    case BinaryOp::add: return dy;
    case BinaryOp::sub: return -dy;
    case BinaryOp::mul: return dy * a;
    case BinaryOp::div: return -dy * a / (b * b);
  }
  return dy;
}

template <class A>
void binary_backward_a(BinaryOp op, const float* b, const float* dy, float* da, size_t outer,
                       size_t mid, size_t inner, bool overwrite) {
  each_row<A>(
      outer, mid, inner,
      [&](size_t base) {
        each_batch<A>(mid, [&](size_t i, size_t count) {
          const Batch<A> g = grad_a<A>(op, load<A>(b + i, count, 1.f), load<A>(dy + base + i, count));
          store_gradient<A>(da + base + i, g, count, overwrite);
        });
      },
      [&](size_t base, size_t m) {
        const Batch<A> bm(b[m]);
        each_batch<A>(inner, [&](size_t i, size_t count) {
          const Batch<A> g = grad_a<A>(op, bm, load<A>(dy + base + i, count));
          store_gradient<A>(da + base + i, g, count, overwrite);
        });
      });
}

template <class A>
void binary_backward_b(BinaryOp op, const float* a, const float* b, const float* dy, float* db,
                       size_t outer, size_t mid, size_t inner) {
  each_row<A>(
      outer, mid, inner,
      [&](size_t base) {
        each_batch<A>(mid, [&](size_t i, size_t count) {
          // Unused lanes: dy = 0 makes every gradient term 0.
          const Batch<A> g = grad_b<A>(op, load<A>(a + base + i, count), load<A>(b + i, count, 1.f),
                                       load<A>(dy + base + i, count));
          store<A>(db + i, load<A>(db + i, count) + g, count);
        });
      },
      [&](size_t base, size_t m) {
        const Batch<A> bm(b[m]);
        const double total = sum_in_blocks<A>(inner, [&](size_t i, size_t count) {
          return grad_b<A>(op, load<A>(a + base + i, count), bm, load<A>(dy + base + i, count));
        });
        db[m] += static_cast<float>(total);
      });
}

template <class A>
void axpy(size_t n, float alpha, const float* x, float* y) {
  const Batch<A> alpha_b(alpha);
  each_batch<A>(n, [&](size_t i, size_t count) {
    store<A>(y + i, xsimd::fma(alpha_b, load<A>(x + i, count), load<A>(y + i, count)), count);
  });
}

template <class A>
void copy_rows(size_t rows, size_t len, const float* x, size_t x_stride, float* y, size_t y_stride) {
  for (size_t r = 0; r < rows; ++r, x += x_stride, y += y_stride)
    each_batch<A>(len, [&](size_t i, size_t count) { store<A>(y + i, load<A>(x + i, count), count); });
}

template <class A>
void axpy_rows(size_t rows, size_t len, float alpha, const float* x, size_t x_stride, float* y, size_t y_stride) {
  const Batch<A> alpha_b(alpha);
  for (size_t r = 0; r < rows; ++r, x += x_stride, y += y_stride)
    each_batch<A>(len, [&](size_t i, size_t count) { store<A>(y + i, xsimd::fma(alpha_b, load<A>(x + i, count), load<A>(y + i, count)), count); });
}

template <class A>
void add_shifted_rows(size_t taps, size_t len, const float* x, size_t x_stride, float* y) {
  each_batch<A>(len + taps - 1, [&](size_t i, size_t count) {
    Batch<A> sum = load<A>(y + i, count);
    for (size_t t = 0; t < taps; ++t)
      sum += load_window<A>(x + t * x_stride, static_cast<std::ptrdiff_t>(i) - static_cast<std::ptrdiff_t>(t), count, len);
    store<A>(y + i, sum, count);
  });
}

template <class A>
float dot(const float* x, const float* y, size_t n) {
  Batch<A> acc(0.f);
  each_batch<A>(n, [&](size_t i, size_t count) { acc = xsimd::fma(load<A>(x + i, count), load<A>(y + i, count), acc); });
  return xsimd::hadd(acc);
}

}  // namespace
}  // namespace ww::ops::simd
