#pragma once
// Model configuration as plain data (io/config reads and writes it as JSON).
#include <cstdint>
#include <string>
#include <vector>

#include "ops/conv2d.hpp"

namespace ww::nn {

enum class Nonlinearity { identity, relu, softplus, elu };

struct LayerSpec {
  std::int64_t channels = 16;
  std::int64_t kernel = 5;
  ops::Padding padding = ops::Padding::valid;
  bool batch_norm = true;
  bool bn_center = true;  // learned shift
  bool bn_scale = true;   // learned scale
  Nonlinearity nonlinearity = Nonlinearity::relu;
};

struct CoreConfig {
  std::int64_t input_channels = 1;
  std::vector<LayerSpec> layers{LayerSpec{}};  // default: one 5x5 layer of 16 channels
};

enum class ReadoutKind { factorized, fixed_mask, fully_connected, gaussian };
enum class GaussianCovariance { full, uncorrelated, isotropic };

struct ReadoutConfig {
  ReadoutKind kind = ReadoutKind::factorized;
  // Factorized and fixed mask: |m| and |w| in the forward pass (the V1 model's positivity).
  bool positive = false;
  // Factorized: feature weights scaled to unit L2 norm per neuron.
  bool normalize_features = false;
  bool bias = true;
  Nonlinearity output = Nonlinearity::identity;
  GaussianCovariance covariance = GaussianCovariance::full;
  float init_mu_range = 0.1f;  // Gaussian: mu ~ U(-range, range)
  float init_sigma = 1.f;      // Gaussian: Sigma = init_sigma * I
};

struct PenaltyConfig {
  float smoothness = 0.f;          // Laplacian of first-layer kernels
  bool smoothness_normalized = false;  // the original V1 code's form (half L, / ||W||^2 per kernel)
  float group_sparsity = 0.f;      // hidden layers' kernels, per (out, in) pair
  float kernel_l2 = 0.f;           // all kernels
  float mask_l1 = 0.f;             // factorized: sum |m|
  float feature_l1 = 0.f;          // factorized and Gaussian: sum |w|
  float readout_product = 0.f;     // factorized V1 form: sum_n ||m_n||_1 ||w_n||_1
  float readout_l2 = 0.f;          // fully connected: sum W^2
  float activity_l1 = 0.f;         // fully connected: mean over batch of sum |r|
};

enum class LossKind { mse, poisson };

struct ModelConfig {
  std::int64_t input_height = 0, input_width = 0;
  std::int64_t neurons = 0;
  CoreConfig core;
  ReadoutConfig readout;
  PenaltyConfig penalties;
  LossKind loss = LossKind::mse;
};

// The core's output [channels, height, width] for the configured input; throws
// std::invalid_argument naming the layer when a kernel does not fit.
struct FeatureShape {
  std::int64_t channels, height, width;
};
FeatureShape core_output_shape(const ModelConfig& config);

std::string to_string(Nonlinearity n);
std::string to_string(ReadoutKind k);
std::string to_string(GaussianCovariance c);
std::string to_string(LossKind l);

}  // namespace ww::nn
