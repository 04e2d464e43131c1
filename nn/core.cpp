#include "nn/core.hpp"

#include <stdexcept>
#include <string>

namespace ww::nn {

ad::Var activate(const ad::Var& x, Nonlinearity nonlinearity) {
  switch (nonlinearity) {
    case Nonlinearity::identity: return x;
    case Nonlinearity::relu: return ad::relu(x);
    case Nonlinearity::softplus: return ad::softplus(x);
    case Nonlinearity::elu: return ad::elu(x);
  }
  return x;
}

Core::Core(const CoreConfig& config, std::mt19937_64& rng) : config_(config) {
  if (config.layers.empty()) throw std::invalid_argument("model: the core needs at least one layer");
  std::normal_distribution<float> kernel_init(0.f, 0.01f);
  std::int64_t in_channels = config.input_channels;
  for (std::size_t i = 0; i < config.layers.size(); ++i) {
    const LayerSpec& spec = config.layers[i];
    if (spec.channels <= 0 || spec.kernel <= 0) {
      throw std::invalid_argument("model: core layer " + std::to_string(i) + " needs positive channels and kernel");
    }
    const std::string prefix = "layer" + std::to_string(i) + ".";
    ad::Tensor weight({spec.channels, in_channels, spec.kernel, spec.kernel});
    for (std::size_t j = 0; j < weight.numel(); ++j) weight.data()[j] = kernel_init(rng);
    Layer layer;
    layer.weight = register_parameter(prefix + "weight", weight);
    if (spec.batch_norm) {
      layer.norm = ad::BatchNormState::init(spec.channels);
      if (spec.bn_scale) layer.gamma = register_parameter(prefix + "bn_scale", ad::Tensor::full({spec.channels}, 1.f));
      if (spec.bn_center) layer.beta = register_parameter(prefix + "bn_center", ad::Tensor::zeros({spec.channels}));
      register_buffer(prefix + "running_mean", layer.norm.running_mean);
      register_buffer(prefix + "running_var", layer.norm.running_var);
    }
    layers_.push_back(layer);
    in_channels = spec.channels;
  }
}

ad::Var Core::forward(const ad::Var& images) {
  ad::Var x = images;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    Layer& layer = layers_[i];
    const LayerSpec& spec = config_.layers[i];
    x = ad::conv2d(x, layer.weight, spec.padding);
    if (spec.batch_norm) x = ad::batchnorm2d(x, layer.gamma, layer.beta, layer.norm, training());
    x = activate(x, spec.nonlinearity);
  }
  return x;
}

std::vector<ad::Var> Core::kernels() const {
  std::vector<ad::Var> result;
  for (const Layer& layer : layers_) result.push_back(layer.weight);
  return result;
}

}  // namespace ww::nn
