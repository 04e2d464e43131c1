#include "ops/matmul.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "ops/parallel.hpp"
#include "ops/scratch.hpp"
#include "ops/simd/kernel_table.hpp"

namespace ww::ops {
namespace {

struct GemmArgs {
  bool transpose_a, transpose_b;
  std::size_t m, n, k;
  float alpha;
  const float* a;
  std::size_t lda, a_stride;  // a_stride: distance between batch entries
  const float* b;
  std::size_t ldb, b_stride;
  float beta;
  float* c;
  std::size_t ldc, c_stride;
};

// Batches of products (and products too large to pack once, below): the blocks of C that one task
// each computes. Each task packs its block's rows of A and columns of B, so C is cut into eight
// nearly equal blocks (rows in multiples of 12, columns of 32: every micro-kernel's tile) along whichever axes copy the least: a product of M x K by K x N cut into
// r x c blocks packs K (M c + N r) floats. (Blocks of 96 rows packed the readout's 11.5 MB mask 43
// times per backward; a block of 64 of 256 rows left one of two threads idle for a third of the
// product.) Both operands k-contiguous (A B^T) take the same path: since panels are packed with
// register transposes it beats dot-product tiles (no packing, but 24 horizontal sums a 4 x 6 tile)
// at every size measured, AVX-512, 2 threads, best of 9 (ms): 256 x 1,000 x 1,024 1.75 against 2.27,
// 64 x 1,000 x 4,096 1.89 against 2.43, 1,024^3 6.5 against 9.1; with AVX2 they are level but for
// 64 x 1,000 x 4,096 (5.4 against 4.4).
struct Blocking {
  std::size_t rows, cols;
};

Blocking blocking_for(const GemmArgs& g) {
  auto round_up = [](std::size_t x, std::size_t to) { return (x + to - 1) / to * to; };
  std::size_t row_blocks = 8, col_blocks = 1;
  for (const std::size_t r : {4, 2, 1}) {
    const std::size_t c = 8 / r;
    if (g.m * c + g.n * r < g.m * col_blocks + g.n * row_blocks) {
      row_blocks = r;
      col_blocks = c;
    }
  }
  return {round_up((g.m + row_blocks - 1) / row_blocks, 12), round_up((g.n + col_blocks - 1) / col_blocks, 32)};
}

// Products with few columns run on the narrow kernel instead: A read where it lies (its rows and
// its k gathered, so a transposed A needs no copy either), B row-major (copied once when it comes
// transposed: it is the small operand), C in blocks of rows. Packing A for so few columns cost
// about as much as the products: readout_v1 (103 neurons, 15x15 pixels) spent 30% of its time in
// pack_a.
bool narrow_product(const GemmArgs& g) { return g.n <= 256 && g.alpha == 1.f && (g.beta == 0.f || g.beta == 1.f); }

void narrow_gemm(std::size_t batch, const GemmArgs& g) {
  const auto& kernels = simd::kernels();
  const float* b = g.b;
  std::size_t ldb = g.ldb, b_stride = g.b_stride;
  if (g.transpose_b) {
    const std::size_t entries = g.b_stride == 0 ? 1 : batch;
    float* b_rows = scratch(ScratchSlot::transposed_b, entries * g.k * g.n);  // the tasks use no scratch
    for (std::size_t entry = 0; entry < entries; ++entry)
      kernels.transpose(g.n, g.k, g.b + entry * g.b_stride, g.ldb, b_rows + entry * g.k * g.n, g.n);
    b = b_rows;
    ldb = g.n;
    b_stride = g.b_stride == 0 ? 0 : g.k * g.n;
  }
  std::vector<std::size_t> a_rows(g.m), k_offsets(g.k);
  for (std::size_t r = 0; r < g.m; ++r) a_rows[r] = g.transpose_a ? r : r * g.lda;
  for (std::size_t k = 0; k < g.k; ++k) k_offsets[k] = g.transpose_a ? k * g.lda : k;
  // Few rows and a long k (the V1 readout's mask gradient, dy^T x: 103 x 225 over 12,288 rows of
  // x): every block of rows would stream all of B, so k is cut into chunks instead, all rows in
  // each, each into its own partial C, added in chunk order (the same sums for any thread count).
  // Otherwise about 16 tasks a product, in multiples of every row tile (6, 8, 12), small enough
  // that a block of A stays in L2 while each block of 64 columns passes over it.
  const std::size_t k_chunks = g.m <= 192 && g.k >= 2048 ? 8 : 1, k_per_chunk = (g.k + k_chunks - 1) / k_chunks;
  const std::size_t rows_per_task = k_chunks > 1 ? g.m : std::clamp<std::size_t>(((g.m + 15) / 16 + 23) / 24 * 24, 24, 192);
  const std::size_t blocks = (g.m + rows_per_task - 1) / rows_per_task;
  float* partials = k_chunks > 1 ? scratch(ScratchSlot::partials, batch * k_chunks * g.m * g.n) : nullptr;
  parallel_for(batch * blocks * k_chunks, 1, [&](std::size_t, std::size_t task, std::size_t) {
    const std::size_t chunk = task % k_chunks, block = task / k_chunks % blocks, entry = task / k_chunks / blocks;
    const std::size_t first = block * rows_per_task, rows = std::min(rows_per_task, g.m - first);
    const std::size_t k_first = chunk * k_per_chunk, ks = std::min(k_per_chunk, g.k - k_first);
    float* c = k_chunks > 1 ? partials + ((entry * k_chunks + chunk) * g.m + first) * g.n : g.c + entry * g.c_stride + first * g.ldc;
    const std::size_t ldc = k_chunks > 1 ? g.n : g.ldc;
    if (k_chunks > 1 || g.beta == 0.f)
      for (std::size_t r = 0; r < rows; ++r) std::memset(c + r * ldc, 0, g.n * sizeof(float));
    kernels.gemm_narrow(rows, g.n, ks, g.a + entry * g.a_stride, a_rows.data() + first, k_offsets.data() + k_first,
                        b + entry * b_stride + k_first * ldb, ldb, c, ldc);
  });
  if (k_chunks == 1) return;
  for (std::size_t entry = 0; entry < batch; ++entry)
    for (std::size_t r = 0; r < g.m; ++r) {
      float* c = g.c + entry * g.c_stride + r * g.ldc;
      if (g.beta == 0.f) std::memset(c, 0, g.n * sizeof(float));
      for (std::size_t chunk = 0; chunk < k_chunks; ++chunk)
        kernels.axpy(g.n, 1.f, partials + ((entry * k_chunks + chunk) * g.m + r) * g.n, c);
    }
}

// One large product packs B once and A in chunks of rows (at most 4 MB each), all threads sharing
// the packing, and then hands out small tiles of C, at least 32 a chunk, as threads come free.
// (Eight fixed blocks, each packing its own rows of A and columns of B, packed the readout's
// 256 x 1,000 x 1,024 A four times and B twice, ~15% of its time, and one thread's last block was
// the other's idle tail.) Batches of products, and products whose packed B would take more than
// 32 MB, keep the blocks.
bool packed_once(std::size_t batch, const GemmArgs& g) {
  return batch == 1 && g.m * g.n * g.k >= (std::size_t{1} << 23) && simd::kernels().gemm_packed_b_floats(g.k, g.n) <= (std::size_t{1} << 23);
}

// Tiles of C as large as leave 32 of them in `rows` x `cols`: columns halved down to 128, then
// rows down to 24 (multiples of every micro-kernel's 12 rows and 32 columns).
Blocking shared_tiles(std::size_t rows, std::size_t cols) {
  Blocking tile{96, std::min<std::size_t>((cols + 31) / 32 * 32, 1024)};
  const auto count = [&] { return ((rows + tile.rows - 1) / tile.rows) * ((cols + tile.cols - 1) / tile.cols); };
  while (count() < 32 && (tile.cols > 128 || tile.rows > 24)) {
    if (tile.cols > 128) {
      tile.cols = (tile.cols / 2 + 31) / 32 * 32;
    } else {
      tile.rows /= 2;
    }
  }
  return tile;
}

void gemm_packed_once(const GemmArgs& g) {
  const auto& kernels = simd::kernels();
  constexpr std::size_t pack_rows = 96, pack_cols = 128;
  const std::size_t chunk_rows = std::max<std::size_t>(pack_rows, (std::size_t{1} << 20) / g.k / pack_rows * pack_rows);
  // The tasks use no scratch.
  float* a = scratch(ScratchSlot::whole_a, kernels.gemm_packed_a_floats(std::min(chunk_rows, g.m), g.k));
  float* b = scratch(ScratchSlot::whole_b, kernels.gemm_packed_b_floats(g.k, g.n));
  for (std::size_t first_row = 0; first_row < g.m; first_row += chunk_rows) {
    const std::size_t rows = std::min(chunk_rows, g.m - first_row);
    const float* a_rows = g.transpose_a ? g.a + first_row : g.a + first_row * g.lda;
    const std::size_t a_parts = (rows + pack_rows - 1) / pack_rows, b_parts = first_row == 0 ? (g.n + pack_cols - 1) / pack_cols : 0;
    parallel_for(a_parts + b_parts, 1, [&](std::size_t, std::size_t part, std::size_t) {
      if (part < a_parts) {
        const std::size_t first = part * pack_rows;
        kernels.gemm_pack_a_rows(g.transpose_a, rows, g.k, a_rows, g.lda, first, std::min(pack_rows, rows - first), a);
      } else {
        const std::size_t first = (part - a_parts) * pack_cols;
        kernels.gemm_pack_b_columns(g.transpose_b, g.k, g.n, g.b, g.ldb, first, std::min(pack_cols, g.n - first), b);
      }
    });
    const Blocking tile = shared_tiles(rows, g.n);
    const std::size_t row_tiles = (rows + tile.rows - 1) / tile.rows, col_tiles = (g.n + tile.cols - 1) / tile.cols;
    parallel_for(row_tiles * col_tiles, 1, [&](std::size_t, std::size_t index, std::size_t) {
      const std::size_t row = index / col_tiles * tile.rows, col = index % col_tiles * tile.cols;
      kernels.gemm_packed_block(rows, g.n, g.k, g.alpha, a, b, g.beta, g.c + first_row * g.ldc, g.ldc, row,
                                std::min(tile.rows, rows - row), col, std::min(tile.cols, g.n - col));
    });
  }
}

// Runs `batch` products, each cut into blocks of C, as one parallel loop.
void batched_gemm(std::size_t batch, const GemmArgs& g) {
  if (g.m == 0 || g.n == 0) return;
  if (narrow_product(g)) {
    narrow_gemm(batch, g);
    return;
  }
  if (packed_once(batch, g)) {
    gemm_packed_once(g);
    return;
  }
  const auto [block_rows, block_cols] = blocking_for(g);
  const std::size_t row_blocks = (g.m + block_rows - 1) / block_rows;
  const std::size_t col_blocks = (g.n + block_cols - 1) / block_cols;
  const std::size_t per_matrix = row_blocks * col_blocks;
  parallel_for(batch * per_matrix, 1, [&](std::size_t, std::size_t task, std::size_t) {
    const std::size_t entry = task / per_matrix;
    const std::size_t i0 = (task % per_matrix) / col_blocks * block_rows;
    const std::size_t j0 = (task % per_matrix) % col_blocks * block_cols;
    const std::size_t rows = g.m - i0 < block_rows ? g.m - i0 : block_rows;
    const std::size_t cols = g.n - j0 < block_cols ? g.n - j0 : block_cols;
    const float* a = g.a + entry * g.a_stride + (g.transpose_a ? i0 : i0 * g.lda);
    const float* b = g.b + entry * g.b_stride + (g.transpose_b ? j0 * g.ldb : j0);
    float* c = g.c + entry * g.c_stride + i0 * g.ldc + j0;
    gemm_serial(g.transpose_a, g.transpose_b, rows, cols, g.k, g.alpha, a, g.lda, b, g.ldb, g.beta,
                c, g.ldc);
  });
}

}  // namespace

void gemm_serial(bool transpose_a, bool transpose_b, std::size_t m, std::size_t n, std::size_t k,
                 float alpha, const float* a, std::size_t lda, const float* b, std::size_t ldb,
                 float beta, float* c, std::size_t ldc) {
  const auto& kernels = simd::kernels();
  kernels.gemm(transpose_a, transpose_b, m, n, k, alpha, a, lda, false, b, ldb, false, beta, c, ldc,
               scratch(ScratchSlot::gemm_pack_a, kernels.gemm_pack_a_floats),
               scratch(ScratchSlot::gemm_pack_b, kernels.gemm_pack_b_floats));
}

PackedA pack_a(bool transpose_a, std::size_t m, std::size_t k, const float* a, std::size_t lda) {
  const auto& kernels = simd::kernels();
  float* packed = scratch(ScratchSlot::packed_a, kernels.gemm_packed_a_floats(m, k));
  kernels.gemm_pack_a_rows(transpose_a, m, k, a, lda, 0, m, packed);
  return {packed, m, k};
}

void gemm_serial(const PackedA& a, std::size_t n, const float* b, std::size_t ldb, float beta, float* c,
                 std::size_t ldc, bool b_padded) {
  const auto& kernels = simd::kernels();
  kernels.gemm(false, false, a.m, n, a.k, 1.f, a.data, 0, true, b, ldb, b_padded, beta, c, ldc, nullptr,
               scratch(ScratchSlot::gemm_pack_b, kernels.gemm_pack_b_floats));
}

void gemm(bool transpose_a, bool transpose_b, std::size_t m, std::size_t n, std::size_t k,
          float alpha, const float* a, std::size_t lda, const float* b, std::size_t ldb, float beta,
          float* c, std::size_t ldc) {
  batched_gemm(1, {transpose_a, transpose_b, m, n, k, alpha, a, lda, 0, b, ldb, 0, beta, c, ldc, 0});
}

void matmul_forward(const float* a, const float* b, float* c, const MatmulShape& s) {
  const std::size_t lda = s.transpose_a ? s.m : s.k;
  const std::size_t ldb = s.transpose_b ? s.k : s.n;
  batched_gemm(s.batch, {s.transpose_a, s.transpose_b, s.m, s.n, s.k, 1.f, a, lda, s.m * s.k, b, ldb,
                         s.k * s.n, 0.f, c, s.n, s.m * s.n});
}

void matmul_backward(const float* a, const float* b, const float* dc, float* da, bool overwrite_da, float* db, bool overwrite_db,
                     const MatmulShape& s) {
  const std::size_t lda = s.transpose_a ? s.m : s.k;
  const std::size_t ldb = s.transpose_b ? s.k : s.n;
  const std::size_t a_size = s.m * s.k, b_size = s.k * s.n, c_size = s.m * s.n;
  const float beta_a = overwrite_da ? 0.f : 1.f, beta_b = overwrite_db ? 0.f : 1.f;
  if (da != nullptr) {
    if (!s.transpose_a) {
      // dA[m,k] += dC[m,n] op(B)^T.
      batched_gemm(s.batch, {false, !s.transpose_b, s.m, s.k, s.n, 1.f, dc, s.n, c_size, b, ldb,
                             b_size, beta_a, da, s.k, a_size});
    } else {
      // dA[k,m] += op(B)[k,n] dC^T.
      batched_gemm(s.batch, {s.transpose_b, true, s.k, s.m, s.n, 1.f, b, ldb, b_size, dc, s.n,
                             c_size, beta_a, da, s.m, a_size});
    }
  }
  if (db != nullptr) {
    if (!s.transpose_b) {
      // dB[k,n] += op(A)^T dC.
      batched_gemm(s.batch, {!s.transpose_a, false, s.k, s.n, s.m, 1.f, a, lda, a_size, dc, s.n,
                             c_size, beta_b, db, s.n, b_size});
    } else {
      // dB[n,k] += dC^T op(A).
      batched_gemm(s.batch, {true, s.transpose_a, s.n, s.k, s.m, 1.f, dc, s.n, c_size, a, lda,
                             a_size, beta_b, db, s.k, b_size});
    }
  }
}

}  // namespace ww::ops
