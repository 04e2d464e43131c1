// Parity with PyTorch: for each model family the same weights and inputs give the same prediction,
// loss, penalty, gradients and running statistics in PyTorch (tests/torch_parity.py, float64),
// within a relative error of 1e-4. Skipped with a message where python3-torch is absent.
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "io/config.hpp"
#include "io/npy.hpp"
#include "nn/model.hpp"
#include "tests/support.hpp"

namespace ww::testing {
namespace {

struct ParityCase {
  std::string name;
  std::string model_json;
  std::int64_t channels, height, width, neurons;
  bool training;
};

const std::vector<ParityCase> parity_cases = {
    {"linear", R"({"core": {"layers": [{"channels": 1, "kernel": 17, "nonlinearity": "identity"}]},
       "penalties": {"smoothness": 0.1, "mask_l1": 0.01, "feature_l1": 0.02, "kernel_l2": 0.03}})", 1, 22, 21, 7, true},
    {"nonlinear", R"({"core": {"layers": [{"channels": 4, "kernel": 5, "nonlinearity": "relu"},
       {"channels": 6, "kernel": 5, "nonlinearity": "relu", "bn_center": false},
       {"channels": 3, "kernel": 5, "nonlinearity": "relu", "bn_scale": false}]},
       "penalties": {"group_sparsity": 0.05, "mask_l1": 0.01}})", 1, 18, 17, 9, true},
    {"v1", R"({"core": {"layers": [{"channels": 5, "kernel": 13, "nonlinearity": "softplus"},
       {"channels": 5, "kernel": 3, "nonlinearity": "identity", "padding": "same"}]},
       "readout": {"kind": "factorized", "positive": true, "normalize_features": true, "output": "softplus"},
       "penalties": {"smoothness": 0.1, "smoothness_normalized": true, "group_sparsity": 0.05, "readout_product": 0.01},
       "loss": "poisson"})", 1, 17, 17, 6, true},
    {"fixed_mask", R"({"core": {"layers": [{"channels": 3, "kernel": 3, "nonlinearity": "elu", "padding": "same"}]},
       "readout": {"kind": "fixed_mask"}, "penalties": {"feature_l1": 0.01}})", 2, 9, 8, 5, true},
    {"fully_connected", R"({"core": {"layers": [{"channels": 3, "kernel": 4, "nonlinearity": "elu"}]},
       "readout": {"kind": "fully_connected"}, "penalties": {"readout_l2": 0.02, "activity_l1": 0.01}})", 1, 10, 9, 4, true},
    {"gaussian_eval", R"({"core": {"layers": [{"channels": 4, "kernel": 3, "nonlinearity": "softplus"}]},
       "readout": {"kind": "gaussian", "output": "softplus"}, "penalties": {"feature_l1": 0.01}, "loss": "poisson"})",
     1, 12, 11, 8, false},
    {"gaussian_train_full", R"({"core": {"layers": [{"channels": 4, "kernel": 3, "nonlinearity": "softplus"}]},
       "readout": {"kind": "gaussian", "covariance": "full", "init_sigma": 0.2}, "penalties": {"feature_l1": 0.01}})",
     1, 12, 11, 8, true},
    {"gaussian_train_uncorrelated", R"({"core": {"layers": [{"channels": 3, "kernel": 3, "nonlinearity": "elu"}]},
       "readout": {"kind": "gaussian", "covariance": "uncorrelated", "init_sigma": 0.2}})", 2, 10, 10, 5, true},
    {"gaussian_train_isotropic", R"({"core": {"layers": [{"channels": 3, "kernel": 3, "nonlinearity": "relu"}]},
       "readout": {"kind": "gaussian", "covariance": "isotropic", "init_sigma": 0.2}})", 1, 9, 12, 6, true},
};

void write_case(const std::string& dir, const ParityCase& c) {
  io::Config config = io::parse_config("{\"model\": " + c.model_json + "}", c.name);
  config.model.core.input_channels = c.channels;
  config.model.input_height = c.height;
  config.model.input_width = c.width;
  config.model.neurons = c.neurons;
  nn::Model model(config.model, 11);
  model.train(c.training);
  std::mt19937_64 rng(3);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::uniform_real_distribution<float> uniform(0.f, 1.f);
  std::vector<std::pair<std::string, ad::Tensor>> arrays;
  for (auto& [name, var] : model.named_parameters()) {
    float* v = var.value().data();
    for (std::size_t i = 0; i < var.numel(); ++i) {
      v[i] = name.find("mu") != std::string::npos      ? 1.4f * uniform(rng) - 0.7f
             : name.find("sigma") != std::string::npos ? 0.05f + 0.2f * uniform(rng)
             : name.find("bn_scale") != std::string::npos ? 0.5f + uniform(rng)
                                                           : 0.3f * normal(rng);
    }
    arrays.emplace_back("param:" + name, var.value().clone());
  }
  for (auto& [name, tensor] : model.named_buffers()) {
    float* v = tensor.data();
    for (std::size_t i = 0; i < tensor.numel(); ++i) {
      // Normalisation: an image mean, then positive SDs (image and responses).
      const bool positive = name.find("running_var") != std::string::npos || name.find("response_sd") != std::string::npos ||
                            (name.find("normalization.image") != std::string::npos && i == 1);
      v[i] = positive ? 0.5f + uniform(rng) : name.find("mask") != std::string::npos ? (uniform(rng) < 0.05f ? 1.f : 0.f) : 0.2f * normal(rng);
    }
    arrays.emplace_back("buffer:" + name, tensor.clone());
  }
  ad::Tensor images({3, c.channels, c.height, c.width}), responses({3, c.neurons});
  for (std::size_t i = 0; i < images.numel(); ++i) images.data()[i] = normal(rng);
  for (std::size_t i = 0; i < responses.numel(); ++i) responses.data()[i] = 2.f * uniform(rng);
  // The Gaussian readout's training-mode samples, drawn as the readout draws them (one
  // N(0,1) pair per sample and neuron from the model's generator), for PyTorch to use.
  std::mt19937_64 sampler = model.rng();
  std::normal_distribution<float> standard(0.f, 1.f);
  ad::Tensor eps({3, c.neurons, 2});
  for (std::size_t i = 0; i < eps.numel(); ++i) eps.data()[i] = standard(sampler);
  arrays.emplace_back("eps", eps);
  const ad::Var input = ad::Var::parameter(images.clone());
  const ad::Var prediction = model.forward(input);
  const ad::Var loss = model.loss(prediction, ad::Var::constant(responses));
  const ad::Var penalty = model.penalty(prediction);
  ad::backward(penalty.defined() ? ad::add(loss, penalty) : loss);
  arrays.emplace_back("images", images);
  arrays.emplace_back("responses", responses);
  arrays.emplace_back("prediction", prediction.value());
  arrays.emplace_back("loss", loss.value());
  arrays.emplace_back("penalty", penalty.defined() ? penalty.value() : ad::Tensor::zeros({}));
  arrays.emplace_back("grad_images", input.grad());
  for (auto& [name, var] : model.named_parameters()) {
    arrays.emplace_back("grad:" + name, var.grad().defined() ? var.grad() : ad::Tensor::zeros(var.shape()));
  }
  for (auto& [name, tensor] : model.named_buffers()) arrays.emplace_back("after:" + name, tensor.clone());
  io::write_npz(dir + "/" + c.name + ".npz", arrays, false);
  std::ofstream(dir + "/" + c.name + ".json")
      << "{\"training_mode\": " << (c.training ? "true" : "false") << ", \"config\": "
      << io::config_to_json(config) << "}";
}

}  // namespace

TEST_CASE("core, readouts, losses and penalties match PyTorch") {
  const std::string dir = temporary_folder("parity");
  for (const ParityCase& c : parity_cases) write_case(dir, c);
  // Debian's interpreter, which has python3-torch, even where another python3 comes first in PATH.
  const std::string python = std::filesystem::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
  const CommandResult result =
      run_command(python + " '" + std::string(WW_SOURCE_DIR) + "/tests/torch_parity.py' '" + dir + "'");
  const int code = result.exit_code;
  const std::string& output = result.output;
  if (code == 77) {
    MESSAGE(output);
  } else {
    INFO(output);
    CHECK(code == 0);
    const auto summary = output.rfind("torch_parity:");
    MESSAGE((summary == std::string::npos ? output : output.substr(summary)));
  }
  std::filesystem::remove_all(dir);
}

}  // namespace ww::testing
