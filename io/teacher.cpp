#include "io/teacher.hpp"

#include <cmath>
#include <random>

#include "nn/model.hpp"

namespace ww::io {
namespace {

ad::Tensor white_noise(ad::Shape shape, std::mt19937_64& rng) {
  ad::Tensor t(std::move(shape));
  std::normal_distribution<float> normal(0.f, 1.f);
  for (std::size_t i = 0; i < t.numel(); ++i) t.data()[i] = normal(rng);
  return t;
}

}  // namespace

TeacherData make_teacher_data(const nn::ModelConfig& config, std::int64_t train_images, std::int64_t test_images,
                              float noise_fraction, unsigned seed) {
  nn::Model teacher(config, seed);
  teacher.eval();
  std::mt19937_64 rng(seed + 100);
  std::normal_distribution<float> normal(0.f, 1.f);
  // Strong, distinct kernels and features; each neuron at a random place.
  for (auto& [name, var] : teacher.named_parameters()) {
    float* v = var.value().data();
    const std::size_t n = var.numel();
    if (name.find("weight") != std::string::npos || name.find("features") != std::string::npos) {
      for (std::size_t i = 0; i < n; ++i) v[i] = normal(rng) * (name.find("core") == 0 ? 0.3f : 1.f);
    } else if (name.find("mask") != std::string::npos) {
      const std::int64_t neurons = var.shape()[0], pixels = var.shape()[1];
      std::uniform_int_distribution<std::int64_t> where(0, pixels - 1);
      for (std::size_t i = 0; i < n; ++i) v[i] = 0.f;
      for (std::int64_t k = 0; k < neurons; ++k) v[k * pixels + where(rng)] = 1.f;
    } else if (name.find("mu") != std::string::npos) {
      std::uniform_real_distribution<float> where(-0.8f, 0.8f);
      for (std::size_t i = 0; i < n; ++i) v[i] = where(rng);
    }
  }
  const ad::Shape image_shape{config.core.input_channels, config.input_height, config.input_width};
  TeacherData data;
  data.train.images = white_noise({train_images, image_shape[0], image_shape[1], image_shape[2]}, rng);
  data.train.responses = teacher.predict(data.train.images);
  // Noise relative to each neuron's response SD, so every neuron has the same signal-to-noise ratio.
  const std::int64_t neurons = config.neurons;
  for (std::int64_t n = 0; n < neurons; ++n) {
    double sum = 0, squares = 0;
    for (std::int64_t b = 0; b < train_images; ++b) {
      const double y = data.train.responses.data()[b * neurons + n];
      sum += y;
      squares += y * y;
    }
    const double mean = sum / static_cast<double>(train_images);
    const auto sd = static_cast<float>(std::sqrt(std::max(0.0, squares / static_cast<double>(train_images) - mean * mean)));
    for (std::int64_t b = 0; b < train_images; ++b) data.train.responses.data()[b * neurons + n] += noise_fraction * sd * normal(rng);
  }
  data.test_images = white_noise({test_images, image_shape[0], image_shape[1], image_shape[2]}, rng);
  data.test_truth = teacher.predict(data.test_images);
  return data;
}

}  // namespace ww::io
