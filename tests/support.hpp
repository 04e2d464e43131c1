#pragma once
// Support for the tests that go beyond one library: teacher-student data (io/teacher.hpp),
// temporary folders, and running commands.
#include <string>

#include "io/teacher.hpp"

namespace ww::testing {

using io::make_teacher_data;
using io::TeacherData;

// A fresh temporary folder (removed by the caller or left in /tmp on failure).
std::string temporary_folder(const std::string& tag);

struct CommandResult {
  int exit_code;       // -1 if the command did not exit normally
  std::string output;  // stdout and stderr
};
// Runs a shell command to completion, capturing its output.
CommandResult run_command(const std::string& command);

}  // namespace ww::testing
