// Kernels for avx512; this file alone is compiled with avx512's flags (see ops/meson.build).
#include "ops/simd/make_table.hpp"

namespace ww::ops::simd {
KernelTable kernel_table_avx512() { return make_table<xsimd::avx512f>("avx512"); }
}  // namespace ww::ops::simd
