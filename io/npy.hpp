#pragma once
// NumPy .npy (format versions 1.0, 2.0, 3.0; little-endian or byte-order-free dtypes; C order)
// and .npz (a zip of .npy files, stored or deflated; libzip).
//
// Every error is an io::FormatError whose message starts with the file (and the array inside an
// .npz) and says which field is wrong and what was expected.
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "autodiff/tensor.hpp"

namespace ww::io {

struct FormatError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class DType { f4, f8, u1, i1, u2, i2, u4, i4, u8, i8, b1, unicode };

struct NpyArray {
  std::string origin;  // "file.npy" or "file.npz:name.npy", for messages
  std::vector<std::int64_t> shape;
  DType dtype = DType::f4;
  std::size_t item_size = 4;  // bytes per element (unicode: 4 * characters)
  std::vector<char> data;     // C order, little-endian

  std::size_t numel() const;
  // Numbers converted to float32 (bool as 0/1). Throws for unicode arrays.
  ad::Tensor to_tensor() const;
  // Integers (and bools) as int64; throws for floats and unicode.
  std::vector<std::int64_t> to_integers() const;
  // Unicode strings (trailing NULs removed; non-ASCII as UTF-8); throws for numbers.
  std::vector<std::string> to_strings() const;
};

NpyArray read_npy(const std::string& path);
// Parses an in-memory .npy file; `origin` names it in errors.
NpyArray parse_npy(const std::string& origin, const char* bytes, std::size_t size);
// Every array of an .npz by key (the entry name without ".npy").
std::map<std::string, NpyArray> read_npz(const std::string& path);

// The bytes of a .npy file (format 1.0): float32 little-endian, or strings as '<U<longest>' (ASCII).
std::string npy_bytes(const ad::Tensor& tensor);
std::string npy_bytes(const std::vector<std::string>& strings);
// Written to a temporary file renamed into place.
void write_npy(const std::string& path, const ad::Tensor& tensor);
void write_npz(const std::string& path, const std::vector<std::pair<std::string, ad::Tensor>>& arrays,
               bool compress = true);
// An .npz of ready .npy files by key (e.g. from npy_bytes).
void write_npz_files(const std::string& path, const std::vector<std::pair<std::string, std::string>>& files, bool compress = true);

// Throws FormatError "<origin>: element [i,j,...] is NaN/Inf" at the first non-finite value.
void require_finite(const ad::Tensor& tensor, const std::string& origin);

}  // namespace ww::io
