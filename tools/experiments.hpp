#pragma once
// The paper's experiments as functions (ww-repro and the demo run them): each fits the models of
// a figure to simulated populations and returns one row per (model, population size, samples).
#include <functional>
#include <string>
#include <vector>

#include "io/config.hpp"
#include "io/populations.hpp"

namespace ww::experiments {

struct Result {
  std::string model;       // "cnn", "ridge", "lasso", "ols"
  std::int64_t neurons = 0, samples = 0;
  double fev = 0.0;        // mean over the neurons fitted
  double seconds = 0.0;    // fitting time, all strengths of its grid search included
  std::string chosen;      // the regularisation chosen on validation data, readable
  ad::Tensor kernels;      // [K, k, k]: the CNN's learned kernels, or [1, k, k] the first neuron's regression weights
  ad::Tensor features;     // [K, N]: the CNN's feature weights
  double type_accuracy = -1.0;  // cell-type classification by feature weights, where types are known
};

struct Strengths {
  float mask_l1 = 0.f, feature_l1 = 0.f;
};

// The paper's linear model (one 17x17 conv, K channels, BN, identity; factorized readout) trained
// by the paper's schedule for each candidate of the grid; the one with the lowest validation loss
// is tested. Returns its mean test FEV, kernels and feature weights.
Result fit_factorized_cnn(const io::Population& population, std::int64_t channels, const std::vector<Strengths>& grid,
                          std::uint64_t seed);

// The share of neurons whose largest |feature weight| [K, N] names their true type [N] (0..K-1),
// under the best matching of channels to types (the model's channel order is arbitrary).
double type_accuracy(const ad::Tensor& features, const ad::Tensor& types);

// Ridge, lasso or OLS per neuron on the 17x17 stimulus crop at its true location (as the paper's
// baselines), strength chosen on the last 20% of the training samples; `neurons` of the population
// (the first ones) are fitted.
Result fit_regression(const io::Population& population, const std::string& kind, std::int64_t neurons);

// Training configuration of the linear model with the given strengths.
io::Config linear_model_config(std::int64_t channels, float mask_l1, float feature_l1, std::uint64_t seed);

}  // namespace ww::experiments
