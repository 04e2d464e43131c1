#include "ops/isa.hpp"

#include <xsimd/xsimd.hpp>

#include <atomic>
#include <cstdlib>
#include <stdexcept>

#include "ops/simd/kernel_table.hpp"

namespace ww::ops {
namespace {

bool supported(Isa isa) {
  // xsimd 8.1 misreads plain AVX on some CPUs, so only these three sets are offered.
  const auto cpu = xsimd::available_architectures();
  switch (isa) {
    case Isa::sse2: return cpu.sse2;
    case Isa::avx2: return cpu.fma3_avx2;
    case Isa::avx512: return cpu.avx512f && cpu.avx512dq;  // xsimd 8.1 uses DQ in its avx512f code
  }
  return false;
}

const simd::KernelTable& table_for(Isa isa) {
  static const simd::KernelTable sse2 = simd::kernel_table_sse2();
  static const simd::KernelTable avx2 = simd::kernel_table_avx2();
  static const simd::KernelTable avx512 = simd::kernel_table_avx512();
  switch (isa) {
    case Isa::sse2: return sse2;
    case Isa::avx2: return avx2;
    case Isa::avx512: return avx512;
  }
  return sse2;
}

Isa initial_isa() {
  if (const char* forced = std::getenv("WW_ISA")) {
    const Isa isa = parse_isa(forced);
    if (!supported(isa)) {
      throw std::invalid_argument(std::string("WW_ISA=") + forced + ": this CPU does not support it");
    }
    return isa;
  }
  return available_isas().back();
}

std::atomic<const simd::KernelTable*>& current_table() {
  static std::atomic<const simd::KernelTable*> table{&table_for(initial_isa())};
  return table;
}

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::sse2: return "sse2";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
  }
  return "unknown";
}

Isa parse_isa(const std::string& name) {
  for (Isa isa : {Isa::sse2, Isa::avx2, Isa::avx512}) {
    if (name == isa_name(isa)) return isa;
  }
  throw std::invalid_argument("unknown instruction set '" + name + "': expected sse2, avx2 or avx512");
}

std::vector<Isa> available_isas() {
  std::vector<Isa> isas;
  for (Isa isa : {Isa::sse2, Isa::avx2, Isa::avx512}) {
    if (supported(isa)) isas.push_back(isa);
  }
  if (isas.empty()) throw std::runtime_error("this CPU lacks SSE2, which whatwhere needs");
  return isas;
}

Isa current_isa() { return parse_isa(current_table().load()->name); }

void set_isa(Isa isa) {
  if (!supported(isa)) {
    throw std::invalid_argument(std::string("set_isa: this CPU does not support ") + isa_name(isa));
  }
  current_table().store(&table_for(isa));
}

namespace simd {
const KernelTable& kernels() { return *current_table().load(std::memory_order_relaxed); }
}  // namespace simd

}  // namespace ww::ops
