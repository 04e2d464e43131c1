// ww-demo: trains a small core + factorized readout on responses it simulates, printing the
// training and validation loss as they fall. A smoke test of the whole engine, no data needed.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>

#include "autodiff/functions.hpp"
#include "ops/isa.hpp"
#include "ops/parallel.hpp"
#include "optim/adam.hpp"

namespace {

using ww::ad::Shape;
using ww::ad::Tensor;
using ww::ad::Var;

Tensor random_tensor(Shape shape, std::mt19937& rng, float mean, float sd) {
  Tensor t(std::move(shape));
  std::normal_distribution<float> dist(mean, sd);
  for (std::size_t i = 0; i < t.numel(); ++i) t.data()[i] = dist(rng);
  return t;
}

// A shared convolutional core and a factorized (mask x features) readout.
struct Model {
  Var kernel, mask, features, bias;
  ww::ad::BatchNormState norm;
  bool batch_norm;

  Var operator()(const Var& images, bool training) {
    Var core = ww::ad::conv2d(images, kernel);
    if (batch_norm) core = ww::ad::batchnorm2d(core, Var(), Var(), norm, training);
    core = ww::ad::softplus(core);
    const Shape& s = core.shape();  // [B, K, H, W]
    // Mask first ([B*K, H*W] x [N, H*W]^T), then features: never an [N, K, H, W] tensor.
    Var located = ww::ad::matmul(ww::ad::reshape(core, {s[0] * s[1], s[2] * s[3]}), mask, false, true);
    located = ww::ad::reshape(located, {s[0], s[1], mask.shape()[0]});
    return ww::ad::add(ww::ad::sum(ww::ad::mul(located, features), {1}), bias);
  }
};

Model make_model(std::int64_t channels, std::int64_t pixels, std::int64_t neurons, bool batch_norm,
                 std::mt19937& rng, bool teacher) {
  Model m;
  m.kernel = Var::parameter(random_tensor({channels, 1, 5, 5}, rng, 0.f, teacher ? 0.4f : 0.1f));
  Tensor mask = random_tensor({neurons, pixels}, rng, 0.f, teacher ? 0.f : 0.01f);
  if (teacher) {
    // Each teacher neuron looks at one location.
    std::uniform_int_distribution<std::int64_t> where(0, pixels - 1);
    for (std::int64_t n = 0; n < neurons; ++n) mask.data()[n * pixels + where(rng)] = 1.f;
  }
  m.mask = Var::parameter(mask);
  m.features = Var::parameter(teacher ? random_tensor({channels, neurons}, rng, 0.f, 1.f)
                                      : random_tensor({channels, neurons}, rng, 1.f / channels, 0.01f));
  m.bias = Var::parameter(Tensor::zeros({neurons}));
  m.norm = ww::ad::BatchNormState::init(channels);
  m.batch_norm = batch_norm;
  return m;
}

// Rows [begin, begin + count) of a [n, ...] tensor, copied.
Tensor rows(const Tensor& t, std::int64_t begin, std::int64_t count) {
  Shape shape = t.shape();
  const std::size_t row = t.numel() / static_cast<std::size_t>(shape[0]);
  shape[0] = count;
  Tensor out(shape);
  std::copy(t.data() + begin * row, t.data() + (begin + count) * row, out.data());
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ww-demo: fit a small CNN with a factorized readout to simulated neurons"};
  int steps = 400, neurons = 50, images = 2048, batch = 64, threads = 0;
  unsigned seed = 1;
  app.add_option("--steps", steps, "training steps")->check(CLI::PositiveNumber);
  app.add_option("--neurons", neurons, "simulated neurons")->check(CLI::PositiveNumber);
  app.add_option("--images", images, "simulated images (80% train, 20% validation)")->check(CLI::Range(10, 1 << 20));
  app.add_option("--batch", batch, "batch size")->check(CLI::PositiveNumber);
  app.add_option("--seed", seed, "random seed");
  app.add_option("--threads", threads, "worker threads (0: all cores)")->check(CLI::NonNegativeNumber);
  CLI11_PARSE(app, argc, argv);
  ww::ops::set_num_threads(threads);

  constexpr std::int64_t side = 24, channels = 4, pixels = 20 * 20;
  std::mt19937 rng(seed);
  Model teacher = make_model(channels, pixels, neurons, false, rng, true);
  Tensor stimuli = random_tensor({images, 1, side, side}, rng, 0.f, 1.f);
  Tensor responses;
  {
    ww::ad::NoGradGuard no_grad;
    responses = teacher(Var::constant(stimuli), false).value();
  }
  std::normal_distribution<float> noise(0.f, 1.f);
  for (std::size_t i = 0; i < responses.numel(); ++i) responses.data()[i] += 0.5f * noise(rng);

  const std::int64_t train = images * 4 / 5, validation = images - train;
  const Var val_images = Var::constant(rows(stimuli, train, validation));
  const Var val_responses = Var::constant(rows(responses, train, validation));
  Model student = make_model(channels, pixels, neurons, true, rng, false);
  ww::optim::Adam adam({student.kernel, student.mask, student.features, student.bias}, {1e-2f});

  std::printf("ww-demo: %d neurons, %lld training and %lld validation images of %lldx%lld, %s, %d threads\n",
              neurons, static_cast<long long>(train), static_cast<long long>(validation),
              static_cast<long long>(side), static_cast<long long>(side),
              ww::ops::isa_name(ww::ops::current_isa()), ww::ops::num_threads());
  auto validation_loss = [&] {
    ww::ad::NoGradGuard no_grad;
    return ww::ad::mse_loss(student(val_images, false), val_responses).value().item();
  };
  const float first_validation = validation_loss();
  std::printf("%6s %12s %12s\n", "step", "train_mse", "val_mse");
  std::printf("%6d %12s %12.4f\n", 0, "-", first_validation);
  const auto start = std::chrono::steady_clock::now();
  std::uniform_int_distribution<std::int64_t> pick(0, train - batch);
  float last_validation = first_validation;
  for (int step = 1; step <= steps; ++step) {
    const std::int64_t begin = pick(rng);
    adam.zero_grad();
    Var loss = ww::ad::mse_loss(student(Var::constant(rows(stimuli, begin, batch)), true),
                                Var::constant(rows(responses, begin, batch)));
    ww::ad::backward(loss);
    adam.step();
    if (step % 50 == 0 || step == steps) {
      last_validation = validation_loss();
      std::printf("%6d %12.4f %12.4f\n", step, loss.value().item(), last_validation);
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("validation MSE %.4f -> %.4f (noise floor 0.25) in %.2f s, %.2f ms per step\n", first_validation,
              last_validation, seconds, 1e3 * seconds / steps);
  return std::isfinite(last_validation) && last_validation < first_validation ? 0 : 1;
}
