#pragma once
// Loads and stores of a possibly partial batch. Partial batches use AVX-512's masked loads and
// stores (which touch only the lanes asked for), and elsewhere a padded stack buffer (memcpy),
// never std:: helpers: this header is compiled once per instruction set and everything in it must
// have internal linkage so the linker cannot mix the copies.
#include <immintrin.h>
#include <xsimd/xsimd.hpp>

#include <cstddef>
#include <cstring>
#include <type_traits>

namespace ww::ops::simd {
namespace {

template <class A>
using Batch = xsimd::batch<float, A>;

template <class A>
constexpr std::size_t width = Batch<A>::size;

#ifdef __AVX512F__
// The mask of lanes [0, count) of an AVX-512 register.
inline __mmask16 lanes_below(std::size_t count) { return static_cast<__mmask16>((1u << count) - 1u); }
#endif

// Loads `count` <= width floats; the lanes past `count` hold `fill`.
template <class A>
inline Batch<A> load(const float* p, std::size_t count, float fill = 0.f) {
  if (count == width<A>) return Batch<A>::load_unaligned(p);
#ifdef __AVX512F__
  if constexpr (std::is_same_v<A, xsimd::avx512f>) {
    return _mm512_mask_loadu_ps(_mm512_set1_ps(fill), lanes_below(count), p);
  }
#endif
  alignas(64) float padded[width<A>];
  for (std::size_t i = 0; i < width<A>; ++i) padded[i] = fill;
  std::memcpy(padded, p, count * sizeof(float));
  return Batch<A>::load_aligned(padded);
}

// Lanes j < count with 0 <= begin + j < len from row[begin + j], the others 0: a window of a row
// of `len` floats that may hang over either end.
template <class A>
inline Batch<A> load_window(const float* row, std::ptrdiff_t begin, std::size_t count, std::size_t len) {
  const auto n = static_cast<std::ptrdiff_t>(len);
  if (begin >= 0 && begin + static_cast<std::ptrdiff_t>(count) <= n) return load<A>(row + begin, count);
  const std::size_t first = begin < 0 ? static_cast<std::size_t>(-begin) : 0;  // lanes before the row
  const std::ptrdiff_t end = n - begin < static_cast<std::ptrdiff_t>(count) ? n - begin : static_cast<std::ptrdiff_t>(count);
  if (end <= static_cast<std::ptrdiff_t>(first)) return Batch<A>(0.f);
  const auto last = static_cast<std::size_t>(end);  // lanes [first, last) lie in the row
#ifdef __AVX512F__
  if constexpr (std::is_same_v<A, xsimd::avx512f>) {
    return _mm512_maskz_loadu_ps(static_cast<__mmask16>(lanes_below(last) & ~lanes_below(first)), row + begin);
  }
#endif
  alignas(64) float padded[width<A>] = {};
  std::memcpy(padded + first, row + begin + static_cast<std::ptrdiff_t>(first), (last - first) * sizeof(float));
  return Batch<A>::load_aligned(padded);
}

template <class A>
inline void store(float* p, const Batch<A>& v, std::size_t count) {
  if (count == width<A>) {
    v.store_unaligned(p);
    return;
  }
#ifdef __AVX512F__
  if constexpr (std::is_same_v<A, xsimd::avx512f>) {
    _mm512_mask_storeu_ps(p, lanes_below(count), v);
    return;
  }
#endif
  alignas(64) float padded[width<A>];
  v.store_aligned(padded);
  std::memcpy(p, padded, count * sizeof(float));
}

// Writes a gradient: p = g when overwrite (p holds nothing yet), p += g otherwise.
template <class A>
inline void store_gradient(float* p, const Batch<A>& g, std::size_t count, bool overwrite) {
  store<A>(p, overwrite ? g : load<A>(p, count) + g, count);
}

// Calls body(i, count) over [0, n) in steps of one batch; the last step may be partial.
template <class A, class Body>
inline void each_batch(std::size_t n, Body&& body) {
  std::size_t i = 0;
  for (; i + width<A> <= n; i += width<A>) body(i, width<A>);
  if (i < n) body(i, n - i);
}

// Sum of a long run in double: float lanes accumulate blocks of 1024 values.
template <class A, class Term>
inline double sum_in_blocks(std::size_t n, Term&& term) {
  double total = 0.0;
  constexpr std::size_t block = 1024;
  for (std::size_t start = 0; start < n; start += block) {
    const std::size_t len = n - start < block ? n - start : block;
    Batch<A> acc(0.f);
    each_batch<A>(len, [&](std::size_t i, std::size_t count) { acc += term(start + i, count); });
    total += static_cast<double>(xsimd::hadd(acc));
  }
  return total;
}

}  // namespace
}  // namespace ww::ops::simd
