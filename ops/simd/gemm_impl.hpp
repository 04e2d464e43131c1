#pragma once
// Blocked, packed GEMM (row-major) with a register-tiled micro-kernel of MR rows x NR columns.
// NR is two vector widths; MR fills the register file: 12 rows on AVX-512 (24 accumulators of 32
// registers), 6 rows elsewhere (12 accumulators of 16 registers).
#include "ops/simd/batch_io.hpp"
#include "ops/simd/kernel_table.hpp"

namespace ww::ops::simd {
namespace {

template <class A>
struct GemmShape {
  static constexpr size_t vectors = 2;
  static constexpr size_t nr = vectors * width<A>;
  static constexpr size_t mr = width<A> == 16 ? 12 : 6;
  static constexpr size_t kc = 256;
  static constexpr size_t mc = 96;  // a multiple of every mr
  static constexpr size_t nc = 1024;
  static constexpr size_t pack_a_floats = mc * kc;
  static constexpr size_t pack_b_floats = kc * nc;
};

// Packs rows [0, mc) x columns [0, kc) of op(A) into panels of mr rows: panel[k][r].
// Loops run along the stored rows so reads are contiguous; writes stay within one panel.
template <class A>
void pack_a(bool transpose, const float* a, size_t lda, size_t mc, size_t kc, float* out) {
  constexpr size_t mr = GemmShape<A>::mr;
  for (size_t panel = 0; panel < mc; panel += mr) {
    const size_t rows = mc - panel < mr ? mc - panel : mr;
    float* dst = out + panel * kc;
    if (transpose) {
      for (size_t k = 0; k < kc; ++k) {
        std::memcpy(dst + k * mr, a + k * lda + panel, rows * sizeof(float));
        for (size_t r = rows; r < mr; ++r) dst[k * mr + r] = 0.f;
      }
    } else {
      for (size_t r = 0; r < rows; ++r) {
        const float* src = a + (panel + r) * lda;
        for (size_t k = 0; k < kc; ++k) dst[k * mr + r] = src[k];
      }
      for (size_t r = rows; r < mr; ++r)
        for (size_t k = 0; k < kc; ++k) dst[k * mr + r] = 0.f;
    }
  }
}

// Packs rows [0, kc) x columns [0, nc) of op(B) into panels of nr columns: panel[k][c].
template <class A>
void pack_b(bool transpose, const float* b, size_t ldb, size_t kc, size_t nc, float* out) {
  constexpr size_t nr = GemmShape<A>::nr;
  for (size_t panel = 0; panel < nc; panel += nr) {
    const size_t cols = nc - panel < nr ? nc - panel : nr;
    float* dst = out + panel * kc;
    if (!transpose) {
      for (size_t k = 0; k < kc; ++k) {
        std::memcpy(dst + k * nr, b + k * ldb + panel, cols * sizeof(float));
        for (size_t c = cols; c < nr; ++c) dst[k * nr + c] = 0.f;
      }
    } else {
      for (size_t c = 0; c < cols; ++c) {
        const float* src = b + (panel + c) * ldb;
        for (size_t k = 0; k < kc; ++k) dst[k * nr + c] = src[k];
      }
      for (size_t c = cols; c < nr; ++c)
        for (size_t k = 0; k < kc; ++k) dst[k * nr + c] = 0.f;
    }
  }
}

// C[rows, cols] += alpha * (packed A panel) x (packed B panel) over kc.
template <class A>
void micro_kernel(size_t kc, const float* a_panel, const float* b_panel, float alpha, float* c,
                  size_t ldc, size_t rows, size_t cols) {
  using B = Batch<A>;
  constexpr size_t mr = GemmShape<A>::mr;
  constexpr size_t nv = GemmShape<A>::vectors;
  constexpr size_t w = width<A>;
  B acc[mr][nv];
#pragma GCC unroll 16
  for (size_t r = 0; r < mr; ++r)
#pragma GCC unroll 4
    for (size_t v = 0; v < nv; ++v) acc[r][v] = B(0.f);
  for (size_t k = 0; k < kc; ++k) {
    B b[nv];
#pragma GCC unroll 4
    for (size_t v = 0; v < nv; ++v) b[v] = B::load_aligned(b_panel + k * nv * w + v * w);
    const float* a_k = a_panel + k * mr;
#pragma GCC unroll 16
    for (size_t r = 0; r < mr; ++r) {
      const B a(a_k[r]);
#pragma GCC unroll 4
      for (size_t v = 0; v < nv; ++v) acc[r][v] = xsimd::fma(a, b[v], acc[r][v]);
    }
  }
  const B alpha_b(alpha);
  if (rows == mr && cols == nv * w) {
#pragma GCC unroll 16
    for (size_t r = 0; r < mr; ++r)
#pragma GCC unroll 4
      for (size_t v = 0; v < nv; ++v) {
        float* p = c + r * ldc + v * w;
        xsimd::fma(alpha_b, acc[r][v], B::load_unaligned(p)).store_unaligned(p);
      }
    return;
  }
  for (size_t r = 0; r < rows; ++r)
    for (size_t v = 0; v * w < cols; ++v) {
      const size_t count = cols - v * w < w ? cols - v * w : w;
      float* p = c + r * ldc + v * w;
      store<A>(p, xsimd::fma(alpha_b, acc[r][v], load<A>(p, count)), count);
    }
}

template <class A>
void gemm(bool transpose_a, bool transpose_b, size_t M, size_t N, size_t K, float alpha,
          const float* a, size_t lda, const float* b, size_t ldb, float beta, float* c, size_t ldc,
          float* pack_a_buffer, float* pack_b_buffer) {
  using S = GemmShape<A>;
  if (beta != 1.f) {
    const Batch<A> beta_b(beta);
    for (size_t i = 0; i < M; ++i) {
      float* row = c + i * ldc;
      if (beta == 0.f) {
        std::memset(row, 0, N * sizeof(float));
      } else {
        each_batch<A>(N, [&](size_t j, size_t count) { store<A>(row + j, load<A>(row + j, count) * beta_b, count); });
      }
    }
  }
  for (size_t jc = 0; jc < N; jc += S::nc) {
    const size_t nc = N - jc < S::nc ? N - jc : S::nc;
    for (size_t pc = 0; pc < K; pc += S::kc) {
      const size_t kc = K - pc < S::kc ? K - pc : S::kc;
      const float* b_block = transpose_b ? b + jc * ldb + pc : b + pc * ldb + jc;
      pack_b<A>(transpose_b, b_block, ldb, kc, nc, pack_b_buffer);
      for (size_t ic = 0; ic < M; ic += S::mc) {
        const size_t mc = M - ic < S::mc ? M - ic : S::mc;
        const float* a_block = transpose_a ? a + pc * lda + ic : a + ic * lda + pc;
        pack_a<A>(transpose_a, a_block, lda, mc, kc, pack_a_buffer);
        for (size_t jr = 0; jr < nc; jr += S::nr) {
          const size_t cols = nc - jr < S::nr ? nc - jr : S::nr;
          for (size_t ir = 0; ir < mc; ir += S::mr) {
            const size_t rows = mc - ir < S::mr ? mc - ir : S::mr;
            micro_kernel<A>(kc, pack_a_buffer + ir * kc, pack_b_buffer + jr * kc, alpha,
                            c + (ic + ir) * ldc + jc + jr, ldc, rows, cols);
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace ww::ops::simd
