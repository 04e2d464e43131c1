#include "nn/core.hpp"

#include <stdexcept>
#include <string>

namespace ww::nn {

Core::Core(const CoreConfig& config, std::mt19937_64& rng) : config_(config) {
  if (config.layers.empty()) throw std::invalid_argument("model: the core needs at least one layer");
  std::int64_t in_channels = config.input_channels;
  for (std::size_t i = 0; i < config.layers.size(); ++i) {
    const LayerSpec& spec = config.layers[i];
    if (spec.channels <= 0 || spec.kernel <= 0) {
      throw std::invalid_argument("model: core layer " + std::to_string(i) + " needs positive channels and kernel");
    }
    const std::string name = "layer" + std::to_string(i);
    convs_.push_back(std::make_unique<Conv2d>(in_channels, spec.channels, spec.kernel, spec.padding, rng));
    register_module(name, *convs_.back());
    norms_.push_back(spec.batch_norm ? std::make_unique<BatchNorm2d>(spec.channels, spec.bn_scale, spec.bn_center) : nullptr);
    if (norms_.back()) register_module(name, *norms_.back());
    in_channels = spec.channels;
  }
}

ad::Var Core::forward(const ad::Var& images) {
  ad::Var x = images;
  for (std::size_t i = 0; i < convs_.size(); ++i) {
    x = convs_[i]->forward(x);
    const Nonlinearity nonlinearity = config_.layers[i].nonlinearity;
    // ReLU and softplus run inside batch norm, which then stores one tensor instead of two.
    if (norms_[i] && nonlinearity == Nonlinearity::relu) {
      x = norms_[i]->forward(x, ops::Activation::relu);
    } else if (norms_[i] && nonlinearity == Nonlinearity::softplus) {
      x = norms_[i]->forward(x, ops::Activation::softplus);
    } else {
      if (norms_[i]) x = norms_[i]->forward(x);
      x = activate(x, nonlinearity);
    }
  }
  return x;
}

std::vector<ad::Var> Core::kernels() const {
  std::vector<ad::Var> result;
  for (const auto& conv : convs_) result.push_back(conv->weight());
  return result;
}

}  // namespace ww::nn
