#include "nn/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>

namespace ww::nn {
namespace {

struct Moments {
  double mean_p = 0, mean_t = 0, var_p = 0, var_t = 0, cov = 0, mse = 0;
};

// Per-neuron moments, after checking both arrays are [samples, neurons] of one shape.
std::vector<Moments> moments(const ad::Tensor& p, const ad::Tensor& t, const char* metric) {
  if (p.shape() != t.shape() || p.rank() != 2 || p.shape()[0] < 2) {
    throw std::invalid_argument(std::string(metric) + ": prediction " + ad::shape_string(p.shape()) + " and reference " +
                                ad::shape_string(t.shape()) + " must both be [samples >= 2, neurons]");
  }
  const std::int64_t samples = p.shape()[0], neurons = p.shape()[1];
  std::vector<Moments> m(static_cast<std::size_t>(neurons));
  for (std::int64_t n = 0; n < neurons; ++n) {
    Moments& x = m[static_cast<std::size_t>(n)];
    for (std::int64_t s = 0; s < samples; ++s) {
      x.mean_p += p.data()[s * neurons + n];
      x.mean_t += t.data()[s * neurons + n];
    }
    x.mean_p /= static_cast<double>(samples);
    x.mean_t /= static_cast<double>(samples);
    for (std::int64_t s = 0; s < samples; ++s) {
      const double dp = p.data()[s * neurons + n] - x.mean_p, dt = t.data()[s * neurons + n] - x.mean_t;
      const double err = static_cast<double>(p.data()[s * neurons + n]) - t.data()[s * neurons + n];
      x.var_p += dp * dp;
      x.var_t += dt * dt;
      x.cov += dp * dt;
      x.mse += err * err;
    }
    x.var_p /= static_cast<double>(samples);
    x.var_t /= static_cast<double>(samples);
    x.cov /= static_cast<double>(samples);
    x.mse /= static_cast<double>(samples);
  }
  return m;
}

constexpr double nan = std::numeric_limits<double>::quiet_NaN();

double finite_or_zero(double value) { return std::isfinite(value) ? value : 0.0; }

}  // namespace

std::vector<double> fev_per_neuron(const ad::Tensor& prediction, const ad::Tensor& truth) {
  std::vector<double> fev;
  for (const Moments& m : moments(prediction, truth, "fev")) fev.push_back(m.var_t > 0 ? 1.0 - m.mse / m.var_t : nan);
  return fev;
}

std::vector<double> correlation_per_neuron(const ad::Tensor& prediction, const ad::Tensor& target) {
  std::vector<double> r;
  for (const Moments& m : moments(prediction, target, "correlation"))
    r.push_back(m.var_p > 0 && m.var_t > 0 ? m.cov / std::sqrt(m.var_p * m.var_t) : nan);
  return r;
}

ColumnMoments column_moments(const ad::Tensor& values) {
  const std::int64_t rows = values.shape()[0], columns = values.shape()[1];
  ColumnMoments m{std::vector<double>(static_cast<std::size_t>(columns)), std::vector<double>(static_cast<std::size_t>(columns))};
  for (std::int64_t n = 0; n < columns; ++n) {
    double sum = 0.0, squares = 0.0;
    for (std::int64_t b = 0; b < rows; ++b) {
      const double y = values.data()[b * columns + n];
      sum += y;
      squares += y * y;
    }
    const double mean = sum / static_cast<double>(rows);
    m.mean[static_cast<std::size_t>(n)] = mean;
    m.sd[static_cast<std::size_t>(n)] = std::sqrt(std::max(squares / static_cast<double>(rows) - mean * mean, 0.0));
  }
  return m;
}

double finite_mean(const std::vector<double>& values) {
  double sum = 0.0;
  std::size_t count = 0;
  for (double v : values)
    if (std::isfinite(v)) {
      sum += v;
      ++count;
    }
  return count > 0 ? sum / static_cast<double>(count) : nan;
}

RepeatMetrics repeat_metrics(const ad::Tensor& prediction, const ad::Tensor& responses, const std::vector<std::int64_t>& image_ids) {
  if (prediction.shape() != responses.shape() || responses.rank() != 2 ||
      static_cast<std::size_t>(responses.shape()[0]) != image_ids.size()) {
    throw std::invalid_argument("repeat metrics: prediction " + ad::shape_string(prediction.shape()) + ", responses " +
                                ad::shape_string(responses.shape()) + " and " + std::to_string(image_ids.size()) +
                                " image ids must agree: [trials, neurons] and one id per trial");
  }
  const std::int64_t trials = responses.shape()[0], neurons = responses.shape()[1];
  std::map<std::int64_t, std::vector<std::int64_t>> trials_of;  // image id -> its trials
  for (std::int64_t t = 0; t < trials; ++t) trials_of[image_ids[static_cast<std::size_t>(t)]].push_back(t);
  std::int64_t repeated_images = 0;
  for (const auto& [id, list] : trials_of) repeated_images += list.size() >= 2;
  if (repeated_images == 0) throw std::invalid_argument("repeat metrics: no image is shown more than once");

  const auto images = static_cast<std::int64_t>(trials_of.size());
  ad::Tensor average_response({images, neurons}), average_prediction({images, neurons});
  ad::Tensor oracle_target({trials, neurons}), oracle_reference({trials, neurons});
  std::vector<double> noise_variance(static_cast<std::size_t>(neurons), 0.0);
  std::int64_t image = 0, oracle_rows = 0;
  for (const auto& [id, list] : trials_of) {
    const auto repeats = static_cast<double>(list.size());
    for (std::int64_t n = 0; n < neurons; ++n) {
      double sum = 0.0, sum_prediction = 0.0, squares = 0.0;
      for (const std::int64_t t : list) {
        const double y = responses.data()[t * neurons + n];
        sum += y;
        squares += y * y;
        sum_prediction += prediction.data()[t * neurons + n];
      }
      average_response.data()[image * neurons + n] = static_cast<float>(sum / repeats);
      average_prediction.data()[image * neurons + n] = static_cast<float>(sum_prediction / repeats);
      if (list.size() < 2) continue;
      noise_variance[static_cast<std::size_t>(n)] += (squares - sum * sum / repeats) / (repeats - 1.0) / static_cast<double>(repeated_images);
      for (std::size_t i = 0; i < list.size(); ++i) {  // leave-one-out means
        const double y = responses.data()[list[i] * neurons + n];
        oracle_target.data()[(oracle_rows + static_cast<std::int64_t>(i)) * neurons + n] = static_cast<float>(y);
        oracle_reference.data()[(oracle_rows + static_cast<std::int64_t>(i)) * neurons + n] = static_cast<float>((sum - y) / (repeats - 1.0));
      }
    }
    if (list.size() >= 2) oracle_rows += static_cast<std::int64_t>(list.size());
    ++image;
  }
  RepeatMetrics m;
  m.correlation_to_average = correlation_per_neuron(average_prediction, average_response);
  m.single_trial_correlation = correlation_per_neuron(prediction, responses);
  m.oracle_correlation = correlation_per_neuron(ad::slice_rows(oracle_reference, 0, oracle_rows), ad::slice_rows(oracle_target, 0, oracle_rows));
  const std::vector<Moments> trial_moments = moments(prediction, responses, "repeat metrics");
  double oracle_dot_test = 0.0, oracle_squares = 0.0;
  for (std::int64_t n = 0; n < neurons; ++n) {
    const Moments& x = trial_moments[static_cast<std::size_t>(n)];
    const double total = x.var_t * static_cast<double>(trials) / static_cast<double>(trials - 1);
    const double noise = noise_variance[static_cast<std::size_t>(n)];
    m.explainable_variance.push_back(total > 0 ? (total - noise) / total : nan);
    m.feve.push_back(total > noise ? 1.0 - (x.mse - noise) / (total - noise) : nan);
    // Neurons without a finite correlation count as 0, as they would predict nothing.
    const double oracle = finite_or_zero(m.oracle_correlation[static_cast<std::size_t>(n)]);
    const double test = finite_or_zero(m.correlation_to_average[static_cast<std::size_t>(n)]);
    oracle_dot_test += oracle * test;
    oracle_squares += oracle * oracle;
  }
  m.fraction_of_oracle = oracle_squares > 0 ? oracle_dot_test / oracle_squares : nan;
  return m;
}

}  // namespace ww::nn
