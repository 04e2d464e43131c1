#pragma once
// Whole-file reads and atomic writes (a temporary file in the same folder, flushed, then renamed
// over the target, so a crash never leaves a half-written file).
#include <string>
#include <vector>

namespace ww::io {

std::vector<char> read_file(const std::string& path);
void write_file_atomically(const std::string& path, const std::string& bytes);

}  // namespace ww::io
