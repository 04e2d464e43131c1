#include "io/populations.hpp"

#include <cmath>
#include <random>
#include <stdexcept>
#include <string>

#include "ops/parallel.hpp"

namespace ww::io {
namespace {

constexpr double pi = 3.14159265358979323846;

// Images of N(0, 1) pixels, drawn serially so the seed alone decides them.
ad::Tensor white_noise_images(std::int64_t count, std::int64_t size, std::mt19937_64& rng) {
  ad::Tensor images({count, 1, size, size});
  std::normal_distribution<float> normal(0.f, 1.f);
  for (std::size_t i = 0; i < images.numel(); ++i) images.data()[i] = normal(rng);
  return images;
}

// The pdf of a 2D Gaussian with covariance variance * S (S = R diag(aspect, 1/aspect) R').
double gaussian_pdf(double dy, double dx, double variance, const DogShape& shape) {
  const double c = std::cos(shape.angle), s = std::sin(shape.angle);
  const double u = c * dx + s * dy, v = -s * dx + c * dy;  // coordinates along the shape's axes
  const double quadratic = (u * u / shape.aspect + v * v * shape.aspect) / variance;
  return std::exp(-0.5 * quadratic) / (2.0 * pi * variance);
}

}  // namespace

std::vector<float> dog_kernel(const DogShape& shape, int size) {
  std::vector<double> values(static_cast<std::size_t>(size * size));
  const double middle = 0.5 * (size - 1);
  const double centre_variance = 2.0 * shape.scale * shape.scale, surround_variance = 8.0 * shape.scale * shape.scale;
  double norm = 0.0;
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x) {
      const double dy = y - middle - shape.offset_row, dx = x - middle - shape.offset_col;
      const double v = shape.centre_weight * gaussian_pdf(dy, dx, centre_variance, shape) -
                       shape.surround_weight * gaussian_pdf(dy, dx, surround_variance, shape);
      values[static_cast<std::size_t>(y * size + x)] = v;
      norm += v * v;
    }
  std::vector<float> kernel(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) kernel[i] = static_cast<float>(values[i] / std::sqrt(norm));
  return kernel;
}

ad::Tensor crop_patches(const ad::Tensor& images, std::int64_t row, std::int64_t col, std::int64_t size) {
  const std::int64_t batch = images.shape()[0], height = images.shape()[2], width = images.shape()[3];
  if (row < 0 || col < 0 || row + size > height || col + size > width) {
    throw std::invalid_argument("crop_patches: a " + std::to_string(size) + "x" + std::to_string(size) + " patch at (" +
                                std::to_string(row) + ", " + std::to_string(col) + ") leaves the " + std::to_string(height) + "x" +
                                std::to_string(width) + " image");
  }
  ad::Tensor patches({batch, size * size});
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t y = 0; y < size; ++y)
      for (std::int64_t x = 0; x < size; ++x)
        patches.data()[(b * size + y) * size + x] = images.data()[(b * height + row + y) * width + col + x];
  return patches;
}

ad::Tensor population_responses(const ad::Tensor& images, const ad::Tensor& kernels, const ad::Tensor& locations) {
  const std::int64_t batch = images.shape()[0], height = images.shape()[2], width = images.shape()[3];
  const std::int64_t neurons = kernels.shape()[0], size = kernels.shape()[1];
  ad::Tensor responses({batch, neurons});
  ops::parallel_for(static_cast<std::size_t>(batch), 16, [&](std::size_t, std::size_t begin, std::size_t end) {
    for (auto b = static_cast<std::int64_t>(begin); b < static_cast<std::int64_t>(end); ++b) {
      const float* image = images.data() + b * height * width;
      for (std::int64_t n = 0; n < neurons; ++n) {
        const auto row = static_cast<std::int64_t>(locations.data()[n * 2]), col = static_cast<std::int64_t>(locations.data()[n * 2 + 1]);
        const float* kernel = kernels.data() + n * size * size;
        float r = 0.f;
        for (std::int64_t y = 0; y < size; ++y)
          for (std::int64_t x = 0; x < size; ++x) r += kernel[y * size + x] * image[(row + y) * width + col + x];
        responses.data()[b * neurons + n] = r;
      }
    }
  });
  return responses;
}

void add_poisson_like_noise(ad::Tensor& responses, std::mt19937_64& rng) {
  std::normal_distribution<float> normal(0.f, 1.f);
  for (std::size_t i = 0; i < responses.numel(); ++i) {
    float& y = responses.data()[i];
    y += std::sqrt(std::fabs(y)) * normal(rng);
  }
}

Population make_population(const PopulationConfig& config) {
  const std::int64_t positions = config.image_size - config.kernel_size + 1;
  if (config.neurons <= 0 || config.train_samples <= 1 || config.test_samples <= 0 || positions <= 0) {
    throw std::invalid_argument("population: needs neurons, at least 2 training and 1 test sample, and a kernel no larger than the image");
  }
  std::mt19937_64 rng(config.seed);
  Population p;
  const std::int64_t n = config.neurons, k = config.kernel_size;
  p.locations = ad::Tensor({n, 2});
  p.types = ad::Tensor::zeros({n});
  p.kernels = ad::Tensor({n, k, k});
  std::uniform_int_distribution<std::int64_t> where(0, positions - 1);
  std::uniform_real_distribution<double> jitter(0.95, 1.05), sub_pixel(-0.5, 0.5), tilt(-0.1, 0.1);
  // Under N(0, 1) pixels r ~ N(0, |a|^2), so E|r| = |a| sqrt(2 / pi): unit-norm kernels times this.
  const double gain = config.mean_abs_response / std::sqrt(2.0 / pi);
  for (std::int64_t i = 0; i < n; ++i) {
    p.locations.data()[i * 2] = static_cast<float>(where(rng));
    p.locations.data()[i * 2 + 1] = static_cast<float>(where(rng));
    DogShape shape;
    if (config.two_types) {
      const bool large = i >= n / 2;
      p.types.data()[i] = large ? 1.f : 0.f;
      shape.scale = (large ? 1.0 : 0.6) * jitter(rng);
      shape.aspect = jitter(rng);
      shape.angle = tilt(rng);
      shape.centre_weight = jitter(rng);
      shape.surround_weight = 2.0 * jitter(rng);
      shape.offset_row = sub_pixel(rng);
      shape.offset_col = sub_pixel(rng);
    }
    const std::vector<float> kernel = dog_kernel(shape, config.kernel_size);
    for (std::size_t j = 0; j < kernel.size(); ++j) p.kernels.data()[static_cast<std::size_t>(i * k * k) + j] = static_cast<float>(gain * kernel[j]);
  }
  p.train.images = white_noise_images(config.train_samples, config.image_size, rng);
  p.train.responses = population_responses(p.train.images, p.kernels, p.locations);
  add_poisson_like_noise(p.train.responses, rng);
  p.test_images = white_noise_images(config.test_samples, config.image_size, rng);
  p.test_truth = population_responses(p.test_images, p.kernels, p.locations);
  return p;
}

}  // namespace ww::io
