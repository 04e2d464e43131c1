#pragma once
// Stochastic gradient descent with (heavy-ball) momentum: v = momentum v + g; p -= lr v.
#include "optim/optimizer.hpp"

namespace ww::optim {

class Sgd : public Optimizer {
 public:
  Sgd(std::vector<ad::Var> parameters, float learning_rate, float momentum = 0.9f);
  void step() override;
  std::vector<std::pair<std::string, ad::Tensor>> state() const override;

 private:
  std::vector<ad::Tensor> velocities_;
  float momentum_;
};

}  // namespace ww::optim
