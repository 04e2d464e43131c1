#include "nn/readout.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "nn/layers.hpp"
#include "nn/init.hpp"
#include "nn/regularizers.hpp"
#include "optim/adam.hpp"

namespace ww::nn {
namespace {

ad::Tensor normal_tensor(ad::Shape shape, std::mt19937_64& rng, float mean, float sd) {
  ad::Tensor t(std::move(shape));
  std::normal_distribution<float> dist(mean, sd);
  for (std::size_t i = 0; i < t.numel(); ++i) t.data()[i] = dist(rng);
  return t;
}

// Factorized and fixed-mask readouts.
class FactorizedReadout : public Readout {
 public:
  FactorizedReadout(const ReadoutConfig& config, std::int64_t neurons, std::int64_t channels, std::int64_t height,
                    std::int64_t width, std::mt19937_64& rng)
      : Readout(config, neurons), channels_(channels), width_(width), pixels_(height * width) {
    ad::Tensor mask = normal_tensor({neurons, pixels_}, rng, 0.f, 0.001f);
    if (config.kind == ReadoutKind::fixed_mask) {
      mask.fill(0.f);
      mask_ = ad::Var::constant(register_buffer("mask", mask));
    } else {
      mask_ = register_parameter("mask", mask);
    }
    features_ = register_parameter("features", normal_tensor({channels, neurons}, rng, 1.f / static_cast<float>(channels), 0.01f));
  }

  ad::Var forward(const ad::Var& x, std::mt19937_64&) override {
    const ad::Shape& s = x.shape();
    if (s.size() != 4 || s[1] != channels_ || s[2] * s[3] != pixels_) {
      throw std::invalid_argument("factorized readout: core output " + ad::shape_string(s) + " does not match the readout's " +
                                  std::to_string(channels_) + " channels x " + std::to_string(pixels_) + " pixels");
    }
    const ad::Var mask = config_.positive && config_.kind == ReadoutKind::factorized ? ad::abs(mask_) : mask_;
    const ad::Var located = ad::reshape(ad::matmul(ad::reshape(x, {s[0] * s[1], pixels_}), mask, false, true),
                                        {s[0], s[1], neurons_});
    return finish(ad::weighted_sum(located, feature_weights(), 1));
  }

  ad::Var penalty(const PenaltyConfig& p, const ad::Var&) const override {
    ad::Var total;
    if (config_.kind == ReadoutKind::factorized && p.mask_l1 != 0.f) add_penalty(total, p.mask_l1, ad::l1_norm(mask_));
    if (p.feature_l1 != 0.f) add_penalty(total, p.feature_l1, ad::l1_norm(features_));
    if (p.readout_product != 0.f) {
      // sum_n ||m_n||_1 ||w_n||_1
      add_penalty(total, p.readout_product,
                  ad::sum(ad::mul(ad::sum(ad::abs(mask_), {1}), ad::sum(ad::abs(features_), {0}))));
    }
    return total;
  }

  std::int64_t parameters_per_neuron() const override {
    return (config_.kind == ReadoutKind::factorized ? pixels_ : 0) + channels_ + (config_.bias ? 1 : 0);
  }

  // Factorized (not the fixed mask, not the |m| |w| variant): a moved neuron's mask becomes its
  // window's four pixel shares and its features the fitted ones, the norm carried by the mask.
  std::int64_t search_locations(const ad::Tensor& core_output, const ad::Tensor& responses) override {
    if (config_.kind != ReadoutKind::factorized || config_.positive) return 0;
    const LocationSearch best = best_fitting_locations(core_output, responses);
    std::mt19937_64 unused;
    ad::NoGradGuard no_grad;
    const bool was_training = training();
    eval();
    const ad::Tensor prediction = forward(ad::Var::constant(core_output), unused).value();
    train(was_training);
    const std::vector<std::int64_t> moving =
        neurons_to_move(best, own_feature_residuals(prediction.reshaped({prediction.shape()[0], neurons_, 1}), responses));
    float* mask = mask_.value().data();
    float* features = features_.value().data();
    const auto k_count = static_cast<std::size_t>(channels_);
    for (const std::int64_t n : moving) {
      const auto i = static_cast<std::size_t>(n);
      const float* fitted = best.features.data() + i * k_count;
      double norm = 0.0;
      for (std::size_t k = 0; k < k_count; ++k) norm += double(fitted[k]) * fitted[k];
      norm = std::sqrt(norm);
      if (norm == 0.0) continue;
      std::fill_n(mask + n * pixels_, pixels_, 0.f);
      for (std::size_t q = 0; q < 4; ++q) mask[n * pixels_ + best.corners[i][q]] = static_cast<float>(best.corner_weights[i][q] * norm);
      for (std::size_t k = 0; k < k_count; ++k) features[static_cast<std::int64_t>(k) * neurons_ + n] = static_cast<float>(fitted[k] / norm);
      if (config_.output == Nonlinearity::identity && bias_.defined()) bias_.value().data()[n] = best.constant[i];
    }
    return static_cast<std::int64_t>(moving.size());
  }

  ad::Tensor locations() const override {
    ad::Tensor where({neurons_, 2});
    const float* mask = mask_.value().data();
    for (std::int64_t n = 0; n < neurons_; ++n) {
      const float* row = mask + n * pixels_;
      const std::int64_t at = std::max_element(row, row + pixels_, [](float a, float b) { return std::fabs(a) < std::fabs(b); }) - row;
      where.data()[n * 2] = static_cast<float>(at / width_);
      where.data()[n * 2 + 1] = static_cast<float>(at % width_);
    }
    return where;
  }

  void init_locations(const std::vector<std::int64_t>& locations, const std::vector<float>& scale) override {
    float* mask = mask_.value().data();
    for (std::int64_t n = 0; n < neurons_; ++n) mask[n * pixels_ + locations[static_cast<std::size_t>(n)]] = scale[static_cast<std::size_t>(n)];
  }

  void init_feature_channels(const std::vector<std::int64_t>& channel) override {
    float* w = features_.value().data();
    for (std::int64_t k = 0; k < channels_; ++k)
      for (std::int64_t n = 0; n < neurons_; ++n) w[k * neurons_ + n] = channel[static_cast<std::size_t>(n)] == k ? 1.f : 0.f;
  }

 private:
  ad::Var feature_weights() const {
    ad::Var w = config_.positive ? ad::abs(features_) : features_;
    if (config_.normalize_features) w = ad::div(w, ad::sqrt(ad::add(ad::sum(ad::square(w), {0}), 1e-12f)));
    return w;
  }
  std::int64_t channels_, width_, pixels_;
  ad::Var mask_, features_;  // [N, H*W], [K, N]
};

class FullyConnectedReadout : public Readout {
 public:
  FullyConnectedReadout(const ReadoutConfig& config, std::int64_t neurons, std::int64_t inputs, std::mt19937_64& rng)
      : Readout(config, neurons), inputs_(inputs) {
    weight_ = register_parameter("weight", normal_tensor({neurons, inputs}, rng, 0.f, 0.01f));
  }

  ad::Var forward(const ad::Var& x, std::mt19937_64&) override {
    const ad::Shape& s = x.shape();
    if (static_cast<std::int64_t>(x.numel()) != s[0] * inputs_) {
      throw std::invalid_argument("fully connected readout: core output " + ad::shape_string(s) + " does not have " +
                                  std::to_string(inputs_) + " values per image");
    }
    return finish(ad::matmul(ad::reshape(x, {s[0], inputs_}), weight_, false, true));
  }

  ad::Var penalty(const PenaltyConfig& p, const ad::Var& prediction) const override {
    ad::Var total;
    if (p.readout_l2 != 0.f) add_penalty(total, p.readout_l2, ad::squared_norm(weight_));
    if (p.activity_l1 != 0.f) add_penalty(total, p.activity_l1, ad::mean(ad::sum(ad::abs(prediction), {1})));
    return total;
  }

  std::int64_t parameters_per_neuron() const override { return inputs_ + (config_.bias ? 1 : 0); }
  void init_locations(const std::vector<std::int64_t>&, const std::vector<float>&) override {}

 private:
  std::int64_t inputs_;
  ad::Var weight_;  // [N, K*H*W]
};

// The retinotopic readout's map from cortical coordinates [N, D] to positions [N, 2] in
// (-1, 1): linear layers with ELU between them and tanh at the end, shared by all neurons.
class PositionNetwork : public Module {
 public:
  PositionNetwork(const ReadoutConfig& config, std::mt19937_64& rng) {
    std::int64_t inputs = config.coordinate_dimensions;
    for (std::int64_t l = 0; l <= config.position_hidden_layers; ++l) {
      const std::int64_t outputs = l == config.position_hidden_layers ? 2 : config.position_hidden_features;
      const std::string name = "layer" + std::to_string(l);
      weights_.push_back(register_parameter(name + ".weight", normal_tensor({inputs, outputs}, rng, 0.f, 1.f / std::sqrt(static_cast<float>(inputs)))));
      biases_.push_back(register_parameter(name + ".bias", ad::Tensor::zeros({outputs})));
      inputs = outputs;
    }
  }

  ad::Var forward(const ad::Var& coordinates) const {
    ad::Var x = coordinates;
    for (std::size_t l = 0; l < weights_.size(); ++l) {
      x = ad::add(ad::matmul(x, weights_[l]), biases_[l]);
      x = l + 1 < weights_.size() ? ad::elu(x) : ad::tanh(x);
    }
    return x;
  }

  // Least-squares fit of the positions to `targets` [N, 2] (Adam, all neurons at once): how the
  // network takes over locations found from the data.
  void fit(const ad::Tensor& coordinates, const ad::Tensor& targets) {
    optim::Adam adam(parameters(), {0.01f});
    const ad::Var x = ad::Var::constant(coordinates), y = ad::Var::constant(targets);
    for (int step = 0; step < 2000; ++step) {
      adam.zero_grad();
      ad::backward(ad::mse_loss(forward(x), y));
      adam.step();
    }
  }

 private:
  std::vector<ad::Var> weights_, biases_;  // [in, out], [out]
};

// Gaussian readout; the retinotopic variant predicts mu from cortical coordinates.
class GaussianReadout : public Readout {
 public:
  GaussianReadout(const ReadoutConfig& config, std::int64_t neurons, std::int64_t channels, std::int64_t height,
                  std::int64_t width, std::mt19937_64& rng)
      : Readout(config, neurons), channels_(channels), height_(height), width_(width) {
    if (config.kind == ReadoutKind::retinotopic) {
      if (config.coordinate_dimensions < 1 || config.position_hidden_layers < 0 || config.position_hidden_features < 1) {
        throw std::invalid_argument("model: the retinotopic readout needs coordinate_dimensions >= 1, position_hidden_layers >= 0 "
                                    "and position_hidden_features >= 1");
      }
      coordinates_ = register_buffer("coordinates", ad::Tensor::zeros({neurons, config.coordinate_dimensions}));
      network_ = std::make_unique<PositionNetwork>(config, rng);
      register_module("position_network", *network_);
    } else {
      ad::Tensor mu({neurons, 2});
      std::uniform_real_distribution<float> where(-config.init_mu_range, config.init_mu_range);
      for (std::size_t i = 0; i < mu.numel(); ++i) mu.data()[i] = where(rng);
      mu_ = register_parameter("mu", mu);
    }
    switch (config.covariance) {
      case GaussianCovariance::full: {
        ad::Tensor sigma = ad::Tensor::zeros({neurons, 2, 2});
        for (std::int64_t n = 0; n < neurons; ++n) sigma.data()[n * 4] = sigma.data()[n * 4 + 3] = config.init_sigma;
        sigma_ = register_parameter("sigma", sigma);
        break;
      }
      case GaussianCovariance::uncorrelated:
        sigma_ = register_parameter("sigma", ad::Tensor::full({neurons, 2}, config.init_sigma));
        break;
      case GaussianCovariance::isotropic:
        sigma_ = register_parameter("sigma", ad::Tensor::full({neurons, 1}, config.init_sigma));
        break;
    }
    features_ = register_parameter("features", ad::Tensor::full({neurons, channels}, 1.f / static_cast<float>(channels)));
  }

  ad::Var forward(const ad::Var& x, std::mt19937_64& rng) override {
    const ad::Shape& s = x.shape();
    if (s.size() != 4 || s[1] != channels_) {
      throw std::invalid_argument("gaussian readout: core output " + ad::shape_string(s) + " does not have " +
                                  std::to_string(channels_) + " channels");
    }
    const ad::Var mu = positions();
    const ad::Var sampled = ad::bilinear_sample(x, training() ? sample_positions(mu, s[0], rng) : mu);
    return finish(ad::sum(ad::mul(sampled, features_), {2}));
  }

  ad::Var penalty(const PenaltyConfig& p, const ad::Var&) const override {
    ad::Var total;
    if (p.feature_l1 != 0.f) add_penalty(total, p.feature_l1, ad::l1_norm(features_));
    return total;
  }

  std::int64_t parameters_per_neuron() const override {
    return channels_ + (network_ ? 0 : 2) + static_cast<std::int64_t>(sigma_.numel()) / neurons_ + (config_.bias ? 1 : 0);
  }

  void set_coordinates(const ad::Tensor& cortical) override {
    if (!network_) Readout::set_coordinates(cortical);
    const std::int64_t dims = config_.coordinate_dimensions;
    if (cortical.rank() != 2 || cortical.shape()[0] != neurons_ || cortical.shape()[1] < dims) {
      throw std::invalid_argument("retinotopic readout: cell_motor_coordinates " + ad::shape_string(cortical.shape()) +
                                  " should be [" + std::to_string(neurons_) + ", >= " + std::to_string(dims) + "] (one row per neuron)");
    }
    // Centred per axis and scaled by one pooled SD, so the map's geometry is kept.
    const auto count = static_cast<std::size_t>(neurons_ * dims);
    std::vector<double> centred(count);
    std::vector<double> mean(static_cast<std::size_t>(dims), 0.0);
    bool spread = false;
    for (std::size_t i = 0; i < count; ++i) {
      const std::int64_t n = static_cast<std::int64_t>(i) / dims, d = static_cast<std::int64_t>(i) % dims;
      centred[i] = cortical.data()[n * cortical.shape()[1] + d];
      if (!std::isfinite(centred[i])) {
        throw std::invalid_argument("retinotopic readout: cell_motor_coordinates of neuron " + std::to_string(n) + " is not finite");
      }
      spread = spread || centred[i] != centred[static_cast<std::size_t>(d)];
      mean[static_cast<std::size_t>(d)] += centred[i] / static_cast<double>(neurons_);
    }
    if (!spread) throw std::invalid_argument("retinotopic readout: all neurons have the same cell_motor_coordinates");
    double variance = 0.0;
    for (std::size_t i = 0; i < count; ++i) {
      centred[i] -= mean[i % static_cast<std::size_t>(dims)];
      variance += centred[i] * centred[i] / static_cast<double>(count);
    }
    for (std::size_t i = 0; i < count; ++i) coordinates_.data()[i] = static_cast<float>(centred[i] / std::sqrt(variance));
  }

  ad::Tensor locations() const override {
    const ad::Tensor mu = current_positions();
    ad::Tensor where({neurons_, 2});
    for (std::int64_t n = 0; n < neurons_; ++n) {
      where.data()[n * 2] = static_cast<float>((mu.data()[n * 2 + 1] + 1.0) / 2.0 * static_cast<double>(height_ - 1));
      where.data()[n * 2 + 1] = static_cast<float>((mu.data()[n * 2] + 1.0) / 2.0 * static_cast<double>(width_ - 1));
    }
    return where;
  }

  void init_locations(const std::vector<std::int64_t>& locations, const std::vector<float>&) override {
    ad::Tensor mu = current_positions();
    for (std::int64_t n = 0; n < neurons_; ++n) {
      const std::int64_t at = locations[static_cast<std::size_t>(n)];
      place(mu, n, static_cast<double>(at / width_), static_cast<double>(at % width_));
    }
    take_positions(mu);
  }

  std::int64_t search_locations(const ad::Tensor& core_output, const ad::Tensor& responses) override {
    const LocationSearch best = best_fitting_locations(core_output, responses);
    ad::Tensor mu = current_positions();
    ad::Tensor here;
    {
      ad::NoGradGuard no_grad;
      here = ad::bilinear_sample(ad::Var::constant(core_output), ad::Var::constant(mu)).value();
    }
    const std::vector<std::int64_t> moving = neurons_to_move(best, own_feature_residuals(here, responses));
    for (const std::int64_t n : moving) {
      const auto i = static_cast<std::size_t>(n);
      place(mu, n, best.position[i][0], best.position[i][1]);
      // The fitted weights are the least-squares answer when the output is the identity; through
      // another output nonlinearity they would be on the wrong scale, so training adapts them.
      if (config_.output == Nonlinearity::identity) {
        std::copy_n(best.features.data() + n * channels_, channels_, features_.value().data() + n * channels_);
        if (bias_.defined()) bias_.value().data()[n] = best.constant[i];
      }
    }
    if (!moving.empty()) take_positions(mu);
    return static_cast<std::int64_t>(moving.size());
  }

 private:
  // [N, 2]: the parameter mu, or the position network's output.
  ad::Var positions() const { return network_ ? network_->forward(ad::Var::constant(coordinates_)) : mu_; }
  ad::Tensor current_positions() const {
    ad::NoGradGuard no_grad;
    return positions().value().clone();
  }
  // The readout reads at mu [N, 2] from now on (the retinotopic one as near as its network fits).
  void take_positions(const ad::Tensor& mu) {
    if (network_) network_->fit(coordinates_, mu);
    else std::copy_n(mu.data(), mu.numel(), mu_.value().data());
  }
  // mu + Sigma eps, eps ~ N(0, I) independently per sample and neuron: [B, N, 2].
  ad::Var sample_positions(const ad::Var& mu, std::int64_t batch, std::mt19937_64& rng) const {
    std::normal_distribution<float> normal(0.f, 1.f);
    if (config_.covariance == GaussianCovariance::full) {
      // eps laid out [B, N, 2 (row i), 2 (column j)] = eps_j, so sum_j Sigma_ij eps_j is mul + sum.
      ad::Tensor eps({batch, neurons_, 2, 2});
      for (std::int64_t p = 0; p < batch * neurons_; ++p) {
        const float e0 = normal(rng), e1 = normal(rng);
        float* at = eps.data() + p * 4;
        at[0] = at[2] = e0;
        at[1] = at[3] = e1;
      }
      return ad::add(ad::sum(ad::mul(ad::Var::constant(eps), sigma_), {3}), mu);
    }
    ad::Tensor eps({batch, neurons_, 2});
    for (std::size_t i = 0; i < eps.numel(); ++i) eps.data()[i] = normal(rng);
    return ad::add(ad::mul(ad::Var::constant(eps), sigma_), mu);
  }
  // Neuron n's position in mu [N, 2] at pixel (row, col) of the core output, in [-1, 1] (x along the width).
  void place(ad::Tensor& positions, std::int64_t n, double row, double col) const {
    float* mu = positions.data();
    mu[n * 2] = width_ > 1 ? static_cast<float>(2.0 * col / static_cast<double>(width_ - 1) - 1.0) : 0.f;
    mu[n * 2 + 1] = height_ > 1 ? static_cast<float>(2.0 * row / static_cast<double>(height_ - 1) - 1.0) : 0.f;
  }
  std::int64_t channels_, height_, width_;
  ad::Var mu_, sigma_, features_;  // [N, 2] (undefined when retinotopic), [N, 2, 2] | [N, 2] | [N, 1], [N, K]
  ad::Tensor coordinates_;         // retinotopic: [N, D] standardised cortical coordinates
  std::unique_ptr<PositionNetwork> network_;
};

}  // namespace

Readout::Readout(const ReadoutConfig& config, std::int64_t neurons) : config_(config), neurons_(neurons) {
  if (neurons <= 0) throw std::invalid_argument("model: the readout needs at least one neuron");
  if (config.bias) bias_ = register_parameter("bias", ad::Tensor::zeros({neurons}));
}

ad::Tensor Readout::locations() const {
  throw std::invalid_argument("model: the " + to_string(config_.kind) + " readout has no locations");
}

void Readout::set_coordinates(const ad::Tensor&) {
  throw std::invalid_argument("model: the " + to_string(config_.kind) + " readout does not use cortical coordinates (the retinotopic one does)");
}

ad::Var Readout::finish(const ad::Var& raw) const {
  return activate(bias_.defined() ? ad::add(raw, bias_) : raw, config_.output);
}

void Readout::init_bias(const std::vector<float>& mean_response) {
  if (!bias_.defined()) return;
  float* bias = bias_.value().data();
  for (std::int64_t n = 0; n < neurons_; ++n) {
    const float m = mean_response[static_cast<std::size_t>(n)];
    switch (config_.output) {
      case Nonlinearity::softplus: {
        // softplus^-1(m) = log(e^m - 1), for m kept above a small floor.
        const double floor = std::max(static_cast<double>(m), 1e-3);
        bias[n] = static_cast<float>(floor > 20 ? floor : std::log(std::expm1(floor)));
        break;
      }
      case Nonlinearity::elu: bias[n] = m > 0 ? m : static_cast<float>(std::log1p(std::max(m, -0.999f))); break;
      case Nonlinearity::relu:
      case Nonlinearity::identity: bias[n] = m; break;
    }
  }
}

std::unique_ptr<Readout> make_readout(const ReadoutConfig& config, std::int64_t neurons, std::int64_t channels,
                                      std::int64_t height, std::int64_t width, std::mt19937_64& rng) {
  switch (config.kind) {
    case ReadoutKind::factorized:
    case ReadoutKind::fixed_mask:
      return std::make_unique<FactorizedReadout>(config, neurons, channels, height, width, rng);
    case ReadoutKind::fully_connected:
      return std::make_unique<FullyConnectedReadout>(config, neurons, channels * height * width, rng);
    case ReadoutKind::gaussian:
    case ReadoutKind::retinotopic:
      return std::make_unique<GaussianReadout>(config, neurons, channels, height, width, rng);
  }
  throw std::invalid_argument("model: unknown readout kind");
}

}  // namespace ww::nn
