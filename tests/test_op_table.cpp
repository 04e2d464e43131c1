// The op table (op_cases.hpp) against references, finite differences, instruction sets and threads.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "ops/isa.hpp"
#include "ops/parallel.hpp"
#include "tests/op_cases.hpp"

namespace ww::testing {
namespace {

using ad::Tensor;
using ad::Var;
using ref::Values;

Values to_double(const Tensor& t) { return Values(t.data(), t.data() + t.numel()); }

double max_abs(const Values& v) {
  double m = 0.0;
  for (double x : v) m = std::max(m, std::fabs(x));
  return m;
}

std::vector<Var> as_vars(const OpCase& c, const std::vector<Tensor>& tensors, bool with_grad) {
  std::vector<Var> vars;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const bool grad = with_grad && c.inputs[i].differentiable;
    vars.push_back(grad ? Var::parameter(tensors[i].clone()) : Var::constant(tensors[i].clone()));
  }
  return vars;
}

// Random cotangent weights for an output of n values, so every output element matters.
Values cotangent(std::size_t n) {
  std::mt19937 rng(7);
  std::normal_distribution<double> dist(0.0, 1.0);
  Values r(n);
  for (double& x : r) x = dist(rng);
  return r;
}

// Output and input gradients of one case: forward, loss = sum(y * r), backward.
struct Run {
  Tensor output;
  std::vector<Tensor> grads;  // undefined for inputs without gradient
};

Run run_with_gradients(const OpCase& c, const std::vector<Tensor>& tensors) {
  std::vector<Var> vars = as_vars(c, tensors, true);
  Var y = c.run(vars);
  const Values r = cotangent(y.numel());
  Tensor weights(y.shape());
  for (std::size_t i = 0; i < r.size(); ++i) weights.data()[i] = static_cast<float>(r[i]);
  ad::backward(ad::sum(ad::mul(y, Var::constant(weights))));
  Run run{y.value(), {}};
  for (const Var& v : vars) run.grads.push_back(v.requires_grad() ? v.grad() : Tensor());
  return run;
}

// Restores the instruction set and thread count when a test ends, however it ends.
struct ExecutionSettings {
  ops::Isa isa = ops::current_isa();
  ~ExecutionSettings() {
    ops::set_isa(isa);
    ops::set_num_threads(0);
  }
};

}  // namespace

TEST_CASE("the op table covers every differentiable op") {
  std::vector<std::string> covered;
  for (const OpCase& c : op_cases()) covered.push_back(c.op);
  for (const char* op : {"add", "sub", "mul", "div", "neg", "exp", "log", "abs", "sqrt", "square", "relu", "elu",
                         "softplus", "sigmoid", "tanh", "sum", "mean", "weighted_sum", "reshape", "matmul", "conv2d", "batchnorm2d",
                         "bilinear_sample", "l1_norm", "squared_norm", "mse_loss", "poisson_loss"}) {
    INFO(op);
    CHECK(std::find(covered.begin(), covered.end(), op) != covered.end());
  }
}

TEST_CASE("every op matches its double-precision reference") {
  for (const OpCase& c : op_cases()) {
    INFO(c.name);
    const std::vector<Tensor> tensors = make_inputs(c, 1);
    std::vector<Values> inputs;
    for (const Tensor& t : tensors) inputs.push_back(to_double(t));
    ad::NoGradGuard no_grad;
    const Var y = c.run(as_vars(c, tensors, false));
    const Values expected = c.reference(inputs);
    REQUIRE(y.numel() == expected.size());
    double worst = 0.0;
    for (std::size_t i = 0; i < expected.size(); ++i) {
      worst = std::max(worst, std::fabs(static_cast<double>(y.value().data()[i]) - expected[i]));
    }
    const double tolerance = 1e-4 * (1.0 + max_abs(expected));
    INFO("largest error " << worst << ", tolerance " << tolerance);
    CHECK(worst <= tolerance);
  }
}

TEST_CASE("every differentiable op's gradients match central finite differences") {
  constexpr std::size_t samples_per_input = 16;
  constexpr double step = 1e-4;
  for (const OpCase& c : op_cases()) {
    INFO(c.name);
    const std::vector<Tensor> tensors = make_inputs(c, 2);
    const Run run = run_with_gradients(c, tensors);
    const Values r = cotangent(run.output.numel());
    std::vector<Values> inputs;
    for (const Tensor& t : tensors) inputs.push_back(to_double(t));
    auto loss = [&](const std::vector<Values>& in) {
      const Values y = c.reference(in);
      double total = 0.0;
      for (std::size_t i = 0; i < y.size(); ++i) total += y[i] * r[i];
      return total;
    };
    std::mt19937 rng(3);
    for (std::size_t input = 0; input < inputs.size(); ++input) {
      if (!c.inputs[input].differentiable) continue;
      INFO("input " << c.inputs[input].name);
      REQUIRE(run.grads[input].defined());
      const std::size_t n = inputs[input].size();
      for (std::size_t s = 0; s < std::min(n, samples_per_input); ++s) {
        const std::size_t index = n <= samples_per_input ? s : std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
        std::vector<Values> shifted = inputs;
        shifted[input][index] = inputs[input][index] + step;
        const double up = loss(shifted);
        shifted[input][index] = inputs[input][index] - step;
        const double down = loss(shifted);
        const double numeric = (up - down) / (2 * step);
        const double analytic = run.grads[input].data()[index];
        INFO("element " << index << ": backprop " << analytic << ", finite differences " << numeric);
        CHECK(std::fabs(analytic - numeric) <= 2e-3 * (1.0 + std::fabs(numeric)));
      }
    }
  }
}

// Output then gradients of a run, as pairs with another run's.
std::vector<std::pair<const Tensor*, const Tensor*>> tensor_pairs(const Run& a, const Run& b) {
  std::vector<std::pair<const Tensor*, const Tensor*>> pairs = {{&a.output, &b.output}};
  for (std::size_t i = 0; i < a.grads.size(); ++i)
    if (a.grads[i].defined()) pairs.push_back({&a.grads[i], &b.grads[i]});
  return pairs;
}

TEST_CASE("results agree across instruction sets and are bitwise identical for 1 and 2 threads") {
  ExecutionSettings restore;
  const std::vector<ops::Isa> isas = ops::available_isas();
  MESSAGE("instruction sets on this CPU: " << isas.size());
  for (const OpCase& c : op_cases()) {
    INFO(c.name);
    const std::vector<Tensor> tensors = make_inputs(c, 4);
    ops::set_isa(isas.back());
    ops::set_num_threads(1);
    const Run best = run_with_gradients(c, tensors);
    for (ops::Isa isa : isas) {
      INFO(ops::isa_name(isa));
      ops::set_isa(isa);
      ops::set_num_threads(1);
      const Run one_thread = run_with_gradients(c, tensors);
      ops::set_num_threads(2);
      const Run two_threads = run_with_gradients(c, tensors);
      for (const auto& pair : tensor_pairs(one_thread, two_threads)) {
        REQUIRE(pair.first->numel() == pair.second->numel());
        CHECK(std::memcmp(pair.first->data(), pair.second->data(), pair.first->numel() * sizeof(float)) == 0);
      }
      for (const auto& pair : tensor_pairs(best, one_thread)) {
        const Values expected = to_double(*pair.first);
        double worst = 0.0;
        for (std::size_t i = 0; i < expected.size(); ++i)
          worst = std::max(worst, std::fabs(expected[i] - pair.second->data()[i]));
        INFO("largest difference from " << ops::isa_name(isas.back()) << ": " << worst);
        CHECK(worst <= 1e-4 * (1.0 + max_abs(expected)));
      }
    }
  }
}

}  // namespace ww::testing

namespace ww::testing {

// The op table's tolerance (1e-4) would hide a loose approximation; softplus and sigmoid have their
// own polynomials (simd::exp_of_negative_abs, simd::log1p_unit), so their relative error is checked
// point by point.
TEST_CASE("softplus and sigmoid are within 1e-6 relative of double precision from -90 to 90, and exact at the limits, on every instruction set") {
  ExecutionSettings restore;
  std::vector<float> points;
  for (float v = -90.f; v <= 90.f; v += 0.0137f) points.push_back(v);
  const Tensor x = Tensor::from_values({static_cast<std::int64_t>(points.size())}, points);
  for (ops::Isa isa : ops::available_isas()) {
    INFO(ops::isa_name(isa));
    ops::set_isa(isa);
    const Tensor softplus = ad::softplus(Var::constant(x)).value();
    const Tensor sigmoid = ad::sigmoid(Var::constant(x)).value();
    double worst_softplus = 0.0, worst_sigmoid = 0.0;
    for (std::size_t i = 0; i < points.size(); ++i) {
      const double v = points[i];
      const double expected_softplus = std::max(v, 0.0) + std::log1p(std::exp(-std::fabs(v)));
      const double expected_sigmoid = 1.0 / (1.0 + std::exp(-v));
      // Below float's normal range only absolute error is meaningful.
      worst_softplus = std::max(worst_softplus, std::fabs(softplus.data()[i] - expected_softplus) / std::max(expected_softplus, 1e-30));
      worst_sigmoid = std::max(worst_sigmoid, std::fabs(sigmoid.data()[i] - expected_sigmoid) / std::max(expected_sigmoid, 1e-30));
    }
    MESSAGE(std::string(ops::isa_name(isa)) << ": softplus within " << worst_softplus << ", sigmoid within " << worst_sigmoid << " relative");
    CHECK(worst_softplus <= 1e-6);
    CHECK(worst_sigmoid <= 1e-6);

    // The limits: e^-|x| underflows to 0, infinities saturate, NaN stays NaN.
    const float inf = std::numeric_limits<float>::infinity();
    const Tensor limits = Tensor::from_values({3}, {-inf, inf, std::numeric_limits<float>::quiet_NaN()});
    const Tensor softplus_limits = ad::softplus(Var::constant(limits)).value();
    const Tensor sigmoid_limits = ad::sigmoid(Var::constant(limits)).value();
    CHECK(softplus_limits.data()[0] == 0.f);
    CHECK(softplus_limits.data()[1] == inf);
    CHECK(std::isnan(softplus_limits.data()[2]));
    CHECK(sigmoid_limits.data()[0] == 0.f);
    CHECK(sigmoid_limits.data()[1] == 1.f);
    CHECK(std::isnan(sigmoid_limits.data()[2]));
  }
}

}  // namespace ww::testing

namespace ww::testing {

// A tall product (2,000 x 300 x 16) shares its packed B and hands out slices of A's rows; the op
// table's large product shares A (its finite differences would take long on a tall one).
TEST_CASE("a tall product sharing its packed B matches the reference, bitwise alike on 1 and 2 threads") {
  ExecutionSettings restore;
  const std::int64_t m = 2000, n = 300, k = 16;
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.f, 1.f);
  for (int flags = 0; flags < 4; ++flags) {
    const bool transpose_a = flags & 1, transpose_b = flags & 2;
    INFO("A transposed: " << transpose_a << ", B transposed: " << transpose_b);
    const ad::Shape sa = transpose_a ? ad::Shape{k, m} : ad::Shape{m, k}, sb = transpose_b ? ad::Shape{n, k} : ad::Shape{k, n};
    Tensor a(sa), b(sb);
    for (std::size_t i = 0; i < a.numel(); ++i) a.data()[i] = normal(rng);
    for (std::size_t i = 0; i < b.numel(); ++i) b.data()[i] = normal(rng);
    const Values expected = ref::matmul(to_double(a), sa, to_double(b), sb, transpose_a, transpose_b);
    ops::set_num_threads(1);
    const Tensor one_thread = ad::matmul(Var::constant(a), Var::constant(b), transpose_a, transpose_b).value();
    ops::set_num_threads(2);
    const Tensor two_threads = ad::matmul(Var::constant(a), Var::constant(b), transpose_a, transpose_b).value();
    CHECK(std::memcmp(one_thread.data(), two_threads.data(), one_thread.numel() * sizeof(float)) == 0);
    double worst = 0.0;
    for (std::size_t i = 0; i < expected.size(); ++i) worst = std::max(worst, std::fabs(expected[i] - two_threads.data()[i]));
    INFO("largest error " << worst);
    CHECK(worst <= 1e-4 * (1.0 + max_abs(expected)));
  }
}

}  // namespace ww::testing
