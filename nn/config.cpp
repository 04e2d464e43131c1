#include "nn/config.hpp"

#include <stdexcept>

namespace ww::nn {

FeatureShape core_output_shape(const ModelConfig& config) {
  FeatureShape s{config.core.input_channels, config.input_height, config.input_width};
  for (std::size_t i = 0; i < config.core.layers.size(); ++i) {
    const LayerSpec& layer = config.core.layers[i];
    if (layer.padding == ops::Padding::valid) {
      if (layer.kernel > s.height || layer.kernel > s.width) {
        throw std::invalid_argument("model: core layer " + std::to_string(i) + " has a " + std::to_string(layer.kernel) +
                                    "x" + std::to_string(layer.kernel) + " kernel but its input is only " +
                                    std::to_string(s.height) + "x" + std::to_string(s.width));
      }
      s.height -= layer.kernel - 1;
      s.width -= layer.kernel - 1;
    }
    s.channels = layer.channels;
  }
  return s;
}

std::string to_string(Nonlinearity n) {
  switch (n) {
    case Nonlinearity::identity: return "identity";
    case Nonlinearity::relu: return "relu";
    case Nonlinearity::softplus: return "softplus";
    case Nonlinearity::elu: return "elu";
  }
  return "?";
}

std::string to_string(ReadoutKind k) {
  switch (k) {
    case ReadoutKind::factorized: return "factorized";
    case ReadoutKind::fixed_mask: return "fixed_mask";
    case ReadoutKind::fully_connected: return "fully_connected";
    case ReadoutKind::gaussian: return "gaussian";
  }
  return "?";
}

std::string to_string(GaussianCovariance c) {
  switch (c) {
    case GaussianCovariance::full: return "full";
    case GaussianCovariance::uncorrelated: return "uncorrelated";
    case GaussianCovariance::isotropic: return "isotropic";
  }
  return "?";
}

std::string to_string(LossKind l) { return l == LossKind::mse ? "mse" : "poisson"; }

}  // namespace ww::nn
