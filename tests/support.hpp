#pragma once
// Support for the tests that go beyond one library: teacher-student data (a randomly initialised
// model of a given architecture, neurons at random places, responding to white-noise images),
// temporary folders, and running commands.
#include <string>

#include "io/config.hpp"
#include "io/dataset.hpp"

namespace ww::testing {

struct TeacherData {
  io::Dataset train;    // noisy responses
  ad::Tensor test_images, test_truth;  // noise-free responses to fresh images
};

// config.model must have input size and neurons set. Training responses get Gaussian noise of SD
// noise_fraction times each neuron's response SD.
TeacherData make_teacher_data(const nn::ModelConfig& config, std::int64_t train_images, std::int64_t test_images,
                              float noise_fraction, unsigned seed);

// A fresh temporary folder (removed by the caller or left in /tmp on failure).
std::string temporary_folder(const std::string& tag);

struct CommandResult {
  int exit_code;       // -1 if the command did not exit normally
  std::string output;  // stdout and stderr
};
// Runs a shell command to completion, capturing its output.
CommandResult run_command(const std::string& command);

}  // namespace ww::testing
