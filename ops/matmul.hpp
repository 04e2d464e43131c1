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
// dA += dC op(B)^T (as stored), dB += op(A)^T dC (as stored); either may be null.
void matmul_backward(const float* a, const float* b, const float* dc, float* da, float* db,
                     const MatmulShape& shape);

// One general product: C = beta C + alpha op(A) op(B), parallel over blocks of C.
void gemm(bool transpose_a, bool transpose_b, std::size_t m, std::size_t n, std::size_t k,
          float alpha, const float* a, std::size_t lda, const float* b, std::size_t ldb, float beta,
          float* c, std::size_t ldc);
// The same on the calling thread only, for use inside another kernel's parallel_for body.
// b_padded: B's rows may be read up to n rounded up to 16 floats (ldb at least that; what lies
// past n is never used), which lets the kernel skip copying B (a convolution's column matrix).
void gemm_serial(bool transpose_a, bool transpose_b, std::size_t m, std::size_t n, std::size_t k,
                 float alpha, const float* a, std::size_t lda, const float* b, std::size_t ldb,
                 float beta, float* c, std::size_t ldc, bool b_padded = false);

}  // namespace ww::ops
