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

enum class ReadoutKind { factorized, fixed_mask, fully_connected, gaussian, retinotopic };
enum class GaussianCovariance { full, uncorrelated, isotropic };
// Where a nonlinear model's readout starts each neuron: at the peak of its smoothed STA (the
// paper's way), or where its STA and its contrast energy map stand out most together (which
// places complex cells, whose STA is flat; nn::map_peaks).
enum class LocationInit { sta, sta_and_energy };

struct ReadoutConfig {
  ReadoutKind kind = ReadoutKind::factorized;
  // Factorized and fixed mask: |m| and |w| in the forward pass (the V1 model's positivity).
  bool positive = false;
  // Factorized: feature weights scaled to unit L2 norm per neuron.
  bool normalize_features = false;
  bool bias = true;
  Nonlinearity output = Nonlinearity::identity;
  GaussianCovariance covariance = GaussianCovariance::full;
  LocationInit location_init = LocationInit::sta;
  float init_mu_range = 0.1f;  // Gaussian: mu ~ U(-range, range)
  float init_sigma = 1.f;      // Gaussian: Sigma = init_sigma * I
  // Retinotopic: mu_n = tanh(MLP(first coordinate_dimensions cortical coordinates of n)), the MLP
  // (position_hidden_layers layers of position_hidden_features, ELU) shared by all neurons.
  std::int64_t coordinate_dimensions = 2;
  std::int64_t position_hidden_layers = 1;
  std::int64_t position_hidden_features = 30;
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

// One recording of a model that fits several on one core: its data key and neuron count.
struct RecordingShape {
  std::string key;
  std::int64_t neurons = 0;
};

struct ModelConfig {
  std::int64_t input_height = 0, input_width = 0;
  std::int64_t neurons = 0;  // one recording (when `recordings` is empty)
  // Several recordings: one readout and normalisation per entry, all on the one core.
  std::vector<RecordingShape> recordings;
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

// The names of the enumerations, as written in configuration files: one table each.
template <class E>
struct EnumName {
  const char* name;
  E value;
};
inline constexpr EnumName<Nonlinearity> nonlinearity_names[] = {{"identity", Nonlinearity::identity},
                                                                 {"relu", Nonlinearity::relu},
                                                                 {"softplus", Nonlinearity::softplus},
                                                                 {"elu", Nonlinearity::elu}};
inline constexpr EnumName<ReadoutKind> readout_kind_names[] = {{"factorized", ReadoutKind::factorized},
                                                               {"fixed_mask", ReadoutKind::fixed_mask},
                                                               {"fully_connected", ReadoutKind::fully_connected},
                                                               {"gaussian", ReadoutKind::gaussian},
                                                               {"retinotopic", ReadoutKind::retinotopic}};
inline constexpr EnumName<GaussianCovariance> covariance_names[] = {{"full", GaussianCovariance::full},
                                                                    {"uncorrelated", GaussianCovariance::uncorrelated},
                                                                    {"isotropic", GaussianCovariance::isotropic}};
inline constexpr EnumName<LocationInit> location_init_names[] = {{"sta", LocationInit::sta},
                                                                     {"sta_and_energy", LocationInit::sta_and_energy}};
inline constexpr EnumName<LossKind> loss_names[] = {{"mse", LossKind::mse}, {"poisson", LossKind::poisson}};

template <class E, std::size_t N>
std::string name_of(const EnumName<E> (&table)[N], E value) {
  for (const EnumName<E>& entry : table)
    if (entry.value == value) return entry.name;
  return "?";
}

inline std::string to_string(Nonlinearity n) { return name_of(nonlinearity_names, n); }
inline std::string to_string(ReadoutKind k) { return name_of(readout_kind_names, k); }
inline std::string to_string(GaussianCovariance c) { return name_of(covariance_names, c); }
inline std::string to_string(LocationInit i) { return name_of(location_init_names, i); }
inline std::string to_string(LossKind l) { return name_of(loss_names, l); }

}  // namespace ww::nn
