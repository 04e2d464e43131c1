#pragma once
// Per-neuron evaluation metrics on [samples, neurons] arrays. A neuron whose reference has no
// variance gets NaN; means skip NaN.
#include <vector>

#include "autodiff/tensor.hpp"

namespace ww::nn {

// Fraction of explained variance against noise-free responses: 1 - mean((p - r)^2) / Var(r).
std::vector<double> fev_per_neuron(const ad::Tensor& prediction, const ad::Tensor& truth);
// Pearson correlation between prediction and target.
std::vector<double> correlation_per_neuron(const ad::Tensor& prediction, const ad::Tensor& target);
// Mean over the finite values.
double finite_mean(const std::vector<double>& values);

}  // namespace ww::nn
