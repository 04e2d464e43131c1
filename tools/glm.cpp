#include "tools/glm.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <stdexcept>

#include "autodiff/functions.hpp"
#include "optim/adam.hpp"

namespace ww::training {
namespace {

constexpr float poisson_eps = 1e-5f;  // as ad::poisson_loss

ad::Var glm_output(const ad::Var& x, const ad::Var& weights, const ad::Var& bias, const ad::Var& offset, GlmOutput output) {
  const ad::Var drive = ad::add(ad::matmul(x, weights), bias);
  return output == GlmOutput::relu ? ad::add(ad::relu(drive), offset) : ad::exp(drive);
}

// Each neuron's mean loss over the rows of prediction and y [B, N].
std::vector<double> per_neuron_loss(const ad::Tensor& prediction, const ad::Tensor& y, GlmOutput output) {
  const std::int64_t rows = y.shape()[0], neurons = y.shape()[1];
  std::vector<double> loss(static_cast<std::size_t>(neurons), 0.0);
  for (std::int64_t b = 0; b < rows; ++b)
    for (std::int64_t n = 0; n < neurons; ++n) {
      const double p = prediction.data()[b * neurons + n], target = y.data()[b * neurons + n];
      loss[static_cast<std::size_t>(n)] += output == GlmOutput::relu ? (p - target) * (p - target) : p - target * std::log(p + poisson_eps);
    }
  for (double& l : loss) l /= static_cast<double>(rows);
  return loss;
}

void check_shapes(const ad::Tensor& x, const ad::Tensor& y, const char* which) {
  if (x.shape().size() != 2 || y.shape().size() != 2 || x.shape()[0] != y.shape()[0] || x.shape()[0] == 0) {
    throw std::invalid_argument(std::string("fit_glm: ") + which + " design " + ad::shape_string(x.shape()) + " and responses " +
                                ad::shape_string(y.shape()) + " must be [B, D] and [B, N] with the same B > 0");
  }
}

}  // namespace

GlmFit fit_glm(const ad::Tensor& x, const ad::Tensor& y, const ad::Tensor& x_validation, const ad::Tensor& y_validation,
               GlmOutput output, const GlmOptions& options) {
  check_shapes(x, y, "training");
  check_shapes(x_validation, y_validation, "validation");
  if (x_validation.shape()[1] != x.shape()[1] || y_validation.shape()[1] != y.shape()[1]) {
    throw std::invalid_argument("fit_glm: validation data " + ad::shape_string(x_validation.shape()) + ", " +
                                ad::shape_string(y_validation.shape()) + " do not match training data " +
                                ad::shape_string(x.shape()) + ", " + ad::shape_string(y.shape()));
  }
  const std::int64_t rows = x.shape()[0], inputs = x.shape()[1], neurons = y.shape()[1];
  std::vector<float> mean_response(static_cast<std::size_t>(neurons), 0.f);
  for (std::int64_t b = 0; b < rows; ++b)
    for (std::int64_t n = 0; n < neurons; ++n) mean_response[static_cast<std::size_t>(n)] += y.data()[b * neurons + n] / static_cast<float>(rows);

  GlmFit best{output, ad::Tensor::zeros({inputs, neurons}), ad::Tensor::zeros({neurons}), ad::Tensor::zeros({neurons}),
              std::vector<float>(static_cast<std::size_t>(neurons), 0.f)};
  std::vector<double> best_loss(static_cast<std::size_t>(neurons), std::numeric_limits<double>::infinity());
  const ad::Var validation_design = ad::Var::constant(x_validation);
  for (const float strength : options.strengths) {
    // Zero weights with a positive drive keep the ReLU open (and exp at the mean rate) from the start.
    ad::Tensor initial_bias({neurons});
    for (std::int64_t n = 0; n < neurons; ++n) {
      const float m = std::max(mean_response[static_cast<std::size_t>(n)], 1e-3f);
      initial_bias.data()[n] = output == GlmOutput::relu ? m : std::log(m);
    }
    ad::Var weights = ad::Var::parameter(ad::Tensor::zeros({inputs, neurons}));
    ad::Var bias = ad::Var::parameter(initial_bias), offset = ad::Var::parameter(ad::Tensor::zeros({neurons}));
    optim::Adam adam({weights, bias, offset}, {options.learning_rate});
    // mse_loss averages over neurons, poisson_loss sums them: the penalty follows so each neuron
    // sees strength * |w_n|^2 beside its own mean loss.
    const float penalty = output == GlmOutput::relu ? strength / static_cast<float>(neurons) : strength;
    std::mt19937_64 rng(options.seed);
    std::vector<std::int64_t> order(static_cast<std::size_t>(rows));
    std::iota(order.begin(), order.end(), 0);
    // Every neuron keeps the (strength, epoch) of its lowest validation loss; the starting point
    // (no weights: the mean response) is a candidate too, so noise-fitting never beats doing nothing.
    const auto keep_improvements = [&] {
      ad::NoGradGuard no_grad;
      const std::vector<double> loss =
          per_neuron_loss(glm_output(validation_design, weights, bias, offset, output).value(), y_validation, output);
      bool improved = false;
      for (std::int64_t n = 0; n < neurons; ++n) {
        if (!(loss[static_cast<std::size_t>(n)] < best_loss[static_cast<std::size_t>(n)])) continue;
        improved = true;
        best_loss[static_cast<std::size_t>(n)] = loss[static_cast<std::size_t>(n)];
        for (std::int64_t d = 0; d < inputs; ++d) best.weights.data()[d * neurons + n] = weights.value().data()[d * neurons + n];
        best.bias.data()[n] = bias.value().data()[n];
        best.offset.data()[n] = offset.value().data()[n];
        best.strength[static_cast<std::size_t>(n)] = strength;
      }
      return improved;
    };
    keep_improvements();
    for (int epoch = 0, stale = 0; epoch < options.max_epochs && stale < options.patience; ++epoch) {
      std::shuffle(order.begin(), order.end(), rng);
      for (std::int64_t begin = 0; begin < rows; begin += options.batch_size) {
        const std::vector<std::int64_t> rows_in_batch(order.begin() + begin, order.begin() + std::min(rows, begin + options.batch_size));
        const ad::Var design = ad::Var::constant(ad::gather_rows(x, rows_in_batch));
        const ad::Tensor target = ad::gather_rows(y, rows_in_batch);
        const ad::Var prediction = glm_output(design, weights, bias, offset, output);
        const ad::Var data_loss = output == GlmOutput::relu ? ad::mse_loss(prediction, ad::Var::constant(target))
                                                            : ad::poisson_loss(prediction, ad::Var::constant(target), poisson_eps);
        adam.zero_grad();
        ad::backward(ad::add(data_loss, ad::mul(ad::sum(ad::square(weights)), penalty)));
        adam.step();
      }
      stale = keep_improvements() ? 0 : stale + 1;
    }
  }
  return best;
}

ad::Tensor predict_glm(const GlmFit& fit, const ad::Tensor& x) {
  ad::NoGradGuard no_grad;
  return glm_output(ad::Var::constant(x), ad::Var::constant(fit.weights), ad::Var::constant(fit.bias),
                    ad::Var::constant(fit.offset), fit.output)
      .value();
}

}  // namespace ww::training
