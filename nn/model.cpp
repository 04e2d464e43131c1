#include "nn/model.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "nn/init.hpp"
#include "nn/metrics.hpp"
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
  image_normalization_ = register_buffer("normalization.image", ad::Tensor::from_values({2}, {0.f, 1.f}));
  response_sd_ = register_buffer("normalization.response_sd", ad::Tensor::full({config_.neurons}, 1.f));
}

void Model::set_normalization(float image_mean, float image_sd, const std::vector<float>& response_sd) {
  if (!(image_sd > 0) || !std::isfinite(image_mean) || response_sd.size() != static_cast<std::size_t>(config_.neurons)) {
    throw std::invalid_argument("model: normalisation needs a positive image SD and one response SD per neuron (" +
                                std::to_string(config_.neurons) + ")");
  }
  image_normalization_.data()[0] = image_mean;
  image_normalization_.data()[1] = image_sd;
  // A silent neuron keeps unit scale rather than dividing by zero.
  for (std::size_t n = 0; n < response_sd.size(); ++n) response_sd_.data()[n] = response_sd[n] > 0 ? response_sd[n] : 1.f;
}

bool Model::normalizes() const {
  if (image_normalization_.data()[0] != 0.f || image_normalization_.data()[1] != 1.f) return true;
  for (std::size_t n = 0; n < response_sd_.numel(); ++n)
    if (response_sd_.data()[n] != 1.f) return true;
  return false;
}

ad::Var Model::in_response_units(const ad::Var& responses) const {
  return normalizes() ? ad::div(responses, ad::Var::constant(response_sd_)) : responses;
}

ad::Tensor Model::in_response_units(const ad::Tensor& responses) const {
  ad::NoGradGuard no_grad;
  return in_response_units(ad::Var::constant(responses)).value();
}

void Model::check_images(const ad::Shape& s) const {
  if (s.size() != 4 || s[1] != config_.core.input_channels || s[2] != config_.input_height || s[3] != config_.input_width) {
    throw std::invalid_argument("model: images have shape " + ad::shape_string(s) + ", the model expects [batch," +
                                std::to_string(config_.core.input_channels) + "," + std::to_string(config_.input_height) +
                                "," + std::to_string(config_.input_width) + "]");
  }
}

ad::Var Model::forward(const ad::Var& images) {
  check_images(images.shape());
  if (!normalizes()) return readout_->forward(core_->forward(images), rng_);
  return ad::mul(readout_->forward(core_->forward(core_input(images)), rng_), ad::Var::constant(response_sd_));
}

ad::Var Model::core_input(const ad::Var& images) const {
  const float mean = image_normalization_.data()[0], sd = image_normalization_.data()[1];
  return mean == 0.f && sd == 1.f ? images : ad::mul(ad::add(images, -mean), 1.f / sd);
}

namespace {

// fn(images of one batch) for `batch` images at a time, in evaluation mode without gradients (the
// mode is restored afterwards); the results stacked along the first axis.
template <class Fn>
ad::Tensor in_batches(Module& module, const ad::Tensor& images, std::int64_t batch, Fn fn) {
  const bool was_training = module.training();
  module.eval();
  ad::NoGradGuard no_grad;
  const std::int64_t n = images.shape()[0];
  const std::size_t row = images.numel() / static_cast<std::size_t>(std::max<std::int64_t>(n, 1));
  ad::Tensor out;
  for (std::int64_t begin = 0; begin < n; begin += batch) {
    const std::int64_t end = std::min(n, begin + batch);
    ad::Shape shape = images.shape();
    shape[0] = end - begin;
    ad::Tensor part(shape);
    std::memcpy(part.data(), images.data() + static_cast<std::size_t>(begin) * row, part.numel() * sizeof(float));
    const ad::Tensor result = fn(ad::Var::constant(part)).value();
    if (begin == 0) {
      ad::Shape whole = result.shape();
      whole[0] = n;
      out = ad::Tensor(whole);
    }
    const std::size_t result_row = result.numel() / static_cast<std::size_t>(end - begin);
    std::memcpy(out.data() + static_cast<std::size_t>(begin) * result_row, result.data(), result.numel() * sizeof(float));
  }
  module.train(was_training);
  return out;
}

}  // namespace

ad::Tensor Model::predict(const ad::Tensor& images, std::int64_t batch) {
  if (images.shape().empty() || images.shape()[0] == 0) return ad::Tensor({0, config_.neurons});
  return in_batches(*this, images, batch, [this](const ad::Var& part) { return forward(part); });
}

std::int64_t Model::search_locations(const ad::Tensor& images, const ad::Tensor& responses) {
  check_images(images.shape());
  const ad::Tensor core_output = in_batches(*this, images, 256, [this](const ad::Var& part) { return core_->forward(core_input(part)); });
  return readout_->search_locations(core_output, in_response_units(responses));
}

ad::Var Model::loss(const ad::Var& prediction, const ad::Var& responses) const {
  const ad::Var p = in_response_units(prediction), y = in_response_units(responses);
  return config_.loss == LossKind::mse ? ad::mse_loss(p, y) : ad::poisson_loss(p, y);
}

ad::Var Model::penalty(const ad::Var& prediction) const {
  const PenaltyConfig& p = config_.penalties;
  ad::Var total = readout_->penalty(p, in_response_units(prediction));
  const std::vector<ad::Var> kernels = core_->kernels();
  // Each term is built only when its strength is not 0 (the graph costs time).
  if (p.smoothness != 0.f) add_penalty(total, p.smoothness, laplace_smoothness(kernels.front(), p.smoothness_normalized));
  for (std::size_t i = 0; i < kernels.size(); ++i) {
    if (i > 0 && p.group_sparsity != 0.f) add_penalty(total, p.group_sparsity, group_sparsity(kernels[i]));
    if (p.kernel_l2 != 0.f) add_penalty(total, p.kernel_l2, l2(kernels[i]));
  }
  return total;
}

void Model::initialize_from_data(const ad::Tensor& raw_images, const ad::Tensor& raw_responses) {
  // The readout's bias, masks and positions live in the normalised units.
  ad::Tensor images, responses;
  {
    ad::NoGradGuard no_grad;
    images = core_input(ad::Var::constant(raw_images)).value();
  }
  responses = in_response_units(raw_responses);
  const ColumnMoments moments = column_moments(responses);
  const std::vector<float> mean(moments.mean.begin(), moments.mean.end());
  std::vector<float> sd;
  for (const double d : moments.sd) sd.push_back(d > 0 ? static_cast<float>(d) : 1.f);
  readout_->init_bias(mean);
  const FeatureShape features = core_output_shape(config_);
  readout_->init_locations(sta_locations(spike_triggered_average(images, responses), features.height, features.width), sd);
}

}  // namespace ww::nn
