#pragma once
// The shared convolutional core: conv (no bias) -> batch norm -> nonlinearity, per layer spec.
#include <memory>
#include <random>
#include <vector>

#include "nn/layers.hpp"

namespace ww::nn {

class Core : public Module {
 public:
  // Kernels ~ N(0, 0.01^2); BN scale 1, shift 0, running mean 0, variance 1. Layer i's entries
  // are named "layer<i>.weight", "layer<i>.bn_scale", ...
  Core(const CoreConfig& config, std::mt19937_64& rng);
  // images [B, input_channels, H, W] -> [B, K, H', W'].
  ad::Var forward(const ad::Var& images);
  // The kernel of each layer, [out, in, k, k].
  std::vector<ad::Var> kernels() const;
  const CoreConfig& config() const { return config_; }

 private:
  CoreConfig config_;
  std::vector<std::unique_ptr<Conv2d>> convs_;
  std::vector<std::unique_ptr<BatchNorm2d>> norms_;  // null where a layer has no batch norm
};

}  // namespace ww::nn
