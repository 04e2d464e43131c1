#pragma once
// Adam (Kingma & Ba) with bias correction.
#include "optim/optimizer.hpp"

namespace ww::optim {

struct AdamOptions {
  float learning_rate = 1e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
};

class Adam : public Optimizer {
 public:
  Adam(std::vector<ad::Var> parameters, AdamOptions options = {});
  void step() override;
  std::vector<std::pair<std::string, ad::Tensor>> state() const override;

 private:
  std::vector<ad::Tensor> first_moments_, second_moments_;
  AdamOptions options_;
};

}  // namespace ww::optim
