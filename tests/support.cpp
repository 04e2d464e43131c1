#include "tests/support.hpp"

#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <filesystem>
#include <random>


namespace ww::testing {
std::string temporary_folder(const std::string& tag) {
  std::random_device entropy;
  const auto path = std::filesystem::temp_directory_path() / ("whatwhere-" + tag + "-" + std::to_string(entropy()));
  std::filesystem::create_directories(path);
  return path.string();
}

CommandResult run_command(const std::string& command) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("cannot run: " + command);
  std::string output;
  char buffer[4096];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

}  // namespace ww::testing
