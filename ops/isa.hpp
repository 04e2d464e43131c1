#pragma once
// Instruction-set choice for every kernel in ops/.
// The best set the CPU supports is chosen at start-up; it can be forced (tests, benchmarks)
// with set_isa() or the environment variable WW_ISA=avx512|avx2|sse2.
#include <string>
#include <vector>

namespace ww::ops {

enum class Isa { sse2, avx2, avx512 };

const char* isa_name(Isa isa);
// Parses "sse2", "avx2" or "avx512"; throws std::invalid_argument naming the accepted values.
Isa parse_isa(const std::string& name);
// Sets supported by this CPU, in increasing order.
std::vector<Isa> available_isas();
Isa current_isa();
// Throws std::invalid_argument when the CPU does not support `isa`.
void set_isa(Isa isa);

}  // namespace ww::ops
