// The tape's behaviour, the allocator, and the errors users see for bad arguments.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <random>
#include <stdexcept>
#include <string>

#include "autodiff/allocator.hpp"
#include "autodiff/functions.hpp"
#include "ops/isa.hpp"

namespace ww::ad {
namespace {

Var parameter(Shape shape, std::vector<float> values) { return Var::parameter(Tensor::from_values(std::move(shape), values)); }

// The message of the std::invalid_argument that `f` throws ("" if none).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("a variable used twice receives the sum of both gradients") {
  Var x = parameter({3}, {1.f, -2.f, 0.5f});
  backward(sum(add(mul(x, x), x)));  // d/dx (x^2 + x) = 2x + 1
  CHECK(x.grad().to_vector() == std::vector<float>{3.f, -3.f, 2.f});
}

TEST_CASE("leaf gradients accumulate across backward calls until zero_grad") {
  Var x = parameter({2}, {1.f, 2.f});
  backward(sum(mul(x, 3.f)));
  backward(sum(mul(x, 3.f)));
  CHECK(x.grad().to_vector() == std::vector<float>{6.f, 6.f});
  x.zero_grad();
  CHECK(x.grad().to_vector() == std::vector<float>{0.f, 0.f});
  backward(sum(square(x)));
  CHECK(x.grad().to_vector() == std::vector<float>{2.f, 4.f});
}

TEST_CASE("constants get no gradient and only variables needing one are recorded") {
  Var c = Var::constant(Tensor::full({2}, 1.f));
  Var x = parameter({2}, {1.f, 2.f});
  clear_tape();
  Var only_constants = exp(c);
  CHECK_FALSE(only_constants.requires_grad());
  CHECK(tape_size() == 0);
  Var loss = sum(mul(x, c));
  CHECK(tape_size() == 2);
  backward(loss);
  CHECK(tape_size() == 0);
  CHECK_FALSE(c.grad().defined());
  CHECK(x.grad().to_vector() == std::vector<float>{1.f, 1.f});
}

TEST_CASE("no-grad scope records nothing and restores on exit") {
  Var x = parameter({2}, {1.f, 2.f});
  clear_tape();
  {
    NoGradGuard guard;
    Var y = sum(square(x));
    CHECK_FALSE(y.requires_grad());
    CHECK(tape_size() == 0);
    CHECK(y.value().item() == doctest::Approx(5.f));
  }
  CHECK(grad_enabled());
  CHECK(sum(square(x)).requires_grad());
  clear_tape();
}

TEST_CASE("backward frees intermediate gradients and saved tensors; a repeated step allocates nothing new") {
  Var w = Var::parameter(Tensor::full({4, 3, 3, 3}, 0.1f));
  Var x = Var::constant(Tensor::full({2, 3, 10, 10}, 1.f));
  Var target = Var::constant(Tensor::zeros({2, 4, 8, 8}));
  auto step = [&] {
    w.zero_grad();
    backward(mse_loss(softplus(conv2d(x, w)), target));
  };
  step();
  const AllocatorStats after_first = allocator_stats();
  step();
  step();
  const AllocatorStats after_third = allocator_stats();
  CHECK(after_third.system_allocations == after_first.system_allocations);
  CHECK(after_third.bytes_in_use == after_first.bytes_in_use);
  CHECK(w.grad().defined());
}

TEST_CASE("the allocator hands a cached block to requests of half its size up to all of it") {
  empty_cache();
  float* block = allocate_floats(1024);
  release_floats(block);
  const std::size_t allocations = allocator_stats().system_allocations;
  float* half = allocate_floats(512);
  CHECK(half == block);
  CHECK(allocator_stats().bytes_in_use >= 1024 * sizeof(float));
  float* small = allocate_floats(100);  // nothing cached within twice its size
  CHECK(small != block);
  CHECK(allocator_stats().system_allocations == allocations + 1);
  release_floats(half);
  release_floats(small);
  float* whole = allocate_floats(1024);
  CHECK(whole == block);
  CHECK(allocator_stats().system_allocations == allocations + 1);
  release_floats(whole);
}

TEST_CASE("backward needs a recorded scalar") {
  Var x = parameter({2}, {1.f, 2.f});
  CHECK(error_of([&] { backward(square(x)); }).find("one-element") != std::string::npos);
  clear_tape();
  Var loss = sum(square(x));
  backward(loss);
  CHECK(error_of([&] { backward(loss); }).find("not recorded") != std::string::npos);
  Var from_constant = sum(Var::constant(Tensor::full({2}, 1.f)));
  CHECK(error_of([&] { backward(from_constant); }).find("not recorded") != std::string::npos);
}

TEST_CASE("backward from a seeded output equals backward from the sum of output times seed") {
  const std::vector<float> x_values{0.5f, -1.f, 2.f, 0.f, -3.f, 1.5f}, seed_values{1.f, -2.f, 0.5f, 3.f, 0.25f, -1.f};
  const Tensor seed = Tensor::from_values({2, 3}, seed_values);
  Var seeded = parameter({2, 3}, x_values);
  backward(add(seeded, softplus(mul(seeded, 2.f))), seed);
  Var summed = parameter({2, 3}, x_values);
  backward(sum(mul(add(summed, softplus(mul(summed, 2.f))), Var::constant(Tensor::from_values({2, 3}, seed_values)))));
  for (std::size_t i = 0; i < x_values.size(); ++i) CHECK(seeded.grad().data()[i] == doctest::Approx(summed.grad().data()[i]).epsilon(1e-6));
  // reshape's backward hands its gradient to x as x's gradient, which the next backward adds to: the
  // seed itself, were it not copied.
  Var reshaped = parameter({2, 3}, x_values);
  backward(reshape(reshaped, {3, 2}), seed.reshaped({3, 2}));
  backward(reshape(reshaped, {3, 2}), Tensor::from_values({3, 2}, seed_values));
  for (std::size_t i = 0; i < x_values.size(); ++i) {
    CHECK(reshaped.grad().data()[i] == 2 * seed_values[i]);
    CHECK(seed.data()[i] == seed_values[i]);
  }
  // batchnorm's backward writes x's gradient over the gradient it was passed: the seed, were it
  // not copied.
  Var image = parameter({1, 2, 1, 3}, x_values);
  BatchNormState state = BatchNormState::init(2);
  backward(batchnorm2d(image, parameter({2}, {1.f, 2.f}), parameter({2}, {0.f, 1.f}), state, true), seed.reshaped({1, 2, 1, 3}));
  for (std::size_t i = 0; i < x_values.size(); ++i) CHECK(seed.data()[i] == seed_values[i]);
  Var y = softplus(seeded);
  CHECK(error_of([&] { backward(y, Tensor::full({3, 2}, 1.f)); }).find("the seed must have the output's shape [2,3], got [3,2]") !=
        std::string::npos);
  clear_tape();
}

TEST_CASE("shape errors name the op, the argument, the expected and the actual shape") {
  Var a = Var::parameter(Tensor::zeros({4, 3, 5, 7}));
  struct Expectation {
    std::string error;
    std::vector<std::string> parts;
  };
  auto state = BatchNormState::init(3);
  const std::vector<Expectation> expectations = {
      {error_of([&] { add(a, Var::constant(Tensor::zeros({4}))); }), {"add", "'b'", "[4,3,5,7]", "[4]"}},
      {error_of([&] { mul(a, Var::constant(Tensor::zeros({3, 1, 7}))); }), {"mul", "'b'", "adjacent", "[3,1,7]"}},
      {error_of([&] { matmul(Var::constant(Tensor::zeros({2, 3})), Var::constant(Tensor::zeros({4, 5}))); }),
       {"matmul", "'b'", "rows = 3", "[4,5]"}},
      {error_of([&] { conv2d(a, Var::constant(Tensor::zeros({8, 2, 3, 3}))); }),
       {"conv2d", "'weight'", "[out_channels,3,kh,kw]", "[8,2,3,3]"}},
      {error_of([&] { conv2d(a, Var::constant(Tensor::zeros({8, 3, 9, 9}))); }), {"conv2d", "larger than the input"}},
      {error_of([&] { conv2d(Var::constant(Tensor::zeros({3, 5, 7})), a); }), {"conv2d", "'x'", "4 dimensions", "[3,5,7]"}},
      {error_of([&] { batchnorm2d(a, Var::constant(Tensor::zeros({4})), Var(), state, true); }),
       {"batchnorm2d", "'gamma'", "[3]", "[4]"}},
      {error_of([&] { bilinear_sample(a, Var::constant(Tensor::zeros({5, 3}))); }),
       {"bilinear_sample", "'positions'", "[neurons,2]", "[5,3]"}},
      {error_of([&] { mse_loss(a, Var::constant(Tensor::zeros({4, 3}))); }), {"mse_loss", "'target'", "[4,3,5,7]", "[4,3]"}},
      {error_of([&] { poisson_loss(a, a); }), {"poisson_loss", "'rate'", "2 dimensions", "[4,3,5,7]"}},
      {error_of([&] { reshape(a, {7, 7}); }), {"reshape", "49 elements", "[4,3,5,7]"}},
      {error_of([&] { sum(a, {4}); }), {"sum", "'axes'", "axis 4", "[4,3,5,7]"}},
      {error_of([&] { mean(a, {1, -3}); }), {"mean", "repeats axis"}},
  };
  for (std::size_t i = 0; i < expectations.size(); ++i) {
    const Expectation& e = expectations[i];
    INFO("expectation " << i << ": " << e.error);
    REQUIRE_FALSE(e.error.empty());
    for (const std::string& part : e.parts) CHECK(e.error.find(part) != std::string::npos);
  }
  clear_tape();
}

TEST_CASE("instruction sets are parsed and refused clearly") {
  CHECK(ops::parse_isa("avx2") == ops::Isa::avx2);
  CHECK(error_of([] { ops::parse_isa("neon"); }).find("expected sse2, avx2 or avx512") != std::string::npos);
  CHECK_FALSE(ops::available_isas().empty());
}

}  // namespace ww::ad

namespace ww::ad {

// The fused op keeps only its output; its values must be the composition's exactly and its
// gradients the composition's to rounding (the activation's derivative is taken from the output).
TEST_CASE("batchnorm2d with a fused relu or softplus equals batchnorm2d followed by the activation") {
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.f, 1.f);
  Tensor x_values({6, 3, 7, 8}), cotangent({6, 3, 7, 8});
  for (std::size_t i = 0; i < x_values.numel(); ++i) {
    x_values.data()[i] = normal(rng);
    cotangent.data()[i] = normal(rng);
  }
  for (const ops::Activation activation : {ops::Activation::relu, ops::Activation::softplus}) {
    std::vector<Tensor> values, gradients;
    for (const bool fused : {false, true}) {
      const Var x = Var::parameter(x_values.clone());
      const Var gamma = Var::parameter(Tensor::from_values({3}, {0.7f, 1.2f, 0.9f}));
      const Var beta = Var::parameter(Tensor::from_values({3}, {0.1f, -0.3f, 0.5f}));
      BatchNormState state = BatchNormState::init(3);
      const Var y = fused ? batchnorm2d(x, gamma, beta, state, true, activation)
                          : (activation == ops::Activation::relu ? relu(batchnorm2d(x, gamma, beta, state, true))
                                                                   : softplus(batchnorm2d(x, gamma, beta, state, true)));
      backward(sum(mul(y, Var::constant(cotangent))));
      values.push_back(y.value());
      for (const Var& v : {x, gamma, beta}) gradients.push_back(v.grad());
    }
    CHECK(std::memcmp(values[0].data(), values[1].data(), values[0].numel() * sizeof(float)) == 0);
    for (std::size_t g = 0; g < 3; ++g) {
      double worst = 0.0;
      for (std::size_t i = 0; i < gradients[g].numel(); ++i)
        worst = std::max(worst, static_cast<double>(std::fabs(gradients[g].data()[i] - gradients[3 + g].data()[i])) /
                                    (1.0 + std::fabs(gradients[g].data()[i])));
      INFO("gradient " << g << ": largest difference " << worst);
      CHECK(worst <= 1e-5);
    }
  }
}

// Batch norm writes its input's gradient over its output's, and a convolution or a matrix product
// overwrites its input's gradient, when the input has none yet; when the input feeds other ops
// too, their gradients must add up either way round. (The convolutions cover each input-gradient
// path: one input channel, fewer outputs than inputs, more, 1x1, and many inputs, whose transposed
// convolution is direct.)
TEST_CASE("an op's input gradient adds to the gradients of the input's other uses, in either order") {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.f, 1.f);
  auto random = [&](const Shape& shape) {
    Tensor t(shape);
    for (std::size_t i = 0; i < t.numel(); ++i) t.data()[i] = normal(rng);
    return t;
  };
  BatchNormState state = BatchNormState::init(2);
  struct Case {
    const char* name;
    Shape x;
    std::function<Var(const Var&)> op;
  };
  const Tensor right = random({4, 5}), right_t = random({5, 4}), left = random({6, 4});
  const Tensor w_single = random({3, 1, 3, 3}), w_fewer = random({1, 2, 3, 3}), w_more = random({3, 2, 3, 3}), w_pointwise = random({3, 2, 1, 1});
  const Tensor w_many_inputs = random({3, 32, 3, 3});
  const std::vector<Case> cases{
      {"batchnorm2d", {4, 2, 5, 5}, [&](const Var& x) { return batchnorm2d(x, Var(), Var(), state, true, ops::Activation::softplus); }},
      {"conv2d, one input channel", {4, 1, 6, 6}, [&](const Var& x) { return conv2d(x, Var::constant(w_single)); }},
      {"conv2d, fewer outputs", {4, 2, 6, 6}, [&](const Var& x) { return conv2d(x, Var::constant(w_fewer)); }},
      {"conv2d, more outputs", {4, 2, 6, 6}, [&](const Var& x) { return conv2d(x, Var::constant(w_more)); }},
      {"conv2d, 1x1", {4, 2, 6, 6}, [&](const Var& x) { return conv2d(x, Var::constant(w_pointwise)); }},
      {"conv2d, many inputs", {2, 32, 12, 11}, [&](const Var& x) { return conv2d(x, Var::constant(w_many_inputs)); }},
      {"matmul, left", {6, 4}, [&](const Var& x) { return matmul(x, Var::constant(right)); }},
      {"matmul, left transposed", {4, 6}, [&](const Var& x) { return matmul(x, Var::constant(right_t), true, true); }},
      {"matmul, right", {4, 5}, [&](const Var& x) { return matmul(Var::constant(left), x); }},
      {"matmul, right transposed", {5, 4}, [&](const Var& x) { return matmul(Var::constant(left), x, false, true); }},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    const Tensor x_values = random(c.x), other = random(c.x);
    Tensor cotangent;
    auto x_gradient = [&](int order) {
      const Var x = Var::parameter(x_values.clone());
      auto through_op = [&] {
        const Var y = c.op(x);
        if (!cotangent.defined()) cotangent = random(y.shape());
        return sum(mul(y, Var::constant(cotangent)));
      };
      auto direct = [&] { return sum(mul(x, Var::constant(other))); };
      if (order == 0) backward(through_op());
      if (order == 1) {
        const Var first = through_op();
        backward(add(first, direct()));
      }
      if (order == 2) {
        const Var first = direct();
        backward(add(first, through_op()));
      }
      return x.grad();
    };
    const Tensor alone = x_gradient(0), op_last = x_gradient(1), op_first = x_gradient(2);
    for (std::size_t i = 0; i < alone.numel(); ++i) {
      CHECK(op_last.data()[i] == doctest::Approx(alone.data()[i] + other.data()[i]).epsilon(1e-5));
      CHECK(op_first.data()[i] == doctest::Approx(alone.data()[i] + other.data()[i]).epsilon(1e-5));
    }
  }
}

}  // namespace ww::ad
