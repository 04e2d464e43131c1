#pragma once
// What every tool shares: error reporting and the exit codes.
#include <cstdio>
#include <exception>
#include <functional>

namespace ww::tools {

enum ExitCode { ok = 0, failure = 1, bad_input = 2, diverged = 3, interrupted = 130 };

// Runs body(); an exception becomes "<tool>: error: <message>" on stderr and exit code bad_input.
inline int run_tool(const char* tool, const std::function<int()>& body) {
  try {
    return body();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: error: %s\n", tool, e.what());
    return bad_input;
  }
}

}  // namespace ww::tools
