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
  static constexpr size_t small_mr = 4;
  static constexpr size_t kc = 256;  // the most; K is cut into equal blocks of at most this
  static constexpr size_t mc = 96;  // a multiple of every mr
  static constexpr size_t nc = 1024;
  static constexpr size_t pack_a_floats = mc * kc;
  static constexpr size_t pack_b_floats = kc * nc;
};

// The height of the A panel holding `rows` (<= mr) rows: the last rows of a matrix get a shorter
// tile (4 or 8 rows) rather than leaving most of a tall one empty (64 rows: 5 x 12 + 4, not 6 x 12).
template <class A>
size_t panel_height(size_t rows) {
  using S = GemmShape<A>;
  const size_t rounded = (rows + S::small_mr - 1) / S::small_mr * S::small_mr;
  return rounded < S::mr ? rounded : S::mr;
}

// dst[j * dst_stride + i] = src[i * src_stride + j] for i < rows, j < cols, in 8 x 8 tiles so
// both the reads and the writes stay within a few cache lines at a time.
inline void transpose_into(const float* src, size_t src_stride, float* dst, size_t dst_stride, size_t rows, size_t cols) {
  for (size_t i0 = 0; i0 < rows; i0 += 8) {
    const size_t in = rows - i0 < 8 ? rows - i0 : 8;
    for (size_t j0 = 0; j0 < cols; j0 += 8) {
      const size_t jn = cols - j0 < 8 ? cols - j0 : 8;
      float tile[8][8];
      for (size_t i = 0; i < in; ++i)
        for (size_t j = 0; j < jn; ++j) tile[j][i] = src[(i0 + i) * src_stride + j0 + j];
      for (size_t j = 0; j < jn; ++j)
        for (size_t i = 0; i < in; ++i) dst[(j0 + j) * dst_stride + i0 + i] = tile[j][i];
    }
  }
}

#ifdef __AVX512F__
// A 16 x 16 block transposed in registers: 32-bit, then 64-bit interleaves within 128-bit lanes,
// then two rounds of 128-bit lane shuffles (twice as fast as transpose_into's scalar tiles). Only
// the first `rows` rows of src are read and the first `rows` floats of each dst row written (a
// GEMM panel of 12 rows).
inline void transpose_16x16(const float* src, size_t src_stride, float* dst, size_t dst_stride, size_t rows = 16) {
  __m512 r[16], t[16];
  for (size_t i = 0; i < 16; ++i) r[i] = i < rows ? _mm512_loadu_ps(src + i * src_stride) : _mm512_setzero_ps();
  for (size_t i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  const auto pairs = [](__m512 x, __m512 y, bool high) {
    const __m512d a = _mm512_castps_pd(x), b = _mm512_castps_pd(y);
    return _mm512_castpd_ps(high ? _mm512_unpackhi_pd(a, b) : _mm512_unpacklo_pd(a, b));
  };
  // r[4i + j]: rows 4i..4i+3 at columns j, j + 4, j + 8, j + 12 (one per 128-bit lane).
  for (size_t i = 0; i < 4; ++i) {
    r[4 * i] = pairs(t[4 * i], t[4 * i + 2], false);
    r[4 * i + 1] = pairs(t[4 * i], t[4 * i + 2], true);
    r[4 * i + 2] = pairs(t[4 * i + 1], t[4 * i + 3], false);
    r[4 * i + 3] = pairs(t[4 * i + 1], t[4 * i + 3], true);
  }
  for (size_t j = 0; j < 4; ++j) {
    const __m512 a = _mm512_shuffle_f32x4(r[j], r[4 + j], 0x88), b = _mm512_shuffle_f32x4(r[j], r[4 + j], 0xdd);
    const __m512 c = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0x88), d = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0xdd);
    const __mmask16 lanes = lanes_below(rows);
    _mm512_mask_storeu_ps(dst + j * dst_stride, lanes, _mm512_shuffle_f32x4(a, c, 0x88));
    _mm512_mask_storeu_ps(dst + (8 + j) * dst_stride, lanes, _mm512_shuffle_f32x4(a, c, 0xdd));
    _mm512_mask_storeu_ps(dst + (4 + j) * dst_stride, lanes, _mm512_shuffle_f32x4(b, d, 0x88));
    _mm512_mask_storeu_ps(dst + (12 + j) * dst_stride, lanes, _mm512_shuffle_f32x4(b, d, 0xdd));
  }
}
#endif

template <class A>
void transpose(size_t rows, size_t cols, const float* src, size_t src_stride, float* dst, size_t dst_stride) {
#ifdef __AVX512F__
  if constexpr (std::is_same_v<A, xsimd::avx512f>) {
    for (size_t done_rows = 0; done_rows < rows; done_rows += 16) {
      const float* block = src + done_rows * src_stride;
      const size_t block_rows = rows - done_rows < 16 ? rows - done_rows : 16;
      size_t j = 0;
      for (; j + 16 <= cols; j += 16) transpose_16x16(block + j, src_stride, dst + j * dst_stride + done_rows, dst_stride, block_rows);
      transpose_into(block + j, src_stride, dst + j * dst_stride + done_rows, dst_stride, block_rows, cols - j);
    }
    return;
  }
#endif
  transpose_into(src, src_stride, dst, dst_stride, rows, cols);
}

// Packs rows [0, mc) x columns [0, kc) of op(A) into panels of mr rows, the last of
// panel_height rows: panel[k][r].
template <class A>
void pack_a(bool transpose, const float* a, size_t lda, size_t mc, size_t kc, float* out) {
  for (size_t panel = 0; panel < mc; panel += GemmShape<A>::mr) {
    const size_t rows = mc - panel < GemmShape<A>::mr ? mc - panel : GemmShape<A>::mr;
    const size_t mr = panel_height<A>(rows);
    float* dst = out + panel * kc;
    if (transpose) {
      for (size_t k = 0; k < kc; ++k)
        each_batch<A>(rows, [&](size_t r, size_t count) { store<A>(dst + k * mr + r, load<A>(a + k * lda + panel + r, count), count); });
    } else {
      simd::transpose<A>(rows, kc, a + panel * lda, lda, dst, mr);
    }
    for (size_t r = rows; r < mr; ++r)
      for (size_t k = 0; k < kc; ++k) dst[k * mr + r] = 0.f;
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
      // Row segments of nr floats: vector copies (a memcpy call per 128 bytes costs more than the copy).
      for (size_t k = 0; k < kc; ++k) {
        const float* src = b + k * ldb + panel;
        for (size_t c = 0; c < cols; c += width<A>) {
          const size_t count = cols - c < width<A> ? cols - c : width<A>;
          store<A>(dst + k * nr + c, load<A>(src + c, count), count);
        }
      }
    } else {
      simd::transpose<A>(cols, kc, b + panel * ldb, ldb, dst, nr);
    }
    for (size_t k = 0; k < kc; ++k)
      for (size_t c = cols; c < nr; ++c) dst[k * nr + c] = 0.f;
  }
}

// Zeroes a register tile of accumulators.
template <class B, size_t rows, size_t cols>
inline void clear_tile(B (&acc)[rows][cols]) {
#pragma GCC unroll 16
  for (size_t r = 0; r < rows; ++r)
#pragma GCC unroll 8
    for (size_t v = 0; v < cols; ++v) acc[r][v] = B(0.f);
}

// Where the rows of a B panel lie: `stride` apart (nr when packed, ldb when read in place) ...
struct StridedRows {
  const float* first;
  size_t stride;
  const float* row(size_t k) const { return first + k * stride; }
};
// ... or each at its own offset from `base` (a convolution's column matrix read in the image).
struct GatheredRows {
  const float* base;
  const size_t* offsets;
  const float* row(size_t k) const { return base + offsets[k]; }
};

// C[rows, cols] += alpha * (packed A panel) x (the first nv vectors of each of the kc rows of a B
// panel) over kc; with `overwrite`, C = that product (C is not read).
template <class A, size_t mr, size_t nv, class Rows>
void micro_kernel(size_t kc, const float* a_panel, Rows b_panel, float alpha, float* c, size_t ldc, size_t rows, size_t cols,
                  bool overwrite) {
  using B = Batch<A>;
  constexpr size_t w = width<A>;
  B acc[mr][nv];
  clear_tile(acc);
  // Prefetches: C's tile, read only at the end, and A's panel 32 steps ahead (past its end: the
  // next panel, which the caller multiplies next). On an Intel Xeon (AVX-512, 2 threads, medians
  // of 40 alternating with the build without them) the readout's three products (256 x 1,000 x
  // 1,024 and its two gradients) ran 4-11% faster, 1,024^3 10-12%.
  if (!overwrite)
    for (size_t r = 0; r < rows; ++r) {
      __builtin_prefetch(c + r * ldc, 1);
      __builtin_prefetch(c + r * ldc + cols - 1, 1);
    }
  for (size_t k = 0; k < kc; ++k) {
    B b[nv];
    __builtin_prefetch(a_panel + (k + 32) * mr);
    const float* b_row = b_panel.row(k);
#pragma GCC unroll 4
    for (size_t v = 0; v < nv; ++v) b[v] = B::load_unaligned(b_row + v * w);
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
        (overwrite ? alpha_b * acc[r][v] : xsimd::fma(alpha_b, acc[r][v], B::load_unaligned(p))).store_unaligned(p);
      }
    return;
  }
  for (size_t r = 0; r < rows; ++r)
    for (size_t v = 0; v * w < cols; ++v) {
      const size_t count = cols - v * w < w ? cols - v * w : w;
      float* p = c + r * ldc + v * w;
      store<A>(p, overwrite ? alpha_b * acc[r][v] : xsimd::fma(alpha_b, acc[r][v], load<A>(p, count)), count);
    }
}

// The micro-kernel for an A panel of `height` rows (panel_height) and `cols` columns of C: a tile
// one vector wide when they fit in one (289 columns: 9 panels of 32, then 1 column).
template <class A, size_t nv, class Rows>
void micro_kernel_of_height(size_t height, size_t kc, const float* a_panel, Rows b_panel, float alpha, float* c, size_t ldc,
                            size_t rows, size_t cols, bool overwrite) {
  using S = GemmShape<A>;
  if (height == S::small_mr) return micro_kernel<A, S::small_mr, nv>(kc, a_panel, b_panel, alpha, c, ldc, rows, cols, overwrite);
  if constexpr (S::mr == 3 * S::small_mr) {
    if (height == 2 * S::small_mr) return micro_kernel<A, 2 * S::small_mr, nv>(kc, a_panel, b_panel, alpha, c, ldc, rows, cols, overwrite);
  }
  micro_kernel<A, S::mr, nv>(kc, a_panel, b_panel, alpha, c, ldc, rows, cols, overwrite);
}

template <class A, class Rows>
void run_micro_kernel(size_t height, size_t kc, const float* a_panel, Rows b_panel, float alpha, float* c, size_t ldc, size_t rows,
                      size_t cols, bool overwrite) {
  if (cols <= width<A>) return micro_kernel_of_height<A, 1>(height, kc, a_panel, b_panel, alpha, c, ldc, rows, cols, overwrite);
  micro_kernel_of_height<A, GemmShape<A>::vectors>(height, kc, a_panel, b_panel, alpha, c, ldc, rows, cols, overwrite);
}

// The length of equal blocks, at most `most` each, that cover K (K > 0): each block is a pass over
// C, so none is left short.
inline size_t equal_block(size_t K, size_t most) {
  const size_t blocks = (K + most - 1) / most;
  return (K + blocks - 1) / blocks;
}

// C[rows x cols] += A[rows, K] B[K, cols] (with `overwrite`, C = the product) with cols <= nv
// vectors: A's rows (row r at a + a_rows[r]) are broadcast one float at a time, element k at
// k_offsets[k] from there, B's rows are loaded as they are: no packing, no horizontal sums. Rows
// past `rows` repeat the last valid one (read, never stored).
template <class A, size_t mr, size_t nv>
void narrow_tile(size_t K, const float* a, const size_t* a_rows, const size_t* k_offsets, const float* b, size_t ldb, float* c,
                 size_t ldc, size_t rows, size_t cols, bool overwrite) {
  using B = Batch<A>;
  constexpr size_t w = width<A>;
  const float* a_row[mr];
  for (size_t r = 0; r < mr; ++r) a_row[r] = a + a_rows[r < rows ? r : rows - 1];
  const size_t last = cols - (nv - 1) * w;  // lanes of the last vector
  B acc[mr][nv];
  clear_tile(acc);
  for (size_t k = 0; k < K; ++k) {
    B bv[nv];
    const float* b_k = b + k * ldb;
#pragma GCC unroll 4
    for (size_t v = 0; v + 1 < nv; ++v) bv[v] = B::load_unaligned(b_k + v * w);
    bv[nv - 1] = load<A>(b_k + (nv - 1) * w, last);
    const size_t at = k_offsets[k];
#pragma GCC unroll 12
    for (size_t r = 0; r < mr; ++r) {
      const B av(a_row[r][at]);
#pragma GCC unroll 4
      for (size_t v = 0; v < nv; ++v) acc[r][v] = xsimd::fma(av, bv[v], acc[r][v]);
    }
  }
  // Unrolled whole, so that every accumulator's index is a constant and they all stay in
  // registers (with a loop to `rows`, GCC 12 kept them in memory, storing them every k).
#pragma GCC unroll 12
  for (size_t r = 0; r < mr; ++r) {
    if (r == rows) break;
#pragma GCC unroll 4
    for (size_t v = 0; v < nv; ++v) {
      const size_t count = v + 1 < nv ? w : last;
      float* p = c + r * ldc + v * w;
      store<A>(p, overwrite ? acc[r][v] : load<A>(p, count) + acc[r][v], count);
    }
  }
}

template <class A, size_t nv>
void narrow_columns(size_t M, size_t K, const float* a, const size_t* a_rows, const size_t* k_offsets, const float* b, size_t ldb,
                    float* c, size_t ldc, size_t cols, bool overwrite) {
  // Tiles of about 24 accumulators (the register file holds 32 on AVX-512, 16 elsewhere).
  constexpr size_t most_rows = width<A> == 16 ? 12 : 6;
  constexpr size_t mr = (width<A> == 16 ? 24 : 12) / nv < most_rows ? (width<A> == 16 ? 24 : 12) / nv : most_rows;
  for (size_t i = 0; i < M; i += mr)
    narrow_tile<A, mr, nv>(K, a, a_rows + i, k_offsets, b, ldb, c + i * ldc, ldc, M - i < mr ? M - i : mr, cols, overwrite);
}

// C[M,N] += A[M,K] B[K,N] (with `overwrite`, C = A B: the first block of K stores its sums
// without reading C), B row-major, A's row r at a + a_rows[r] and its element k at
// k_offsets[k] from there, for narrow N: a convolution's output channels as columns, with pixels
// as rows and taps as k (a direct convolution) or taps as rows and pixels as k (its weight
// gradient, columns^T x dy^T), the image read where it lies. Columns in blocks of up to 4
// vectors; K in equal blocks of at most 64 KB of B, each a pass of every row tile of A over it
// that loads and stores the tile's C. B streams from L2 as fast as the tiles use it: blocks of 24
// KB, which L1 keeps, cost conv_v1_2's weight gradient (K = 289 pixels: 128 + 128 + 33, now one
// block) 8% more time (9.2 against 8.5 ms, 2 threads, three runs alternately), and left its
// forward and input gradient (K = 432 taps) as fast as two blocks of 216.
template <class A>
void gemm_narrow(size_t M, size_t N, size_t K, const float* a, const size_t* a_rows, const size_t* k_offsets, const float* b,
                 size_t ldb, float* c, size_t ldc, bool overwrite) {
  if (K == 0) {
    if (overwrite)
      for (size_t r = 0; r < M; ++r) std::memset(c + r * ldc, 0, N * sizeof(float));
    return;
  }
  constexpr size_t w = width<A>, most_vectors = w == 16 ? 4 : 2;
  for (size_t j = 0; j < N; j += most_vectors * w) {
    const size_t cols = N - j < most_vectors * w ? N - j : most_vectors * w;
    const size_t vectors = (cols + w - 1) / w;
    const size_t step = equal_block(K, 16384 / cols);
    for (size_t p = 0; p < K; p += step) {
      const size_t kc = K - p < step ? K - p : step;
      const float* b_block = b + p * ldb + j;
      const bool overwrites = overwrite && p == 0;
      if (vectors == 1) {
        narrow_columns<A, 1>(M, kc, a, a_rows, k_offsets + p, b_block, ldb, c + j, ldc, cols, overwrites);
      } else if (vectors == 2) {
        narrow_columns<A, 2>(M, kc, a, a_rows, k_offsets + p, b_block, ldb, c + j, ldc, cols, overwrites);
      } else if constexpr (most_vectors == 4) {
        if (vectors == 3) {
          narrow_columns<A, 3>(M, kc, a, a_rows, k_offsets + p, b_block, ldb, c + j, ldc, cols, overwrites);
        } else {
          narrow_columns<A, 4>(M, kc, a, a_rows, k_offsets + p, b_block, ldb, c + j, ldc, cols, overwrites);
        }
      }
    }
  }
}

// K in equal blocks of at most kc: 800 = 4 x 200, not 3 x 256 + 32 (a pass over C for 32 products).
template <class A>
size_t k_step(size_t K) {
  return equal_block(K, GemmShape<A>::kc);
}

// pack(pc, kc) for each block of K [pc, pc + kc), in order: how a whole packed operand is laid out.
template <class A, class Pack>
void for_each_k_block(size_t K, Pack&& pack) {
  const size_t step = k_step<A>(K);
  for (size_t pc = 0; pc < K; pc += step) pack(pc, K - pc < step ? K - pc : step);
}

// The rows one block of K of a whole packed A takes: full panels, then a shorter last one.
template <class A>
size_t packed_rows(size_t M) {
  constexpr size_t mr = GemmShape<A>::mr;
  return M / mr * mr + (M % mr != 0 ? panel_height<A>(M % mr) : 0);
}

template <class A>
size_t packed_a_floats(size_t M, size_t K) {
  return packed_rows<A>(M) * K;
}

// op(A) [M, K] packed whole as gemm reads it: block after block of K, each M rows of panels (the
// panels of gemm's blocks of mc rows, as mc is a multiple of mr). Packs rows [first, first + count)
// only (first a multiple of mr; count a multiple of mr or reaching M), so threads can share it.
template <class A>
void pack_a_rows(bool transpose, size_t M, size_t K, const float* a, size_t lda, size_t first, size_t count, float* out) {
  for_each_k_block<A>(K, [&](size_t pc, size_t kc) {
    pack_a<A>(transpose, transpose ? a + pc * lda + first : a + first * lda + pc, lda, count, kc, out + pc * packed_rows<A>(M) + first * kc);
  });
}

// The columns one block of K of a whole packed B takes: N in panels of nr.
template <class A>
size_t packed_columns(size_t N) {
  constexpr size_t nr = GemmShape<A>::nr;
  return (N + nr - 1) / nr * nr;
}

template <class A>
size_t packed_b_floats(size_t K, size_t N) {
  return K * packed_columns<A>(N);
}

// op(B) [K, N] packed whole: block after block of K, each N columns of panels. Packs columns
// [first, first + count) only (first a multiple of nr).
template <class A>
void pack_b_columns(bool transpose, size_t K, size_t N, const float* b, size_t ldb, size_t first, size_t count, float* out) {
  for_each_k_block<A>(K, [&](size_t pc, size_t kc) {
    pack_b<A>(transpose, transpose ? b + first * ldb + pc : b + pc * ldb + first, ldb, kc, count, out + pc * packed_columns<A>(N) + first * kc);
  });
}

// C = beta C: beta 0 zeroes C (the first block of K then overwrites it without reading it).
template <class A>
void scale_c(size_t M, size_t N, float beta, float* c, size_t ldc) {
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

// The blocked loops of a GEMM whose A panels are where a_panels(pc, kc, ic, mc) says (rows
// [ic, ic + mc) of the block of K [pc, pc + kc), packed or packed there and then) and whose B panels
// are where b_panels(pc, kc, jc, nc) says: each call returns a function of jr giving the panel of
// B's rows [pc, pc + kc) from column jc + jr.
template <class A, class APanels, class BPanels>
void gemm_blocks(size_t M, size_t N, size_t K, float alpha, float beta, float* c, size_t ldc, APanels&& a_panels, BPanels&& b_panels) {
  using S = GemmShape<A>;
  if (beta != 1.f && (beta != 0.f || K == 0)) scale_c<A>(M, N, beta, c, ldc);
  if (K == 0) return;
  const size_t step = k_step<A>(K);
  for (size_t jc = 0; jc < N; jc += S::nc) {
    const size_t nc = N - jc < S::nc ? N - jc : S::nc;
    for (size_t pc = 0; pc < K; pc += step) {
      const size_t kc = K - pc < step ? K - pc : step;
      const auto panel_at = b_panels(pc, kc, jc, nc);
      for (size_t ic = 0; ic < M; ic += S::mc) {
        const size_t mc = M - ic < S::mc ? M - ic : S::mc;
        const float* a_block = a_panels(pc, kc, ic, mc);
        for (size_t jr = 0; jr < nc; jr += S::nr) {
          const size_t cols = nc - jr < S::nr ? nc - jr : S::nr;
          for (size_t ir = 0; ir < mc; ir += S::mr) {
            const size_t rows = mc - ir < S::mr ? mc - ir : S::mr;
            run_micro_kernel<A>(panel_height<A>(rows), kc, a_block + ir * kc, panel_at(jr), alpha, c + (ic + ir) * ldc + jc + jr, ldc,
                                rows, cols, beta == 0.f && pc == 0);
          }
        }
      }
    }
  }
}

// The panels of a whole packed A (pack_a_rows) of M rows.
template <class A>
auto whole_a_panels(const float* a, size_t M) {
  return [=](size_t pc, size_t kc, size_t ic, size_t) { return a + pc * packed_rows<A>(M) + ic * kc; };
}

template <class A>
void gemm(bool transpose_a, bool transpose_b, size_t M, size_t N, size_t K, float alpha,
          const float* a, size_t lda, bool a_packed, const float* b, size_t ldb, bool b_padded, float beta, float* c,
          size_t ldc, float* pack_a_buffer, float* pack_b_buffer) {
  // B read in place when one block of A's rows is all there is: every float of B then meets the
  // micro-kernels once, and copying it into panels first cost a quarter of a convolution's
  // forward product (64 x 1,296 x 800).
  const bool b_in_place = b_padded && !transpose_b && M <= GemmShape<A>::mc;
  const auto b_panels = [&](size_t pc, size_t kc, size_t jc, size_t nc) {
    const float* b_block = transpose_b ? b + jc * ldb + pc : b + pc * ldb + jc;
    if (!b_in_place) pack_b<A>(transpose_b, b_block, ldb, kc, nc, pack_b_buffer);
    return [=](size_t jr) {
      return b_in_place ? StridedRows{b_block + jr, ldb} : StridedRows{pack_b_buffer + jr * kc, GemmShape<A>::nr};
    };
  };
  if (a_packed) return gemm_blocks<A>(M, N, K, alpha, beta, c, ldc, whole_a_panels<A>(a, M), b_panels);
  gemm_blocks<A>(M, N, K, alpha, beta, c, ldc, [&](size_t pc, size_t kc, size_t ic, size_t mc) {
    pack_a<A>(transpose_a, transpose_a ? a + pc * lda + ic : a + ic * lda + pc, lda, mc, kc, pack_a_buffer);
    return static_cast<const float*>(pack_a_buffer);
  }, b_panels);
}

template <class A>
void gemm_gathered(size_t M, size_t N, size_t K, const float* a_packed, const float* b, const size_t* b_rows, float beta, float* c,
                   size_t ldc) {
  gemm_blocks<A>(M, N, K, 1.f, beta, c, ldc, whole_a_panels<A>(a_packed, M), [&](size_t pc, size_t, size_t jc, size_t) {
    return [=](size_t jr) { return GatheredRows{b + jc + jr, b_rows + pc}; };
  });
}

// C [M, N] = beta C + alpha A B, A and B packed whole (pack_a_rows, pack_b_columns).
template <class A>
void gemm_packed(size_t M, size_t N, size_t K, float alpha, const float* a_packed, const float* b_packed, float beta, float* c,
                 size_t ldc) {
  gemm_blocks<A>(M, N, K, alpha, beta, c, ldc, whole_a_panels<A>(a_packed, M), [&](size_t pc, size_t kc, size_t jc, size_t) {
    const float* panels = b_packed + pc * packed_columns<A>(N) + jc * kc;
    return [=](size_t jr) { return StridedRows{panels + jr * kc, GemmShape<A>::nr}; };
  });
}

}  // namespace
}  // namespace ww::ops::simd
