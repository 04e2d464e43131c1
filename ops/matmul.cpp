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
    // C overwritten, not zeroed first: zeroing readout_v1's products (5 and 11 MB) took a tenth
    // of its forward and backward.
    kernels.gemm_narrow(rows, g.n, ks, g.a + entry * g.a_stride, a_rows.data() + first, k_offsets.data() + k_first,
                        b + entry * b_stride + k_first * ldb, ldb, c, ldc, k_chunks > 1 || g.beta == 0.f);
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

// One large product packs its smaller operand once, all threads sharing the packing, then hands out
// at least 8 slices of the other (columns of B or rows of A); each task packs its slice where it runs
// and multiplies it by the shared operand. So nothing is packed twice (each of eight fixed blocks
// packed its own rows of A and columns of B: the readout's 256 x 1,000 x 1,024 A four times and B
// twice, ~15% of its time), and a slice's packed floats stay in the caches of the core that uses
// them (tiles of C from a shared pack of both ran 1.12 or 1.47 ms, at random per process, against
// 1.1-1.2 for this). Batches of products, and products whose smaller packed operand would take more
// than 32 MB, keep the blocks.
bool packed_once(std::size_t batch, const GemmArgs& g) {
  const auto& kernels = simd::kernels();
  const std::size_t smaller = std::min(kernels.gemm_packed_a_floats(g.m, g.k), kernels.gemm_packed_b_floats(g.k, g.n));
  return batch == 1 && g.m * g.n * g.k >= (std::size_t{1} << 23) && smaller <= (std::size_t{1} << 23);
}

void gemm_packed_once(const GemmArgs& g) {
  const auto& kernels = simd::kernels();
  const std::size_t a_floats = kernels.gemm_packed_a_floats(g.m, g.k), b_floats = kernels.gemm_packed_b_floats(g.k, g.n);
  const bool share_a = a_floats <= b_floats;
  float* shared = scratch(ScratchSlot::shared_operand, std::min(a_floats, b_floats));  // the tasks use other slots
  // Shared packing in parts of 96 rows or 128 columns; slices in multiples of the micro-kernel's
  // 12 rows or 32 columns, at most 96 rows or 128 columns.
  const std::size_t length = share_a ? g.n : g.m, other_length = share_a ? g.m : g.n;
  const std::size_t part = share_a ? 96 : 128, tile = share_a ? 32 : 12, longest = share_a ? 128 : 96;
  parallel_for((other_length + part - 1) / part, 1, [&](std::size_t, std::size_t index, std::size_t) {
    const std::size_t first = index * part, count = std::min(part, other_length - first);
    if (share_a) {
      kernels.gemm_pack_a_rows(g.transpose_a, g.m, g.k, g.a, g.lda, first, count, shared);
    } else {
      kernels.gemm_pack_b_columns(g.transpose_b, g.k, g.n, g.b, g.ldb, first, count, shared);
    }
  });
  const std::size_t slices = std::max<std::size_t>(8, (length + longest - 1) / longest);
  const std::size_t slice = ((length + slices - 1) / slices + tile - 1) / tile * tile;
  parallel_for((length + slice - 1) / slice, 1, [&](std::size_t, std::size_t index, std::size_t) {
    const std::size_t first = index * slice, count = std::min(slice, length - first);
    if (share_a) {
      float* b = scratch(ScratchSlot::gemm_pack_b, kernels.gemm_packed_b_floats(g.k, count));
      kernels.gemm_pack_b_columns(g.transpose_b, g.k, count, g.transpose_b ? g.b + first * g.ldb : g.b + first, g.ldb, 0, count, b);
      kernels.gemm_packed(g.m, count, g.k, g.alpha, shared, b, g.beta, g.c + first, g.ldc);
    } else {
      float* a = scratch(ScratchSlot::gemm_pack_a, kernels.gemm_packed_a_floats(count, g.k));
      kernels.gemm_pack_a_rows(g.transpose_a, count, g.k, g.transpose_a ? g.a + first : g.a + first * g.lda, g.lda, 0, count, a);
      kernels.gemm_packed(count, g.n, g.k, g.alpha, a, shared, g.beta, g.c + first * g.ldc, g.ldc);
    }
  });
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
