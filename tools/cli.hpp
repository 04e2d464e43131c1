#pragma once
// What every tool shares: its output line by line, error reporting and the exit codes.
#include <cstdio>
#include <exception>
#include <functional>

namespace ww::tools {

enum ExitCode { ok = 0, failure = 1, bad_input = 2, diverged = 3, interrupted = 130 };

// Runs body(); an exception becomes "<tool>: error: <message>" on stderr and exit code bad_input.
// Standard output is line-buffered, so that a log it is redirected to shows each line as it is
// printed (ww-repro's first result of a full grid comes after minutes).
inline int run_tool(const char* tool, const std::function<int()>& body) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  try {
    return body();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: error: %s\n", tool, e.what());
    return bad_input;
  }
}

}  // namespace ww::tools
