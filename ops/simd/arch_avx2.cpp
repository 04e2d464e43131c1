// Kernels for avx2; this file alone is compiled with avx2's flags (see ops/meson.build).
#include "ops/simd/make_table.hpp"

namespace ww::ops::simd {
KernelTable kernel_table_avx2() { return make_table<xsimd::fma3<xsimd::avx2>>("avx2"); }
}  // namespace ww::ops::simd
