#include "nn/layers.hpp"

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

Conv2d::Conv2d(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel, ops::Padding padding, std::mt19937_64& rng,
               float init_sd)
    : padding_(padding) {
  std::normal_distribution<float> normal(0.f, init_sd);
  ad::Tensor weight({out_channels, in_channels, kernel, kernel});
  for (std::size_t j = 0; j < weight.numel(); ++j) weight.data()[j] = normal(rng);
  weight_ = register_parameter("weight", weight);
}

BatchNorm2d::BatchNorm2d(std::int64_t channels, bool scale, bool center) : state_(ad::BatchNormState::init(channels)) {
  if (scale) gamma_ = register_parameter("bn_scale", ad::Tensor::full({channels}, 1.f));
  if (center) beta_ = register_parameter("bn_center", ad::Tensor::zeros({channels}));
  register_buffer("running_mean", state_.running_mean);
  register_buffer("running_var", state_.running_var);
}

}  // namespace ww::nn
