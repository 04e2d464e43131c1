#pragma once
// Adam (Kingma & Ba) with bias correction, on a fixed list of parameters.
#include <vector>

#include "autodiff/var.hpp"

namespace ww::optim {

struct AdamOptions {
  float learning_rate = 1e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
};

class Adam {
 public:
  Adam(std::vector<ad::Var> parameters, AdamOptions options = {});
  // Updates every parameter that has a gradient; parameters without one are left as they are.
  void step();
  void zero_grad();
  float learning_rate() const { return options_.learning_rate; }
  void set_learning_rate(float learning_rate) { options_.learning_rate = learning_rate; }
  long long steps_taken() const { return steps_; }

 private:
  std::vector<ad::Var> parameters_;
  std::vector<ad::Tensor> first_moments_, second_moments_;
  AdamOptions options_;
  long long steps_ = 0;
};

}  // namespace ww::optim
