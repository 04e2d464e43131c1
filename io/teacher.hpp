#pragma once
// Teacher-student data: a randomly initialised model of a given architecture (strong random
// kernels and feature weights, each neuron at a random place) responding to white-noise images.
// The ground truth for tests, the demo and sanity checks of training.
#include <cstdint>

#include "io/dataset.hpp"
#include "nn/config.hpp"

namespace ww::io {

struct TeacherData {
  Dataset train;        // noisy responses
  ad::Tensor test_images, test_truth;  // noise-free responses to fresh images
};

// config must have the input size and the neuron count set. Training responses get Gaussian noise of SD
// noise_fraction times each neuron's response SD.
TeacherData make_teacher_data(const nn::ModelConfig& config, std::int64_t train_images, std::int64_t test_images,
                              float noise_fraction, unsigned seed);

}  // namespace ww::io
