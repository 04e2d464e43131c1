// Embedding whatwhere: build a core + factorized readout in C++, train it a few steps on data held
// in memory, save a checkpoint, and load it back for predictions.
// Build against an installed whatwhere:  g++ -std=c++17 embed.cpp $(pkg-config --cflags --libs whatwhere)
#include <atomic>
#include <algorithm>
#include <cstdio>
#include <random>

#include "io/checkpoint.hpp"
#include "tools/training.hpp"

int main(int argc, char** argv) {
  using namespace ww;
  const std::string checkpoint_path = argc > 1 ? argv[1] : "embed.wwc";

  // 512 random 24x24 images and the responses of 10 neurons (here: one rectified pixel each).
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0.f, 1.f);
  io::Dataset data{ad::Tensor({512, 1, 24, 24}), ad::Tensor({512, 10})};
  for (std::size_t i = 0; i < data.images.numel(); ++i) data.images.data()[i] = normal(rng);
  for (std::int64_t b = 0; b < 512; ++b)
    for (std::int64_t n = 0; n < 10; ++n) {
      const float* image = data.images.data() + b * 576;
      data.responses.data()[b * 10 + n] = std::max(0.f, image[(4 + 2 * n) * 24 + 12]);
    }

  io::Config config;
  nn::LayerSpec layer;
  layer.channels = 8;
  layer.kernel = 5;
  layer.nonlinearity = nn::Nonlinearity::softplus;
  config.model.core.layers = {layer};
  config.model.readout.kind = nn::ReadoutKind::factorized;
  config.model.penalties.mask_l1 = 0.01f;
  config.training.learning_rate = 0.01f;
  config.training.schedule.eval_every = 50;
  config.training.schedule.max_steps = 200;

  training::Trainer trainer(config, data);
  std::atomic<bool> never{false};
  trainer.run(never, [](const training::Progress& p) {
    if (p.evaluated) std::printf("step %lld validation loss %.4f\n", static_cast<long long>(p.step), p.validation_loss);
  }, [] {});
  io::save_checkpoint(checkpoint_path, trainer.checkpoint());

  auto model = training::load_model(io::load_checkpoint(checkpoint_path));
  const ad::Tensor prediction = model->predict(data.images);
  std::printf("saved %s; %zu parameters; prediction %s\n", checkpoint_path.c_str(), model->parameter_count(),
              ad::shape_string(prediction.shape()).c_str());
  return 0;
}
