#include "nn/model.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "nn/init.hpp"
#include "nn/regularizers.hpp"

namespace ww::nn {

Model::Model(ModelConfig config, std::uint64_t seed) : config_(std::move(config)), rng_(seed) {
  if (config_.input_height <= 0 || config_.input_width <= 0) {
    throw std::invalid_argument("model: input_height and input_width must be positive");
  }
  const FeatureShape features = core_output_shape(config_);
  core_ = std::make_unique<Core>(config_.core, rng_);
  readout_ = make_readout(config_.readout, config_.neurons, features.channels, features.height, features.width, rng_);
  register_module("core", *core_);
  register_module("readout", *readout_);
}

ad::Var Model::forward(const ad::Var& images) {
  const ad::Shape& s = images.shape();
  if (s.size() != 4 || s[1] != config_.core.input_channels || s[2] != config_.input_height || s[3] != config_.input_width) {
    throw std::invalid_argument("model: images have shape " + ad::shape_string(s) + ", the model expects [batch," +
                                std::to_string(config_.core.input_channels) + "," + std::to_string(config_.input_height) +
                                "," + std::to_string(config_.input_width) + "]");
  }
  return readout_->forward(core_->forward(images), rng_);
}

ad::Tensor Model::predict(const ad::Tensor& images, std::int64_t batch) {
  const bool was_training = training();
  eval();
  ad::NoGradGuard no_grad;
  const std::int64_t n = images.shape()[0];
  const std::size_t row = images.numel() / static_cast<std::size_t>(std::max<std::int64_t>(n, 1));
  ad::Tensor out({n, config_.neurons});
  for (std::int64_t begin = 0; begin < n; begin += batch) {
    const std::int64_t end = std::min(n, begin + batch);
    ad::Shape shape = images.shape();
    shape[0] = end - begin;
    ad::Tensor part(shape);
    std::memcpy(part.data(), images.data() + static_cast<std::size_t>(begin) * row, part.numel() * sizeof(float));
    const ad::Tensor predicted = forward(ad::Var::constant(part)).value();
    std::memcpy(out.data() + begin * config_.neurons, predicted.data(), predicted.numel() * sizeof(float));
  }
  train(was_training);
  return out;
}

ad::Var Model::loss(const ad::Var& prediction, const ad::Var& responses) const {
  return config_.loss == LossKind::mse ? ad::mse_loss(prediction, responses) : ad::poisson_loss(prediction, responses);
}

ad::Var Model::penalty(const ad::Var& prediction) const {
  const PenaltyConfig& p = config_.penalties;
  ad::Var total = readout_->penalty(p, prediction);
  const std::vector<ad::Var> kernels = core_->kernels();
  // Each term is built only when its strength is not 0 (the graph costs time).
  if (p.smoothness != 0.f) add_penalty(total, p.smoothness, laplace_smoothness(kernels.front(), p.smoothness_normalized));
  for (std::size_t i = 0; i < kernels.size(); ++i) {
    if (i > 0 && p.group_sparsity != 0.f) add_penalty(total, p.group_sparsity, group_sparsity(kernels[i]));
    if (p.kernel_l2 != 0.f) add_penalty(total, p.kernel_l2, l2(kernels[i]));
  }
  return total;
}

void Model::initialize_from_data(const ad::Tensor& images, const ad::Tensor& responses) {
  const std::int64_t batch = responses.shape()[0], neurons = responses.shape()[1];
  std::vector<float> mean(static_cast<std::size_t>(neurons), 0.f), sd(static_cast<std::size_t>(neurons), 0.f);
  for (std::int64_t n = 0; n < neurons; ++n) {
    double sum = 0.0, squares = 0.0;
    for (std::int64_t b = 0; b < batch; ++b) {
      const double y = responses.data()[b * neurons + n];
      sum += y;
      squares += y * y;
    }
    const double m = sum / static_cast<double>(batch);
    mean[static_cast<std::size_t>(n)] = static_cast<float>(m);
    const double var = squares / static_cast<double>(batch) - m * m;
    sd[static_cast<std::size_t>(n)] = var > 0 ? static_cast<float>(std::sqrt(var)) : 1.f;
  }
  readout_->init_bias(mean);
  const FeatureShape features = core_output_shape(config_);
  readout_->init_locations(sta_locations(spike_triggered_average(images, responses), features.height, features.width), sd);
}

}  // namespace ww::nn
