#pragma once
// The one table of op cases. It drives the tests (each op against its double reference, gradients
// against central finite differences of that reference, equality across instruction sets and
// thread counts) and the op benchmarks. Case names are "<op>/<variant>" with the op's snake_case
// name, as in ops/ and autodiff/.
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "autodiff/functions.hpp"
#include "tests/reference.hpp"

namespace ww::testing {

struct InputSpec {
  std::string name;
  ad::Shape shape;
  std::function<float(std::mt19937&)> draw;  // the distribution of its values
  bool differentiable = true;
};

struct OpCase {
  std::string name;
  std::string op;
  std::vector<InputSpec> inputs;
  std::function<ad::Var(const std::vector<ad::Var>&)> run;
  std::function<ref::Values(const std::vector<ref::Values>&)> reference;
};

const std::vector<OpCase>& op_cases();

// Inputs drawn from each spec's distribution, deterministic in `seed`.
std::vector<ad::Tensor> make_inputs(const OpCase& c, unsigned seed);

}  // namespace ww::testing
