#include "optim/sgd.hpp"

#include "ops/optimizer.hpp"

namespace ww::optim {

Sgd::Sgd(std::vector<ad::Var> parameters, float learning_rate, float momentum)
    : Optimizer(std::move(parameters), learning_rate), momentum_(momentum) {
  velocities_ = zeros_like_parameters();
}

void Sgd::step() {
  ++steps_;
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    ad::Var& p = parameters_[i];
    if (!p.grad().defined()) continue;
    ops::sgd_update(p.value().data(), p.grad().data(), velocities_[i].data(), p.numel(), learning_rate_, momentum_);
  }
}

std::vector<std::pair<std::string, ad::Tensor>> Sgd::state() const {
  std::vector<std::pair<std::string, ad::Tensor>> named;
  for (std::size_t i = 0; i < parameters_.size(); ++i) named.emplace_back("velocity" + std::to_string(i), velocities_[i]);
  return named;
}

}  // namespace ww::optim
