#pragma once
// Per-thread scratch memory for kernels (im2col columns, GEMM packing, partial sums).
// Buffers grow and are kept for the life of the thread, so steady-state steps allocate nothing.
// Each slot is an independent buffer; a kernel may hold several slots at once but must not
// hold a slot across a parallel_for (see parallel.hpp).
#include <cstddef>

namespace ww::ops {

enum class ScratchSlot { gemm_pack_a, gemm_pack_b, packed_a, columns, column_grad, partials, channels_last, plane, wide_output, transposed_b, count };

// 64-byte aligned, at least `floats` floats; contents unspecified.
float* scratch(ScratchSlot slot, std::size_t floats);

}  // namespace ww::ops
