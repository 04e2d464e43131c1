#pragma once
// Checkpoints: named texts, integers, reals and tensors in one file.
//
// Layout: the magic string "WHATWHERE-CHECKPOINT\n", a uint32 format version, a uint64 payload
// size and the payload's CRC-32 (all little-endian), then the payload, a cereal portable binary
// archive of the four maps (fixed-width types only). Saving writes a temporary file and renames
// it into place; loading refuses other magic strings, unknown versions, truncated files and
// checksum mismatches with an io::FormatError naming the file.
#include <cstdint>
#include <map>
#include <string>

#include "autodiff/tensor.hpp"
#include "io/npy.hpp"

namespace ww::io {

constexpr std::uint32_t checkpoint_format_version = 1;

struct Checkpoint {
  std::map<std::string, std::string> texts;
  std::map<std::string, std::int64_t> integers;
  std::map<std::string, double> reals;
  std::map<std::string, ad::Tensor> tensors;

  // Lookups that throw FormatError "<path>: field '<name>' is missing" when absent.
  const std::string& text(const std::string& name) const;
  std::int64_t integer(const std::string& name) const;
  double real(const std::string& name) const;
  const ad::Tensor& tensor(const std::string& name) const;
  std::string path;  // set by load_checkpoint, for messages
};

void save_checkpoint(const std::string& path, const Checkpoint& checkpoint);
Checkpoint load_checkpoint(const std::string& path);

}  // namespace ww::io
