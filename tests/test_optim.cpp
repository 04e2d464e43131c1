// Optimisers against hand-written scalar references.
#include <doctest/doctest.h>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "autodiff/functions.hpp"
#include "optim/adam.hpp"

namespace ww::optim {

TEST_CASE("Adam follows the bias-corrected update rule step by step") {
  // 37 parameters: a SIMD tail on every instruction set.
  std::vector<float> start(37);
  for (std::size_t i = 0; i < start.size(); ++i) start[i] = 0.1f * static_cast<float>(i) - 1.5f;
  ad::Var p = ad::Var::parameter(ad::Tensor::from_values({37}, start));
  const AdamOptions options{0.05f, 0.8f, 0.95f, 1e-6f};
  Adam adam({p}, options);
  std::vector<double> value(start.begin(), start.end()), m(37, 0.0), v(37, 0.0);
  for (int t = 1; t <= 4; ++t) {
    adam.zero_grad();
    ad::backward(ad::sum(ad::mul(ad::square(p), 0.5f)));  // gradient = p
    adam.step();
    for (std::size_t i = 0; i < value.size(); ++i) {
      const double g = value[i];
      m[i] = options.beta1 * m[i] + (1 - options.beta1) * g;
      v[i] = options.beta2 * v[i] + (1 - options.beta2) * g * g;
      const double m_hat = m[i] / (1 - std::pow(options.beta1, t));
      const double v_hat = v[i] / (1 - std::pow(options.beta2, t));
      value[i] -= options.learning_rate * m_hat / (std::sqrt(v_hat) + options.eps);
    }
    for (std::size_t i = 0; i < value.size(); ++i) {
      INFO("step " << t << ", parameter " << i);
      CHECK(p.value().data()[i] == doctest::Approx(value[i]).epsilon(1e-5));
    }
  }
  CHECK(adam.steps_taken() == 4);
}

TEST_CASE("Adam leaves parameters without gradient untouched and refuses constants") {
  ad::Var used = ad::Var::parameter(ad::Tensor::full({3}, 1.f));
  ad::Var unused = ad::Var::parameter(ad::Tensor::full({3}, 2.f));
  Adam adam({used, unused});
  ad::backward(ad::sum(used));
  adam.step();
  CHECK(unused.value().to_vector() == std::vector<float>{2.f, 2.f, 2.f});
  CHECK(used.value().data()[0] < 1.f);
  CHECK_THROWS_AS(Adam({ad::Var::constant(ad::Tensor::zeros({2}))}), std::invalid_argument);
}

}  // namespace ww::optim
