#include "optim/adam.hpp"

#include <stdexcept>

#include "ops/optimizer.hpp"

namespace ww::optim {

Adam::Adam(std::vector<ad::Var> parameters, AdamOptions options)
    : parameters_(std::move(parameters)), options_(options) {
  for (const ad::Var& p : parameters_) {
    if (!p.requires_grad()) throw std::invalid_argument("Adam: every parameter must require a gradient");
    first_moments_.push_back(ad::Tensor::zeros(p.shape()));
    second_moments_.push_back(ad::Tensor::zeros(p.shape()));
  }
}

void Adam::step() {
  ++steps_;
  const ops::AdamStep step{options_.learning_rate, options_.beta1, options_.beta2, options_.eps, steps_};
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    ad::Var& p = parameters_[i];
    if (!p.grad().defined()) continue;
    ops::adam_update(p.value().data(), p.grad().data(), first_moments_[i].data(),
                     second_moments_[i].data(), p.numel(), step);
  }
}

void Adam::zero_grad() {
  for (ad::Var& p : parameters_) p.zero_grad();
}

}  // namespace ww::optim
