// Kernels for sse2; this file alone is compiled with sse2's flags (see ops/meson.build).
#include "ops/simd/make_table.hpp"

namespace ww::ops::simd {
KernelTable kernel_table_sse2() { return make_table<xsimd::sse2>("sse2"); }
}  // namespace ww::ops::simd
