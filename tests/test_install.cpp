// The installed library: `meson install` into a staging folder, then the README's embedding
// example is compiled against it with pkg-config alone, and run.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "tests/support.hpp"

TEST_CASE("a program builds and runs against the installed library and its pkg-config file") {
#ifdef WW_SANITIZED
  MESSAGE("skipped in the sanitizer build: its libraries need the sanitizer runtime in every program");
  return;
#else
  const std::string stage = ww::testing::temporary_folder("install");
  const std::string build = WW_BUILD_DIR, source = WW_SOURCE_DIR;
  auto sh = [](const std::string& command) {
    INFO(command);
    return std::system(command.c_str());
  };
  REQUIRE(sh("meson install -C '" + build + "' --destdir '" + stage + "' --no-rebuild --quiet > '" + stage + "/install.log' 2>&1") == 0);
  const std::string prefix = stage + "/usr/local";
  std::string pc_dir;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(stage))
    if (entry.path().filename() == "whatwhere.pc") pc_dir = entry.path().parent_path().string();
  REQUIRE_FALSE(pc_dir.empty());
  const std::string pkg = "PKG_CONFIG_PATH='" + pc_dir + "' pkg-config --define-variable=prefix='" + prefix + "' ";
  const std::string compile = "g++ -std=c++17 '" + source + "/examples/embed.cpp' -o '" + stage + "/embed' $(" + pkg +
                              "--cflags whatwhere) $(" + pkg + "--libs whatwhere) 2> '" + stage + "/compile.log'";
  CHECK(sh(compile) == 0);
  // A staged install is not in the loader's search path; a real one under /usr/local is.
  CHECK(sh("LD_LIBRARY_PATH='" + pc_dir + "/..' '" + stage + "/embed' '" + stage + "/embed.wwc' > '" + stage +
           "/run.log' 2>&1") == 0);
  CHECK(std::filesystem::exists(stage + "/embed.wwc"));
  std::filesystem::remove_all(stage);
#endif
}
