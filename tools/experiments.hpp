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
  ad::Tensor kernel;       // [k, k]: the CNN's learned kernel (first channel), or the first neuron's regression weights
};

// The paper's linear model (one 17x17 conv, K channels, BN, identity; factorized readout) trained
// by the paper's schedule for each strength pair of the grid (mask_l1 x feature_l1); the pair with
// the lowest validation loss is tested. Returns its mean test FEV.
Result fit_factorized_cnn(const io::Population& population, std::int64_t channels, const std::vector<float>& mask_l1_grid,
                          const std::vector<float>& feature_l1_grid, std::uint64_t seed);

// Ridge, lasso or OLS per neuron on the 17x17 stimulus crop at its true location (as the paper's
// baselines), strength chosen on the last 20% of the training samples; `neurons` of the population
// (the first ones) are fitted.
Result fit_regression(const io::Population& population, const std::string& kind, std::int64_t neurons);

// Training configuration of the linear model with the given strengths.
io::Config linear_model_config(std::int64_t channels, float mask_l1, float feature_l1, std::uint64_t seed);

}  // namespace ww::experiments
