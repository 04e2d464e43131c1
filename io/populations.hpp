#pragma once
// Ground-truth populations of the paper's simulations (SPEC 4.1, 4.2), deterministic from a seed:
// difference-of-Gaussians receptive fields at random places, Gaussian white-noise stimuli, and
// Poisson-like noise y = r + N(0, |r|).
#include <cstdint>
#include <random>
#include <vector>

#include "io/dataset.hpp"

namespace ww::io {

// A receptive field: on-centre N(x; c, 2 s^2 S) - surround_weight N(x; c, 8 s^2 S) (pdfs), S the
// unit-determinant shape diag(aspect, 1/aspect) rotated by `angle`, centred `offset` pixels from
// the kernel's middle. Defaults give the paper's Fig. 3 kernel (SDs 1.41 and 2.83 px).
struct DogShape {
  double scale = 1.0, aspect = 1.0, angle = 0.0, centre_weight = 1.0, surround_weight = 2.0;
  double offset_row = 0.0, offset_col = 0.0;
};
// size x size kernel, scaled to unit L2 norm.
std::vector<float> dog_kernel(const DogShape& shape, int size);

struct PopulationConfig {
  std::int64_t neurons = 100;
  std::int64_t train_samples = 1024;       // training + validation images (ww-train holds out the last 20%)
  std::int64_t test_samples = 10000;       // fresh images with noise-free responses
  std::int64_t image_size = 48;
  int kernel_size = 17;
  bool two_types = false;                  // SPEC 4.2: half small (scale 0.6), half large (1.0), +-5% jitter
  double mean_abs_response = 0.1;          // E|r| of every neuron under white noise
  std::uint64_t seed = 1;
};

struct Population {
  Dataset train;                           // images [D, 1, S, S], noisy responses [D, N]
  ad::Tensor test_images, test_truth;      // [T, 1, S, S], noise-free [T, N]
  ad::Tensor locations;                    // [N, 2]: top-left (row, col) of each kernel = its place in the valid conv output
  ad::Tensor types;                        // [N]: 0, or 0/1 (small/large) for two types
  ad::Tensor kernels;                      // [N, k, k]: each neuron's own kernel, scaled to E|r|
};

Population make_population(const PopulationConfig& config);

// The observation noise of every simulated population: each r becomes r + sqrt|r| N(0, 1).
void add_poisson_like_noise(ad::Tensor& responses, std::mt19937_64& rng);

// Responses of neurons with kernels [N, k, k] at `locations` to images [B, 1, S, S]: [B, N].
ad::Tensor population_responses(const ad::Tensor& images, const ad::Tensor& kernels, const ad::Tensor& locations);

// The k x k patch of each image at (row, col): [B, k*k], the design matrix of per-neuron regression.
ad::Tensor crop_patches(const ad::Tensor& images, std::int64_t row, std::int64_t col, std::int64_t size);

}  // namespace ww::io
