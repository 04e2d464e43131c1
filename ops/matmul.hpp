#pragma once
// Matrix products, row-major. A batch of `batch` independent products C[b] = op(A[b]) op(B[b]),
// op = transpose when the flag is set; op(A) is [m, k], op(B) is [k, n], C is [m, n].
// Stored A is [m, k] ([k, m] when transposed), B is [k, n] ([n, k] when transposed).
#include <cstddef>

namespace ww::ops {

struct MatmulShape {
  std::size_t batch, m, n, k;
  bool transpose_a, transpose_b;
};

// C = op(A) op(B). C must not alias A or B.
void matmul_forward(const float* a, const float* b, float* c, const MatmulShape& shape);
// dA += dC op(B)^T (as stored), dB += op(A)^T dC (as stored); either may be null. With
// overwrite_da / overwrite_db, = instead of += (the old values are never read).
void matmul_backward(const float* a, const float* b, const float* dc, float* da, bool overwrite_da, float* db, bool overwrite_db,
                     const MatmulShape& shape);

// One general product: C = beta C + alpha op(A) op(B), parallel over blocks of C.
void gemm(bool transpose_a, bool transpose_b, std::size_t m, std::size_t n, std::size_t k,
          float alpha, const float* a, std::size_t lda, const float* b, std::size_t ldb, float beta,
          float* c, std::size_t ldc);
// The same on the calling thread only, for use inside another kernel's parallel_for body.
void gemm_serial(bool transpose_a, bool transpose_b, std::size_t m, std::size_t n, std::size_t k,
                 float alpha, const float* a, std::size_t lda, const float* b, std::size_t ldb,
                 float beta, float* c, std::size_t ldc);

// op(A) [m, k] packed once for many products (a convolution's weights, image after image).
struct PackedA {
  const float* data;
  std::size_t m, k;
};
// Packs into the calling thread's scratch, which stays valid until its next pack_a (tasks of a
// parallel_for may read it).
PackedA pack_a(bool transpose_a, std::size_t m, std::size_t k, const float* a, std::size_t lda);
// C[m, n] = beta C + A B on the calling thread, B [k, n] row-major. b_padded: B's rows may be read
// up to n rounded up to 16 floats (ldb at least that; what lies past n is never used), which lets
// the kernel skip copying B (a convolution's column matrix).
void gemm_serial(const PackedA& a, std::size_t n, const float* b, std::size_t ldb, float beta, float* c,
                 std::size_t ldc, bool b_padded);

}  // namespace ww::ops
