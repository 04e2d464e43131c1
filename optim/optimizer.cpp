#include "optim/optimizer.hpp"

#include <stdexcept>

namespace ww::optim {

Optimizer::Optimizer(std::vector<ad::Var> parameters, float learning_rate)
    : parameters_(std::move(parameters)), learning_rate_(learning_rate) {
  for (const ad::Var& p : parameters_) {
    if (!p.requires_grad()) throw std::invalid_argument("optimizer: every parameter must require a gradient");
  }
}

void Optimizer::zero_grad() {
  for (ad::Var& p : parameters_) p.clear_grad();
}

std::vector<ad::Tensor> Optimizer::zeros_like_parameters() const {
  std::vector<ad::Tensor> tensors;
  for (const ad::Var& p : parameters_) tensors.push_back(ad::Tensor::zeros(p.shape()));
  return tensors;
}

}  // namespace ww::optim
