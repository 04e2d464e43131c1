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
  register_module("core", *core_);
  std::vector<RecordingShape> shapes = config_.recordings;
  if (shapes.empty()) shapes.push_back({"", config_.neurons});
  for (const RecordingShape& shape : shapes) {
    if (config_.recordings.size() > 0 && shape.key.empty()) throw std::invalid_argument("model: every recording needs a key");
    for (const Recording& other : recordings_)
      if (other.key == shape.key) throw std::invalid_argument("model: two recordings have the key '" + shape.key + "'");
    recordings_.push_back({shape.key, shape.neurons,
                           make_readout(config_.readout, shape.neurons, features.channels, features.height, features.width, rng_), {}, {}});
  }
  // A model of one recording keeps the names it always had ("readout.", "normalization.").
  for (std::size_t r = 0; r < recordings_.size(); ++r) {
    Recording& recording = recordings_[r];
    const std::string infix = recording.key.empty() ? "" : "." + recording.key;
    register_module("readout" + infix, *recording.readout);
    recording.image_normalization = register_buffer("normalization" + infix + ".image", ad::Tensor::from_values({2}, {0.f, 1.f}));
    recording.response_sd = register_buffer("normalization" + infix + ".response_sd", ad::Tensor::full({recording.neurons}, 1.f));
  }
}

std::string Model::readout_prefix(std::size_t recording) const {
  const std::string& key = recordings_.at(recording).key;
  return key.empty() ? "readout." : "readout." + key + ".";
}

void Model::set_normalization(float image_mean, float image_sd, const std::vector<float>& response_sd, std::size_t index) {
  Recording& recording = recordings_.at(index);
  if (!(image_sd > 0) || !std::isfinite(image_mean) || response_sd.size() != static_cast<std::size_t>(recording.neurons)) {
    throw std::invalid_argument("model: normalisation needs a positive image SD and one response SD per neuron (" +
                                std::to_string(recording.neurons) + ")");
  }
  recording.image_normalization.data()[0] = image_mean;
  recording.image_normalization.data()[1] = image_sd;
  // A silent neuron keeps unit scale rather than dividing by zero.
  for (std::size_t n = 0; n < response_sd.size(); ++n) recording.response_sd.data()[n] = response_sd[n] > 0 ? response_sd[n] : 1.f;
}

bool Model::normalizes(std::size_t index) const { return normalizes(recordings_.at(index)); }

bool Model::normalizes(const Recording& recording) {
  if (recording.image_normalization.data()[0] != 0.f || recording.image_normalization.data()[1] != 1.f) return true;
  for (std::size_t n = 0; n < recording.response_sd.numel(); ++n)
    if (recording.response_sd.data()[n] != 1.f) return true;
  return false;
}

ad::Var Model::in_response_units(const ad::Var& responses, const Recording& recording) const {
  return normalizes(recording) ? ad::div(responses, ad::Var::constant(recording.response_sd)) : responses;
}

ad::Tensor Model::in_response_units(const ad::Tensor& responses, const Recording& recording) const {
  ad::NoGradGuard no_grad;
  return in_response_units(ad::Var::constant(responses), recording).value();
}

void Model::check_images(const ad::Shape& s) const {
  if (s.size() != 4 || s[1] != config_.core.input_channels || s[2] != config_.input_height || s[3] != config_.input_width) {
    throw std::invalid_argument("model: images have shape " + ad::shape_string(s) + ", the model expects [batch," +
                                std::to_string(config_.core.input_channels) + "," + std::to_string(config_.input_height) +
                                "," + std::to_string(config_.input_width) + "]");
  }
}

ad::Var Model::forward(const ad::Var& images, std::size_t index) {
  check_images(images.shape());
  Recording& recording = recordings_.at(index);
  if (!normalizes(recording)) return recording.readout->forward(core_->forward(images), rng_);
  return ad::mul(recording.readout->forward(core_->forward(core_input(images, recording)), rng_), ad::Var::constant(recording.response_sd));
}

ad::Var Model::core_input(const ad::Var& images, const Recording& recording) const {
  const float mean = recording.image_normalization.data()[0], sd = recording.image_normalization.data()[1];
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

ad::Tensor Model::predict(const ad::Tensor& images, std::int64_t batch, std::size_t recording) {
  if (images.shape().empty() || images.shape()[0] == 0) return ad::Tensor({0, neurons(recording)});
  return in_batches(*this, images, batch, [this, recording](const ad::Var& part) { return forward(part, recording); });
}

std::int64_t Model::search_locations(const ad::Tensor& images, const ad::Tensor& responses, std::size_t index) {
  check_images(images.shape());
  Recording& recording = recordings_.at(index);
  const ad::Tensor core_output =
      in_batches(*this, images, 256, [this, &recording](const ad::Var& part) { return core_->forward(core_input(part, recording)); });
  return recording.readout->search_locations(core_output, in_response_units(responses, recording));
}

ad::Var Model::loss(const ad::Var& prediction, const ad::Var& responses, std::size_t index) const {
  const Recording& recording = recordings_.at(index);
  const ad::Var p = in_response_units(prediction, recording), y = in_response_units(responses, recording);
  return config_.loss == LossKind::mse ? ad::mse_loss(p, y) : ad::poisson_loss(p, y);
}

ad::Var Model::penalty(const ad::Var& prediction, std::size_t index) const {
  const PenaltyConfig& p = config_.penalties;
  const Recording& recording = recordings_.at(index);
  ad::Var total = recording.readout->penalty(p, in_response_units(prediction, recording));
  const std::vector<ad::Var> kernels = core_->kernels();
  // Each term is built only when its strength is not 0 (the graph costs time).
  if (p.smoothness != 0.f) add_penalty(total, p.smoothness, laplace_smoothness(kernels.front(), p.smoothness_normalized));
  for (std::size_t i = 0; i < kernels.size(); ++i) {
    if (i > 0 && p.group_sparsity != 0.f) add_penalty(total, p.group_sparsity, group_sparsity(kernels[i]));
    if (p.kernel_l2 != 0.f) add_penalty(total, p.kernel_l2, ad::squared_norm(kernels[i]));
  }
  return total;
}

void Model::initialize_from_data(const ad::Tensor& raw_images, const ad::Tensor& raw_responses, std::size_t index) {
  Recording& recording = recordings_.at(index);
  // The readout's bias, masks and positions live in the normalised units.
  ad::Tensor images, responses;
  {
    ad::NoGradGuard no_grad;
    images = core_input(ad::Var::constant(raw_images), recording).value();
  }
  responses = in_response_units(raw_responses, recording);
  const ColumnMoments moments = column_moments(responses);
  const std::vector<float> mean(moments.mean.begin(), moments.mean.end());
  std::vector<float> sd;
  for (const double d : moments.sd) sd.push_back(d > 0 ? static_cast<float>(d) : 1.f);
  recording.readout->init_bias(mean);
  const FeatureShape features = core_output_shape(config_);
  const ad::Tensor sta = spike_triggered_average(images, responses);
  const std::int64_t types = config_.core.layers.front().channels;
  if (!linear_kernels() || static_cast<std::int64_t>(sd.size()) < types) {
    recording.readout->init_locations(
        map_peaks(config_.readout.location_init == LocationInit::sta ? std::vector<ad::Tensor>{sta}
                                                                     : std::vector<ad::Tensor>{sta, contrast_energy_map(images, responses)},
                  features.height, features.width),
        sd);
    return;
  }
  // The paper's linear models: kernels, places and types estimated together from all neurons'
  // STAs; each kernel scaled so that its response to these images has unit variance, each mask
  // entry the least-squares weight of its type's response (the STA's match with the kernel is
  // their covariance). Further recordings on the core keep the first one's kernels and are only
  // placed (and typed) by them.
  ad::Tensor kernel = core_->kernels().front().value();  // [types, 1, k, k]
  const std::int64_t size = config_.core.layers.front().kernel, taps = size * size;
  TypedKernels typed;
  if (index == 0) {
    typed = align_typed_kernels(sta, size, types);
    std::copy_n(typed.kernels.data(), typed.kernels.numel(), kernel.data());
  } else {
    typed.kernels = kernel.clone().reshaped({types, size, size});
    place_by_typed_kernels(sta, typed);
  }
  std::vector<double> response_sd(static_cast<std::size_t>(types), 1.0);
  {
    ad::NoGradGuard no_grad;
    const ad::Tensor response = ad::conv2d(ad::Var::constant(images), ad::Var::constant(kernel), ops::Padding::valid).value();
    const std::int64_t batch = response.shape()[0], plane = response.numel() / static_cast<std::size_t>(batch * types);
    for (std::int64_t type = 0; type < types; ++type) {
      ad::Tensor channel({batch * plane, 1});
      for (std::int64_t b = 0; b < batch; ++b)
        std::copy_n(response.data() + (b * types + type) * plane, plane, channel.data() + b * plane);
      response_sd[static_cast<std::size_t>(type)] = column_moments(channel).sd.front();
    }
  }
  for (const double s : response_sd)
    if (!(s > 0)) return;
  if (index == 0)
    for (std::int64_t type = 0; type < types; ++type)
      for (std::int64_t i = 0; i < taps; ++i)
        kernel.data()[type * taps + i] = static_cast<float>(kernel.data()[type * taps + i] / response_sd[static_cast<std::size_t>(type)]);
  // Least squares: cov(y, response) / var(response); the first recording's kernels were just
  // scaled to unit variance, another's responses keep their own.
  std::vector<float> weight;
  for (std::size_t n = 0; n < typed.match.size(); ++n) {
    const double s = response_sd[static_cast<std::size_t>(typed.type[n])];
    weight.push_back(static_cast<float>(typed.match[n] / (index == 0 ? s : s * s)));
  }
  recording.readout->init_locations(typed.locations, weight);
  if (types > 1) recording.readout->init_feature_channels(typed.type);
}

bool Model::linear_kernels() const {
  if (config_.core.layers.size() != 1 || config_.core.input_channels != 1 || config_.readout.kind != ReadoutKind::factorized) return false;
  const LayerSpec& layer = config_.core.layers.front();
  return layer.padding == ops::Padding::valid && layer.nonlinearity == Nonlinearity::identity && !config_.readout.positive;
}

}  // namespace ww::nn
