#pragma once
// The serial, vectorised inner kernels of ops/, one table per instruction set.
//
// Each instruction set has its own small source file (arch_<isa>.cpp) compiled with that set's
// flags; all of them instantiate the same templates from *_impl.hpp. The public functions of
// ops/ validate arguments, split work with parallel_for and call the current table on chunks.
// Pointers are raw float arrays, row-major; nothing here allocates. "+=" means the kernel
// accumulates into its output.
#include <cstddef>

namespace ww::ops::simd {

using std::size_t;

enum class UnaryOp : int { neg, exp, log, abs, sqrt, square, relu, elu, softplus, sigmoid, tanh };
enum class BinaryOp : int { add, sub, mul, div };
// The norms a penalty sums over a whole tensor: sum |x| and sum x^2.
enum class Norm : int { l1, squared_l2 };

// The operands of a multi-channel valid cross-correlation of one image: x has `channels` planes
// of x_height x x_width floats (x_plane apart), y has `out_channels` planes of out_height x
// out_width (y_plane apart); the kh x kw kernels w are tap-major, [channels, kh, kw,
// out_channels]: a tap's weights for every output channel are adjacent.
struct ChannelCorrelation {
  const float* x;
  size_t channels, x_width, x_plane;
  const float* w;
  size_t kh, kw;
  float* y;
  size_t out_channels, out_height, out_width, y_plane;
};

struct KernelTable {
  const char* name;

  // y[i] = f(x[i]) for i < n; `alpha` is ELU's alpha (ignored by the others).
  void (*unary_forward)(UnaryOp op, const float* x, float* y, size_t n, float alpha);
  // Gradient writers take `overwrite`: dx = ... when set (dx holds nothing yet), dx += ... else.
  // dx[i] += dy[i] * f'(x[i]); y holds f(x).
  void (*unary_backward)(UnaryOp op, const float* x, const float* y, const float* dy, float* dx,
                         size_t n, float alpha, bool overwrite);

  // dz[i] = dy[i] * f'(z[i]) from y = f(z) alone, for relu and softplus (a fused batchnorm +
  // activation keeps only y); dz may alias dy.
  void (*activation_backward_from_output)(UnaryOp op, const float* y, const float* dy, float* dz, size_t n);

  // On a block viewed as [outer, mid, inner] with b holding `mid` values:
  // y[o,m,i] = a[o,m,i] (op) b[m].
  void (*binary_forward)(BinaryOp op, const float* a, const float* b, float* y, size_t outer,
                         size_t mid, size_t inner);
  // da[o,m,i] += dy[o,m,i] * d(a op b)/da.
  void (*binary_backward_a)(BinaryOp op, const float* b, const float* dy, float* da, size_t outer,
                            size_t mid, size_t inner, bool overwrite);
  // db[m] += sum over o, i of dy[o,m,i] * d(a op b)/db.
  void (*binary_backward_b)(BinaryOp op, const float* a, const float* b, const float* dy,
                            float* db, size_t outer, size_t mid, size_t inner);

  // x viewed as [outer, n, inner_stride], y as [outer, inner_stride]; only the first `inner`
  // columns are touched. y[o,i] = scale * sum_m x[o,m,i].
  void (*sum_axis_forward)(const float* x, float* y, size_t outer, size_t n, size_t inner,
                           size_t inner_stride, float scale);
  // dx[o,m,i] += scale * dy[o,i].
  void (*sum_axis_backward)(const float* dy, float* dx, size_t outer, size_t n, size_t inner,
                            size_t inner_stride, float scale, bool overwrite);

  // y[i] (+)= sum over m < n of x[m * x_stride + i] * w[m * w_stride + i], i < len (accumulate: +=).
  void (*weighted_row_sum)(size_t n, size_t len, const float* x, size_t x_stride, const float* w, size_t w_stride, float* y,
                           bool accumulate);

  // y[i] += alpha * x[i].
  void (*axpy)(size_t n, float alpha, const float* x, float* y);
  // sum_i x[i] * y[i].
  float (*dot)(const float* x, const float* y, size_t n);
  // Blocks of `rows` rows of `len` floats: y[r * y_stride + i] = x[r * x_stride + i] (copy_rows),
  // or += alpha * x[...] (axpy_rows). A convolution's column-matrix row and its image rows.
  void (*copy_rows)(size_t rows, size_t len, const float* x, size_t x_stride, float* y, size_t y_stride);
  void (*axpy_rows)(size_t rows, size_t len, float alpha, const float* x, size_t x_stride, float* y, size_t y_stride);
  // y[i] += sum over t < taps of x[t * x_stride + i - t] (the terms with i - t outside [0, len)
  // are 0), i < len + taps - 1: a kernel row's taps of a column gradient folded back into one
  // image row at once, y loaded and stored once rather than once a tap (conv_nl2's col2im, one
  // thread: 265 -> 156 us an image).
  void (*add_shifted_rows)(size_t taps, size_t len, const float* x, size_t x_stride, float* y);

  // Rows x[r*stride + i], r < rows, i < len (one channel of an NCHW tensor: rows = batch,
  // len = H*W, stride = C*H*W). Sums come back in double.
  double (*strided_sum)(const float* x, size_t rows, size_t len, size_t stride);
  double (*strided_sum_sqdev)(const float* x, size_t rows, size_t len, size_t stride, float mean);
  void (*strided_sum_and_dot)(const float* dy, const float* x, size_t rows, size_t len,
                              size_t stride, double* sum_dy, double* sum_dy_x);
  // y = a * x + c.
  void (*strided_affine)(const float* x, float* y, size_t rows, size_t len, size_t stride, float a,
                         float c);
  // dx += k1 * dy + k2 * x + k3.
  void (*strided_affine_backward)(const float* dy, const float* x, float* dx, size_t rows,
                                  size_t len, size_t stride, float k1, float k2, float k3,
                                  bool overwrite);

  // Serial GEMM: C[M,N] = beta * C + alpha * op(A) op(B), op = transpose when the flag is set;
  // lda/ldb/ldc are the row lengths of A, B, C as stored. pack_a/pack_b need
  // gemm_pack_a_floats/gemm_pack_b_floats floats, 64-byte aligned. beta = 0 ignores C's contents.
  // a_packed: A is gemm_pack_a_rows' output, all rows (transpose_a and lda are ignored). b_padded: B's rows
  // may be read up to N rounded up to 16 (ldb at least that), so the kernel may use B where it lies
  // instead of packing it.
  void (*gemm)(bool transpose_a, bool transpose_b, size_t M, size_t N, size_t K, float alpha,
               const float* A, size_t lda, bool a_packed, const float* B, size_t ldb, bool b_padded, float beta,
               float* C, size_t ldc, float* pack_a, float* pack_b);
  // C[M,N] = beta * C + A B with A packed (gemm_pack_a_rows, all rows) and row k of B at B + b_rows[k],
  // read in place up to N rounded up to 16 floats: a convolution's column matrix where it lies in
  // an image, no copy made.
  void (*gemm_gathered)(size_t M, size_t N, size_t K, const float* A, const float* B, const size_t* b_rows, float beta, float* C,
                        size_t ldc);
  size_t gemm_pack_a_floats;
  // Packs op(A) [M, K] once for many gemm calls: gemm_packed_a_floats(M, K) floats, 64-byte aligned;
  // rows [first, first + count) of it (first a multiple of 12, count too unless it reaches M), so
  // that threads may pack parts.
  void (*gemm_pack_a_rows)(bool transpose_a, size_t M, size_t K, const float* A, size_t lda, size_t first, size_t count, float* out);
  size_t (*gemm_packed_a_floats)(size_t M, size_t K);
  size_t gemm_pack_b_floats;
  // Packs op(B) [K, N] once: gemm_packed_b_floats(K, N) floats, 64-byte aligned; columns
  // [first, first + count) of it (first a multiple of 32).
  void (*gemm_pack_b_columns)(bool transpose_b, size_t K, size_t N, const float* B, size_t ldb, size_t first, size_t count, float* out);
  size_t (*gemm_packed_b_floats)(size_t K, size_t N);
  // C[M,N] = beta * C + alpha * A B, with A and B packed whole (gemm_pack_a_rows, gemm_pack_b_columns).
  void (*gemm_packed)(size_t M, size_t N, size_t K, float alpha, const float* A, const float* B, float beta, float* C, size_t ldc);
  // dst[j * dst_stride + i] = src[i * src_stride + j] for i < rows, j < cols (e.g. [channels,
  // pixels] to channels last).
  void (*transpose)(size_t rows, size_t cols, const float* src, size_t src_stride, float* dst, size_t dst_stride);
  // C[M,N] += A[M,K] B[K,N], B row-major, row r of A at A + a_rows[r] with its element k at
  // k_offsets[k] from there, without packing, for narrow N (columns in blocks of up to 64): a
  // vector of B's row times a broadcast of A's, every accumulator a vector of C. A can be an image
  // read where it lies (pixels as rows and a kernel's taps as k, or the other way round) or a
  // matrix, transposed or not (matmul's products of at most 256 columns). With `overwrite`,
  // C = A B, and C is never read (so it need not be zeroed first).
  void (*gemm_narrow)(size_t M, size_t N, size_t K, const float* A, const size_t* a_rows, const size_t* k_offsets, const float* B,
                      size_t ldb, float* C, size_t ldc, bool overwrite);

  // Valid cross-correlation of one image x (rows of `width` floats) with one kh x kw kernel:
  // y[oy, ox] (+)= sum w[ky, kx] x[oy + ky, ox + kx] for out_height x out_width outputs;
  // accumulate selects += over =.
  void (*correlate_valid)(const float* x, size_t width, const float* w, size_t kh, size_t kw, float* y,
                          size_t out_height, size_t out_width, bool accumulate);
  // Its weight gradient: dw[ky, kx] += sum dy[oy, ox] x[oy + ky, ox + kx].
  void (*correlate_valid_weight_grad)(const float* x, size_t width, const float* dy, size_t out_height,
                                      size_t out_width, size_t kh, size_t kw, float* dw);
  // The same over channels (one image): y[o] (+)= sum_c correlate_valid(x[c], w[c, ., ., o]) for
  // every output channel, and its weight gradient dw[o, c] += ... (dw [out_channels, channels,
  // kh, kw], g.w unused); the latter only for kw 3 or 5.
  void (*correlate_channels)(const ChannelCorrelation& g, bool accumulate);
  void (*correlate_channels_weight_grad)(const ChannelCorrelation& g, const float* dy, float* dw);

  // One bias-corrected Adam step on n parameters: m, v updated in place, then
  // param -= lr * (m / c1) / (sqrt(v / c2) + eps), with c1 = 1 - beta1^t, c2 = 1 - beta2^t.
  void (*adam_update)(float* param, const float* grad, float* m, float* v, size_t n, float lr,
                      float beta1, float beta2, float eps, float c1, float c2);

  // SGD with momentum: v = momentum v + g; param -= lr v.
  void (*sgd_update)(float* param, const float* grad, float* velocity, size_t n, float lr, float momentum);

  // Runs `iterations` rounds of independent FMAs on registers (12 chains of one vector each) and
  // returns a value depending on all of them: the machine's FMA throughput, for benchmarks.
  float (*fma_throughput)(size_t iterations);
  size_t fma_flops_per_iteration;

  // sum_i (p[i] - t[i])^2.
  double (*squared_error_sum)(const float* p, const float* t, size_t n);
  // dp[i] += scale * (p[i] - t[i]).
  void (*squared_error_backward)(const float* p, const float* t, float* dp, size_t n, float scale);
  // sum_i |x[i]| (l1) or x[i]^2 (squared_l2), and its gradient dx[i] (+)= scale * d/dx[i]
  // (sign(x[i]), 0 at 0, or 2 x[i]): a penalty without |x| or x^2 in memory.
  double (*norm_sum)(Norm norm, const float* x, size_t n);
  void (*norm_backward)(Norm norm, const float* x, float* dx, size_t n, float scale, bool overwrite);
  // sum_i r[i] - y[i] * log(r[i] + eps).
  double (*poisson_sum)(const float* r, const float* y, size_t n, float eps);
  // dr[i] += scale * (1 - y[i] / (r[i] + eps)).
  void (*poisson_backward)(const float* r, const float* y, float* dr, size_t n, float eps,
                           float scale);
};

// One factory per instruction set, each defined in its own arch_<isa>.cpp.
KernelTable kernel_table_sse2();
KernelTable kernel_table_avx2();
KernelTable kernel_table_avx512();

// The table of the current instruction set (ops/isa.hpp).
const KernelTable& kernels();

}  // namespace ww::ops::simd
