#pragma once
// Nonlinear ground-truth populations (SPEC 4.3, the paper's Fig. 5), deterministic from a seed.
// The paper's VGG-19 units are not available, so two documented teachers stand in:
// - v1: V1-like cell types on 13x13 receptive fields. Type t is a simple cell (half-wave rectified
//   even Gabor) when t is even, a complex cell (the energy model: the sum of the squared
//   responses of a quadrature pair of Gabors) when odd; pair t/2 of P = ceil(T/2) has orientation pi (t/2) / P and spatial frequency 0.12
//   or 0.2 cycles/px alternately. With divisive normalisation each response is divided by
//   0.5 + the local Gabor energy averaged over all types.
// - random_cnn: a fixed random 3-layer CNN (5x5 kernels, 16, 16, T channels, ReLU after each,
//   He-scaled normal weights), each of its last-layer channels a type.
// Each type's units sit at random integer places of the 32x32 grid of valid positions on 44x44
// natural-image crops; responses are rescaled per type to a mean of 0.1 and observed with the
// Poisson-like noise y = r + N(0, |r|) of the linear populations.
#include <cstdint>
#include <string>

#include "io/populations.hpp"

namespace ww::io {

enum class Teacher { v1, random_cnn };

struct NonlinearPopulationConfig {
  Teacher teacher = Teacher::v1;
  std::int64_t types = 4;
  std::int64_t units_per_type = 250;
  std::int64_t train_samples = 4096;  // training + validation images (ww-train holds out the last 20%)
  std::int64_t test_samples = 4096;   // fresh images with noise-free responses
  std::int64_t image_size = 44;
  bool divisive_normalization = false;  // v1 only
  std::string photos;                 // folder of photographs; empty: dead-leaves images
  double mean_response = 0.1;
  std::uint64_t seed = 1;
};

// The teacher's receptive field is 13x13, so its grid is image_size - 12 on a side. `kernels` holds
// the v1 teacher's even Gabor of each type [T, 13, 13]; it is empty for the random CNN.
Population make_nonlinear_population(const NonlinearPopulationConfig& config);

}  // namespace ww::io
