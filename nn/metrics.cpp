#include "nn/metrics.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>

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

}  // namespace ww::nn
