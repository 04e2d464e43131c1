#pragma once
// Per-thread scratch memory for kernels (im2col columns, GEMM packing, partial sums).
// Buffers grow and are kept for the life of the thread, so steady-state steps allocate nothing.
// Each slot is an independent buffer; a kernel may hold several slots at once, and across a
// parallel_for only slots that none of its tasks asks for (the calling thread runs tasks too; see
// parallel.hpp).
#include <cstddef>

namespace ww::ops {

enum class ScratchSlot { gemm_pack_a, gemm_pack_b, packed_a, shared_operand, columns, column_grad, partials, channels_last, plane, image_output, transposed_b, count };

// 64-byte aligned, at least `floats` floats; contents unspecified.
float* scratch(ScratchSlot slot, std::size_t floats);

}  // namespace ww::ops
