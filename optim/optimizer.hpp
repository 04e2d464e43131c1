#pragma once
// Optimisers over a fixed list of parameters. Parameters without a gradient are left as they are.
#include <string>
#include <utility>
#include <vector>

#include "autodiff/var.hpp"

namespace ww::optim {

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual void step() = 0;
  // Drops every parameter's gradient (PyTorch's set_to_none): a parameter the next backward pass
  // does not reach, such as another recording's readout, is left as it is by step().
  void zero_grad();
  float learning_rate() const { return learning_rate_; }
  void set_learning_rate(float learning_rate) { learning_rate_ = learning_rate; }
  long long steps_taken() const { return steps_; }
  // Internal state (moments, velocities) by name, sharing storage: a checkpoint copies into and
  // out of these tensors; with steps_taken, they make a run resumable exactly.
  virtual std::vector<std::pair<std::string, ad::Tensor>> state() const = 0;
  void set_steps_taken(long long steps) { steps_ = steps; }

 protected:
  Optimizer(std::vector<ad::Var> parameters, float learning_rate);
  // One zero tensor per parameter, shaped like it.
  std::vector<ad::Tensor> zeros_like_parameters() const;
  std::vector<ad::Var> parameters_;
  float learning_rate_;
  long long steps_ = 0;
};

}  // namespace ww::optim
