#include "io/checkpoint.hpp"

#include <cereal/archives/portable_binary.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <zlib.h>

#include <cstring>
#include <sstream>

#include "io/atomic_file.hpp"

namespace ww::io {
namespace {

constexpr char magic[] = "WHATWHERE-CHECKPOINT\n";
constexpr std::size_t magic_size = sizeof(magic) - 1;
constexpr std::size_t header_size = magic_size + 4 + 8 + 4;

// A tensor as fixed-width values.
struct StoredTensor {
  std::vector<std::int64_t> shape;
  std::vector<float> values;
  template <class Archive>
  void serialize(Archive& archive) {
    archive(shape, values);
  }
};

void put_le(std::string& out, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out += static_cast<char>((value >> (8 * i)) & 0xff);
}

std::uint64_t get_le(const char* p, int bytes) {
  std::uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value |= static_cast<std::uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return value;
}

std::uint32_t checksum(const char* data, std::size_t size) {
  return static_cast<std::uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(data), static_cast<uInt>(size)));
}

template <class Map>
const typename Map::mapped_type& field(const Map& map, const std::string& name, const std::string& path) {
  const auto found = map.find(name);
  if (found == map.end()) throw FormatError(path + ": field '" + name + "' is missing from the checkpoint");
  return found->second;
}

}  // namespace

const std::string& Checkpoint::text(const std::string& name) const { return field(texts, name, path); }
std::int64_t Checkpoint::integer(const std::string& name) const { return field(integers, name, path); }
double Checkpoint::real(const std::string& name) const { return field(reals, name, path); }
const ad::Tensor& Checkpoint::tensor(const std::string& name) const { return field(tensors, name, path); }

void save_checkpoint(const std::string& path, const Checkpoint& checkpoint) {
  std::map<std::string, StoredTensor> stored;
  for (const auto& [name, tensor] : checkpoint.tensors) {
    stored[name] = {tensor.shape(), std::vector<float>(tensor.data(), tensor.data() + tensor.numel())};
  }
  std::ostringstream payload_stream;
  {
    cereal::PortableBinaryOutputArchive archive(payload_stream);
    archive(checkpoint.texts, checkpoint.integers, checkpoint.reals, stored);
  }
  const std::string payload = payload_stream.str();
  std::string bytes(magic, magic_size);
  put_le(bytes, checkpoint_format_version, 4);
  put_le(bytes, payload.size(), 8);
  put_le(bytes, checksum(payload.data(), payload.size()), 4);
  bytes += payload;
  write_file_atomically(path, bytes);
}

Checkpoint load_checkpoint(const std::string& path) {
  const std::vector<char> bytes = read_file(path);
  if (bytes.size() < magic_size || std::memcmp(bytes.data(), magic, magic_size) != 0) {
    throw FormatError(path + ": not a whatwhere checkpoint (the magic string is missing)");
  }
  if (bytes.size() < header_size) throw FormatError(path + ": truncated inside the checkpoint header");
  const auto version = static_cast<std::uint32_t>(get_le(bytes.data() + magic_size, 4));
  if (version != checkpoint_format_version) {
    throw FormatError(path + ": checkpoint format version " + std::to_string(version) +
                      " is not supported (this build reads version " + std::to_string(checkpoint_format_version) + ")");
  }
  const std::uint64_t payload_size = get_le(bytes.data() + magic_size + 4, 8);
  const auto expected_crc = static_cast<std::uint32_t>(get_le(bytes.data() + magic_size + 12, 4));
  if (bytes.size() - header_size != payload_size) {
    throw FormatError(path + ": truncated or padded: the header announces " + std::to_string(payload_size) +
                      " payload bytes, the file has " + std::to_string(bytes.size() - header_size));
  }
  const char* payload = bytes.data() + header_size;
  if (checksum(payload, payload_size) != expected_crc) {
    throw FormatError(path + ": corrupted: the payload's CRC-32 does not match the header");
  }
  Checkpoint checkpoint;
  checkpoint.path = path;
  std::map<std::string, StoredTensor> stored;
  try {
    std::istringstream in(std::string(payload, payload_size));
    cereal::PortableBinaryInputArchive archive(in);
    archive(checkpoint.texts, checkpoint.integers, checkpoint.reals, stored);
  } catch (const std::exception& e) {
    throw FormatError(path + ": corrupted payload (" + e.what() + ")");
  }
  for (auto& [name, s] : stored) {
    std::size_t count = 1;
    for (std::int64_t d : s.shape) count *= static_cast<std::size_t>(d < 0 ? 0 : d);
    if (count != s.values.size()) {
      throw FormatError(path + ": tensor '" + name + "' has " + std::to_string(s.values.size()) +
                        " values for shape " + ad::shape_string(s.shape));
    }
    checkpoint.tensors.emplace(name, ad::Tensor::from_values(s.shape, s.values));
  }
  return checkpoint;
}

}  // namespace ww::io
