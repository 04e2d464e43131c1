#pragma once
// Per-neuron evaluation metrics on [samples, neurons] arrays. A neuron whose reference has no
// variance gets NaN; means skip NaN.
#include <cstdint>
#include <vector>

#include "autodiff/tensor.hpp"

namespace ww::nn {

// Fraction of explained variance against noise-free responses: 1 - mean((p - r)^2) / Var(r).
std::vector<double> fev_per_neuron(const ad::Tensor& prediction, const ad::Tensor& truth);
// Pearson correlation between prediction and target.
std::vector<double> correlation_per_neuron(const ad::Tensor& prediction, const ad::Tensor& target);
// Each column's mean and SD (population, 1/B) of a [B, N] array.
struct ColumnMoments {
  std::vector<double> mean, sd;
};
ColumnMoments column_moments(const ad::Tensor& values);

// Mean over the finite values.
double finite_mean(const std::vector<double>& values);

// Metrics of recordings with repeated images: prediction and responses [trials, N]; trials with
// the same image id showed the same image. Variances are unbiased (ddof 1); only images shown at
// least twice enter the noise variance and the oracle.
struct RepeatMetrics {
  std::vector<double> correlation_to_average;    // prediction vs the response averaged over each image's repeats
  std::vector<double> single_trial_correlation;  // prediction vs every single trial
  std::vector<double> oracle_correlation;        // each trial vs the mean of the other repeats of its image
  std::vector<double> explainable_variance;      // (total variance - noise variance) / total variance
  std::vector<double> feve;                      // 1 - (MSE - noise variance) / (total variance - noise variance)
  double fraction_of_oracle = 0.0;  // slope through the origin of correlation_to_average against the oracle, over neurons
};
// Throws std::invalid_argument on mismatched shapes or when no image is shown twice.
RepeatMetrics repeat_metrics(const ad::Tensor& prediction, const ad::Tensor& responses, const std::vector<std::int64_t>& image_ids);

}  // namespace ww::nn
