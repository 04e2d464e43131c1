#include "io/npy.hpp"

#include <algorithm>
#include <zip.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <sstream>

#include "io/atomic_file.hpp"

namespace ww::io {
namespace {

constexpr char magic[] = "\x93NUMPY";
constexpr std::size_t magic_size = 6;

struct DTypeInfo {
  const char* code;  // without the byte-order character
  DType dtype;
  std::size_t size;
};
constexpr DTypeInfo dtypes[] = {{"f4", DType::f4, 4}, {"f8", DType::f8, 8}, {"u1", DType::u1, 1}, {"i1", DType::i1, 1},
                                {"u2", DType::u2, 2}, {"i2", DType::i2, 2}, {"u4", DType::u4, 4}, {"i4", DType::i4, 4},
                                {"u8", DType::u8, 8}, {"i8", DType::i8, 8}, {"b1", DType::b1, 1}};

// The header dictionary, e.g. {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
struct Header {
  std::string descr;
  bool fortran_order = false;
  std::vector<std::int64_t> shape;
  bool has_descr = false, has_order = false, has_shape = false;
};

class HeaderParser {
 public:
  HeaderParser(const std::string& origin, const std::string& text) : origin_(origin), text_(text) {}

  Header parse() {
    Header h;
    expect('{');
    while (true) {
      skip_space();
      if (peek() == '}') break;
      const std::string key = quoted();
      expect(':');
      skip_space();
      if (key == "descr") {
        h.descr = quoted();
        h.has_descr = true;
      } else if (key == "fortran_order") {
        h.fortran_order = boolean();
        h.has_order = true;
      } else if (key == "shape") {
        h.shape = tuple();
        h.has_shape = true;
      } else {
        fail("unknown header key '" + key + "' (expected descr, fortran_order, shape)");
      }
      skip_space();
      if (peek() == ',') ++pos_;
    }
    if (!h.has_descr || !h.has_order || !h.has_shape) fail("header lacks one of 'descr', 'fortran_order', 'shape'");
    return h;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw FormatError(origin_ + ": header: " + what + " in " + text_);
  }
  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  char peek() const {
    if (pos_ >= text_.size()) fail("unexpected end");
    return text_[pos_];
  }
  void expect(char c) {
    skip_space();
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++pos_;
  }
  std::string quoted() {
    skip_space();
    const char quote = peek();
    if (quote != '\'' && quote != '"') fail("expected a quoted string");
    const std::size_t end = text_.find(quote, pos_ + 1);
    if (end == std::string::npos) fail("unterminated string");
    std::string value = text_.substr(pos_ + 1, end - pos_ - 1);
    pos_ = end + 1;
    return value;
  }
  bool boolean() {
    if (text_.compare(pos_, 4, "True") == 0) {
      pos_ += 4;
      return true;
    }
    if (text_.compare(pos_, 5, "False") == 0) {
      pos_ += 5;
      return false;
    }
    fail("'fortran_order' must be True or False");
  }
  std::vector<std::int64_t> tuple() {
    expect('(');
    std::vector<std::int64_t> values;
    while (true) {
      skip_space();
      if (peek() == ')') {
        ++pos_;
        return values;
      }
      std::size_t used = 0;
      long long value = 0;
      try {
        value = std::stoll(text_.substr(pos_), &used);
      } catch (const std::exception&) {
        fail("'shape' must be a tuple of non-negative integers");
      }
      if (value < 0) fail("'shape' has a negative dimension");
      values.push_back(value);
      pos_ += used;
      skip_space();
      if (peek() == ',') ++pos_;
    }
  }

  const std::string& origin_;
  const std::string& text_;
  std::size_t pos_ = 0;
};

std::uint32_t read_le(const unsigned char* p, std::size_t bytes) {
  std::uint32_t value = 0;
  for (std::size_t i = 0; i < bytes; ++i) value |= static_cast<std::uint32_t>(p[i]) << (8 * i);
  return value;
}

template <class T>
T element(const char* data, std::size_t i) {
  T value;
  std::memcpy(&value, data + i * sizeof(T), sizeof(T));
  return value;
}

// Calls f(index, double value) for every element of a numeric array.
template <class F>
void each_number(const NpyArray& a, F&& f) {
  const std::size_t n = a.numel();
  const char* d = a.data.data();
  for (std::size_t i = 0; i < n; ++i) {
    switch (a.dtype) {
      case DType::f4: f(i, element<float>(d, i)); break;
      case DType::f8: f(i, element<double>(d, i)); break;
      case DType::u1: f(i, element<std::uint8_t>(d, i)); break;
      case DType::i1: f(i, element<std::int8_t>(d, i)); break;
      case DType::u2: f(i, element<std::uint16_t>(d, i)); break;
      case DType::i2: f(i, element<std::int16_t>(d, i)); break;
      case DType::u4: f(i, element<std::uint32_t>(d, i)); break;
      case DType::i4: f(i, element<std::int32_t>(d, i)); break;
      case DType::u8: f(i, static_cast<double>(element<std::uint64_t>(d, i))); break;
      case DType::i8: f(i, static_cast<double>(element<std::int64_t>(d, i))); break;
      case DType::b1: f(i, element<std::uint8_t>(d, i) != 0 ? 1.0 : 0.0); break;
      case DType::unicode: throw FormatError(a.origin + ": dtype: a string array where numbers were expected");
    }
  }
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string text = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) text += std::to_string(shape[i]) + (shape.size() == 1 || i + 1 < shape.size() ? "," : "");
  return text + ")";
}

// A format 1.0 file: magic, version, header dictionary padded so the data starts at a multiple of 64 bytes.
std::string npy_file(const std::string& descr, const std::vector<std::int64_t>& shape, const char* data, std::size_t size) {
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape_text(shape) + ", }";
  const std::size_t unpadded = magic_size + 2 + 2 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::string bytes(magic, magic_size);
  bytes += static_cast<char>(1);
  bytes += static_cast<char>(0);
  bytes += static_cast<char>(header.size() & 0xff);
  bytes += static_cast<char>((header.size() >> 8) & 0xff);
  bytes += header;
  bytes.append(data, size);
  return bytes;
}

}  // namespace

std::size_t NpyArray::numel() const {
  std::size_t n = 1;
  for (std::int64_t d : shape) n *= static_cast<std::size_t>(d);
  return n;
}

ad::Tensor NpyArray::to_tensor() const {
  ad::Tensor t(shape);
  float* out = t.data();
  each_number(*this, [out](std::size_t i, double v) { out[i] = static_cast<float>(v); });
  return t;
}

std::vector<std::int64_t> NpyArray::to_integers() const {
  if (dtype == DType::f4 || dtype == DType::f8) throw FormatError(origin + ": dtype: floats where integers were expected");
  if (dtype == DType::u8 || dtype == DType::i8) {
    std::vector<std::int64_t> values(numel());
    std::memcpy(values.data(), data.data(), values.size() * 8);
    return values;
  }
  std::vector<std::int64_t> values(numel());
  each_number(*this, [&values](std::size_t i, double v) { values[i] = static_cast<std::int64_t>(v); });
  return values;
}

std::vector<std::string> NpyArray::to_strings() const {
  if (dtype != DType::unicode) throw FormatError(origin + ": dtype: numbers where strings were expected");
  std::vector<std::string> values;
  const std::size_t chars = item_size / 4;
  for (std::size_t i = 0; i < numel(); ++i) {
    std::string s;
    for (std::size_t c = 0; c < chars; ++c) {
      const std::uint32_t cp = read_le(reinterpret_cast<const unsigned char*>(data.data()) + (i * chars + c) * 4, 4);
      if (cp == 0) break;
      if (cp < 0x80) {
        s += static_cast<char>(cp);
      } else if (cp < 0x800) {
        s += static_cast<char>(0xC0 | (cp >> 6));
        s += static_cast<char>(0x80 | (cp & 0x3F));
      } else if (cp < 0x10000) {
        s += static_cast<char>(0xE0 | (cp >> 12));
        s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        s += static_cast<char>(0x80 | (cp & 0x3F));
      } else {
        s += static_cast<char>(0xF0 | (cp >> 18));
        s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        s += static_cast<char>(0x80 | (cp & 0x3F));
      }
    }
    values.push_back(s);
  }
  return values;
}

NpyArray parse_npy(const std::string& origin, const char* bytes, std::size_t size) {
  const auto* u = reinterpret_cast<const unsigned char*>(bytes);
  if (size < magic_size + 2 || std::memcmp(bytes, magic, magic_size) != 0) {
    throw FormatError(origin + ": not a .npy file (missing the \\x93NUMPY magic string)");
  }
  const int major = u[6];
  if (major < 1 || major > 3) {
    throw FormatError(origin + ": format version " + std::to_string(major) + "." + std::to_string(u[7]) +
                      " is not supported (expected 1.0, 2.0 or 3.0)");
  }
  const std::size_t length_bytes = major == 1 ? 2 : 4;
  if (size < 8 + length_bytes) throw FormatError(origin + ": truncated before the header length");
  const std::size_t header_length = read_le(u + 8, length_bytes);
  const std::size_t data_offset = 8 + length_bytes + header_length;
  if (size < data_offset) {
    throw FormatError(origin + ": truncated inside the header (needs " + std::to_string(data_offset) + " bytes, file has " +
                      std::to_string(size) + ")");
  }
  const std::string text(bytes + 8 + length_bytes, header_length);
  const Header h = HeaderParser(origin, text).parse();
  if (h.fortran_order) throw FormatError(origin + ": fortran_order: Fortran-ordered arrays are not supported (expected C order)");

  NpyArray a;
  a.origin = origin;
  a.shape = h.shape;
  const char order = h.descr.empty() ? '?' : h.descr[0];
  const std::string code = h.descr.size() > 1 ? h.descr.substr(1) : "";
  if (order == '>' && code != "u1" && code != "i1" && code != "b1") {
    throw FormatError(origin + ": descr '" + h.descr + "': big-endian data is not supported (expected '<')");
  }
  if (order != '<' && order != '|' && order != '=' && order != '>') {
    throw FormatError(origin + ": descr '" + h.descr + "' is not a plain numeric or unicode dtype");
  }
  bool known = false;
  for (const DTypeInfo& info : dtypes) {
    if (code == info.code) {
      a.dtype = info.dtype;
      a.item_size = info.size;
      known = true;
    }
  }
  if (!known && !code.empty() && code[0] == 'U') {
    a.dtype = DType::unicode;
    a.item_size = 4 * static_cast<std::size_t>(std::stoul(code.substr(1)));
    known = true;
  }
  if (!known) {
    throw FormatError(origin + ": descr '" + h.descr + "' is not supported (expected f4, f8, u1, i1, u2, i2, u4, i4, u8, i8, b1 or U)");
  }
  const std::size_t expected = a.numel() * a.item_size;
  if (size - data_offset < expected) {
    throw FormatError(origin + ": truncated: shape " + shape_text(a.shape) + " of '" + h.descr + "' needs " +
                      std::to_string(expected) + " data bytes, the file has " + std::to_string(size - data_offset));
  }
  if (size - data_offset > expected) {
    throw FormatError(origin + ": " + std::to_string(size - data_offset - expected) +
                      " unexpected bytes after the data of shape " + shape_text(a.shape));
  }
  a.data.assign(bytes + data_offset, bytes + data_offset + expected);
  return a;
}

NpyArray read_npy(const std::string& path) {
  const std::vector<char> bytes = read_file(path);
  return parse_npy(path, bytes.data(), bytes.size());
}

std::map<std::string, NpyArray> read_npz(const std::string& path) {
  int error = 0;
  std::unique_ptr<zip_t, int (*)(zip_t*)> archive(zip_open(path.c_str(), ZIP_RDONLY, &error), zip_close);
  if (!archive) {
    zip_error_t z;
    zip_error_init_with_code(&z, error);
    const std::string message = zip_error_strerror(&z);
    zip_error_fini(&z);
    throw FormatError(path + ": not a readable .npz (zip) file: " + message);
  }
  std::map<std::string, NpyArray> arrays;
  const zip_int64_t entries = zip_get_num_entries(archive.get(), 0);
  for (zip_int64_t i = 0; i < entries; ++i) {
    zip_stat_t stat;
    if (zip_stat_index(archive.get(), static_cast<zip_uint64_t>(i), 0, &stat) != 0) {
      throw FormatError(path + ": entry " + std::to_string(i) + ": unreadable zip directory entry");
    }
    std::string name = stat.name;
    const std::string origin = path + ":" + name;
    std::unique_ptr<zip_file_t, int (*)(zip_file_t*)> file(zip_fopen_index(archive.get(), static_cast<zip_uint64_t>(i), 0),
                                                           zip_fclose);
    if (!file) throw FormatError(origin + ": cannot open inside the archive: " + zip_strerror(archive.get()));
    std::vector<char> bytes(stat.size);
    const zip_int64_t read = zip_fread(file.get(), bytes.data(), stat.size);
    if (read < 0 || static_cast<zip_uint64_t>(read) != stat.size) {
      throw FormatError(origin + ": truncated or corrupted inside the archive (read " + std::to_string(read) + " of " +
                        std::to_string(stat.size) + " bytes)");
    }
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".npy") == 0) name.resize(name.size() - 4);
    arrays.emplace(name, parse_npy(origin, bytes.data(), bytes.size()));
  }
  return arrays;
}

std::string npy_bytes(const ad::Tensor& tensor) {
  return npy_file("<f4", tensor.shape(), reinterpret_cast<const char*>(tensor.data()), tensor.numel() * sizeof(float));
}

std::string npy_bytes(const std::vector<std::string>& strings) {
  std::size_t width = 1;
  for (const std::string& text : strings) width = std::max(width, text.size());
  std::string data(strings.size() * width * 4, '\0');  // UTF-32 little-endian, NUL-padded
  for (std::size_t i = 0; i < strings.size(); ++i)
    for (std::size_t c = 0; c < strings[i].size(); ++c) {
      if (static_cast<unsigned char>(strings[i][c]) >= 128) throw FormatError("npy: only ASCII strings are written (\"" + strings[i] + "\")");
      data[(i * width + c) * 4] = strings[i][c];
    }
  return npy_file("<U" + std::to_string(width), {static_cast<std::int64_t>(strings.size())}, data.data(), data.size());
}

void write_npy(const std::string& path, const ad::Tensor& tensor) { write_file_atomically(path, npy_bytes(tensor)); }

void write_npz(const std::string& path, const std::vector<std::pair<std::string, ad::Tensor>>& arrays, bool compress) {
  std::vector<std::pair<std::string, std::string>> files;
  for (const auto& [name, tensor] : arrays) files.emplace_back(name, npy_bytes(tensor));
  write_npz_files(path, files, compress);
}

void write_npz_files(const std::string& path, const std::vector<std::pair<std::string, std::string>>& files, bool compress) {
  const std::string temporary = path + ".tmp.npz";
  int error = 0;
  zip_t* archive = zip_open(temporary.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &error);
  if (archive == nullptr) throw FormatError(path + ": cannot create the archive");
  for (const auto& [name, bytes] : files) {  // `files` stays alive until zip_close writes it
    zip_source_t* source = zip_source_buffer(archive, bytes.data(), bytes.size(), 0);
    const zip_int64_t index = source ? zip_file_add(archive, (name + ".npy").c_str(), source, ZIP_FL_OVERWRITE) : -1;
    if (index < 0) {
      if (source) zip_source_free(source);
      zip_discard(archive);
      throw FormatError(path + ": cannot add '" + name + "'");
    }
    zip_set_file_compression(archive, static_cast<zip_uint64_t>(index), compress ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0);
  }
  if (zip_close(archive) != 0) {
    const std::string message = zip_strerror(archive);
    zip_discard(archive);
    throw FormatError(path + ": writing the archive failed: " + message);
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) throw FormatError(path + ": could not rename the archive into place");
}

void require_finite(const ad::Tensor& tensor, const std::string& origin) {
  const float* d = tensor.data();
  for (std::size_t i = 0; i < tensor.numel(); ++i) {
    if (std::isfinite(d[i])) continue;
    std::string index;
    std::size_t rest = i;
    for (std::size_t axis = tensor.rank(); axis-- > 0;) {
      const auto dim = static_cast<std::size_t>(tensor.shape()[axis]);
      index = std::to_string(rest % dim) + (index.empty() ? "" : "," + index);
      rest /= dim;
    }
    throw FormatError(origin + ": element [" + index + "] is " + (std::isnan(d[i]) ? "NaN" : "infinite") +
                      " (the data must be finite)");
  }
}

}  // namespace ww::io
