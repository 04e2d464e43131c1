#pragma once
// The core's building blocks as modules, for programs that assemble their own models:
// a bias-free convolution, batch normalisation, and the nonlinearities.
#include <memory>
#include <random>

#include "autodiff/functions.hpp"
#include "nn/config.hpp"
#include "nn/module.hpp"

namespace ww::nn {

// identity, ReLU, softplus or ELU (alpha 1) applied elementwise.
ad::Var activate(const ad::Var& x, Nonlinearity nonlinearity);

// Stride-1 convolution without bias (batch normalisation follows it). Parameter "weight"
// [out, in, kernel, kernel] ~ N(0, init_sd^2).
class Conv2d : public Module {
 public:
  Conv2d(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel, ops::Padding padding, std::mt19937_64& rng,
         float init_sd = 0.01f);
  ad::Var forward(const ad::Var& x) const { return ad::conv2d(x, weight_, padding_); }
  const ad::Var& weight() const { return weight_; }

 private:
  ad::Var weight_;
  ops::Padding padding_;
};

// Batch normalisation over [B, C, H, W] (or [B, C]): batch statistics in training, which also
// update the running ones (buffers "running_mean", "running_var"); running statistics in
// evaluation. Parameters "bn_scale" (1) and "bn_center" (0), each optional.
class BatchNorm2d : public Module {
 public:
  BatchNorm2d(std::int64_t channels, bool scale, bool center);
  // activation: relu or softplus applied within the op (ad::batchnorm2d).
  ad::Var forward(const ad::Var& x, ops::Activation activation = ops::Activation::identity) {
    return ad::batchnorm2d(x, gamma_, beta_, state_, training(), activation);
  }

 private:
  ad::Var gamma_, beta_;  // undefined when scale / centre are off
  ad::BatchNormState state_;
};

}  // namespace ww::nn
