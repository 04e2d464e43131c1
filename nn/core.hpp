#pragma once
// The shared convolutional core: conv (no bias) -> batch norm -> nonlinearity, per layer spec.
#include <random>
#include <vector>

#include "autodiff/functions.hpp"
#include "nn/config.hpp"
#include "nn/module.hpp"

namespace ww::nn {

ad::Var activate(const ad::Var& x, Nonlinearity nonlinearity);

class Core : public Module {
 public:
  // Kernels ~ N(0, 0.01^2); BN scale 1, shift 0, running mean 0, variance 1.
  Core(const CoreConfig& config, std::mt19937_64& rng);
  // images [B, input_channels, H, W] -> [B, K, H', W'].
  ad::Var forward(const ad::Var& images);
  // The kernel of each layer, [out, in, k, k].
  std::vector<ad::Var> kernels() const;
  const CoreConfig& config() const { return config_; }

 private:
  struct Layer {
    ad::Var weight, gamma, beta;  // gamma/beta undefined when BN scale/centre are off
    ad::BatchNormState norm;
  };
  CoreConfig config_;
  std::vector<Layer> layers_;
};

}  // namespace ww::nn
