#include "optim/adam.hpp"

#include "ops/optimizer.hpp"

namespace ww::optim {

Adam::Adam(std::vector<ad::Var> parameters, AdamOptions options)
    : Optimizer(std::move(parameters), options.learning_rate), options_(options) {
  first_moments_ = zeros_like_parameters();
  second_moments_ = zeros_like_parameters();
}

void Adam::step() {
  ++steps_;
  const ops::AdamStep step{learning_rate_, options_.beta1, options_.beta2, options_.eps, steps_};
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    ad::Var& p = parameters_[i];
    if (!p.grad().defined()) continue;
    ops::adam_update(p.value().data(), p.grad().data(), first_moments_[i].data(), second_moments_[i].data(), p.numel(),
                     step);
  }
}

std::vector<std::pair<std::string, ad::Tensor>> Adam::state() const {
  std::vector<std::pair<std::string, ad::Tensor>> named;
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    named.emplace_back("m" + std::to_string(i), first_moments_[i]);
    named.emplace_back("v" + std::to_string(i), second_moments_[i]);
  }
  return named;
}

}  // namespace ww::optim
