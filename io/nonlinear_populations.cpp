#include "io/nonlinear_populations.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>

#include "io/dataset.hpp"
#include "io/natural_images.hpp"
#include "ops/conv2d.hpp"

namespace ww::io {
namespace {

constexpr double pi = 3.14159265358979323846;
constexpr std::int64_t receptive_field = 13;
constexpr std::int64_t chunk_images = 256;  // teacher maps are computed this many images at a time

ad::Tensor convolve_valid(const ad::Tensor& x, const ad::Tensor& w) {
  const auto& sx = x.shape();
  const auto& sw = w.shape();
  const ops::Conv2dShape shape = ops::conv2d_shape(
      static_cast<std::size_t>(sx[0]), static_cast<std::size_t>(sx[1]), static_cast<std::size_t>(sx[2]),
      static_cast<std::size_t>(sx[3]), static_cast<std::size_t>(sw[0]), static_cast<std::size_t>(sw[2]),
      static_cast<std::size_t>(sw[3]), ops::Padding::valid);
  ad::Tensor y({sx[0], sw[0], static_cast<std::int64_t>(shape.out_height), static_cast<std::int64_t>(shape.out_width)});
  ops::conv2d_forward(x.data(), w.data(), y.data(), shape);
  return y;
}

void rectify(ad::Tensor& t) {
  for (std::size_t i = 0; i < t.numel(); ++i) t.data()[i] = std::max(t.data()[i], 0.f);
}

struct TeacherNet {
  Teacher kind;
  std::int64_t types;
  bool normalise;
  std::vector<ad::Tensor> layers;  // v1: the Gabor pairs [2T, 1, 13, 13]; random_cnn: three conv kernels
};

// The even (cosine) or odd (sine) Gabor of type t, zero mean and unit norm.
std::vector<float> gabor(std::int64_t t, std::int64_t types, bool odd) {
  const std::int64_t pair = t / 2, pairs = (types + 1) / 2;
  const double orientation = pi * static_cast<double>(pair) / static_cast<double>(pairs);
  const double frequency = pair % 2 == 0 ? 0.12 : 0.2;
  const double sd = std::clamp(0.3 / frequency, 1.5, 3.0), middle = static_cast<double>(receptive_field - 1) / 2.0;
  std::vector<float> kernel(static_cast<std::size_t>(receptive_field * receptive_field));
  double mean = 0.0;
  for (std::int64_t y = 0; y < receptive_field; ++y)
    for (std::int64_t x = 0; x < receptive_field; ++x) {
      const double dy = static_cast<double>(y) - middle, dx = static_cast<double>(x) - middle;
      const double along = dx * std::cos(orientation) + dy * std::sin(orientation);
      const double phase = 2.0 * pi * frequency * along;
      const double value = std::exp(-(dx * dx + dy * dy) / (2.0 * sd * sd)) * (odd ? std::sin(phase) : std::cos(phase));
      kernel[static_cast<std::size_t>(y * receptive_field + x)] = static_cast<float>(value);
      mean += value;
    }
  mean /= static_cast<double>(kernel.size());
  double norm = 0.0;
  for (float& v : kernel) {
    v = static_cast<float>(v - mean);
    norm += static_cast<double>(v) * v;
  }
  for (float& v : kernel) v = static_cast<float>(v / std::sqrt(norm));
  return kernel;
}

TeacherNet make_teacher(const NonlinearPopulationConfig& config, std::mt19937_64& rng) {
  TeacherNet net{config.teacher, config.types, config.divisive_normalization, {}};
  const std::int64_t t_count = config.types;
  if (config.teacher == Teacher::v1) {
    ad::Tensor pairs({2 * t_count, 1, receptive_field, receptive_field});
    const std::size_t size = static_cast<std::size_t>(receptive_field * receptive_field);
    for (std::int64_t t = 0; t < t_count; ++t)
      for (int odd = 0; odd < 2; ++odd) {
        const std::vector<float> kernel = gabor(t, t_count, odd == 1);
        std::copy(kernel.begin(), kernel.end(), pairs.data() + static_cast<std::size_t>(2 * t + odd) * size);
      }
    net.layers.push_back(pairs);
    return net;
  }
  std::normal_distribution<float> normal(0.f, 1.f);
  for (const auto& [out, in] : {std::pair<std::int64_t, std::int64_t>{16, 1}, {16, 16}, {t_count, 16}}) {
    ad::Tensor w({out, in, 5, 5});
    const float he = std::sqrt(2.f / static_cast<float>(in * 25));
    for (std::size_t i = 0; i < w.numel(); ++i) w.data()[i] = he * normal(rng);
    net.layers.push_back(w);
  }
  return net;
}

// The teacher's type maps [B, T, G, G] for images [B, 1, S, S].
ad::Tensor teacher_maps(const TeacherNet& net, const ad::Tensor& images) {
  if (net.kind == Teacher::random_cnn) {
    ad::Tensor h = images;
    for (const ad::Tensor& w : net.layers) {
      h = convolve_valid(h, w);
      rectify(h);
    }
    return h;
  }
  const ad::Tensor quadrature = convolve_valid(images, net.layers.front());
  const std::int64_t batch = quadrature.shape()[0], pixels = quadrature.shape()[2] * quadrature.shape()[3];
  ad::Tensor maps({batch, net.types, quadrature.shape()[2], quadrature.shape()[3]});
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t p = 0; p < pixels; ++p) {
      double energy_sum = 0.0;
      for (std::int64_t t = 0; t < net.types; ++t) {
        const float even = quadrature.data()[((b * 2 * net.types) + 2 * t) * pixels + p];
        const float odd = quadrature.data()[((b * 2 * net.types) + 2 * t + 1) * pixels + p];
        const float energy = even * even + odd * odd;  // Adelson & Bergen's energy: squared, not the amplitude
        energy_sum += energy;
        maps.data()[(b * net.types + t) * pixels + p] = t % 2 == 0 ? std::max(even, 0.f) : energy;
      }
      if (!net.normalise) continue;
      const auto divisor = static_cast<float>(0.5 + energy_sum / static_cast<double>(net.types));
      for (std::int64_t t = 0; t < net.types; ++t) maps.data()[(b * net.types + t) * pixels + p] /= divisor;
    }
  return maps;
}

// Noise-free responses [B, N] of units of `types` at `locations` (row, col in the grid).
ad::Tensor unit_responses(const TeacherNet& net, const ad::Tensor& images, const ad::Tensor& types, const ad::Tensor& locations) {
  const std::int64_t count = images.shape()[0], units = types.shape()[0];
  ad::Tensor responses({count, units});
  for (std::int64_t begin = 0; begin < count; begin += chunk_images) {
    const std::int64_t end = std::min(count, begin + chunk_images);
    const ad::Tensor maps = teacher_maps(net, slice_rows(images, begin, end));
    const std::int64_t grid_h = maps.shape()[2], grid_w = maps.shape()[3];
    for (std::int64_t b = begin; b < end; ++b)
      for (std::int64_t n = 0; n < units; ++n) {
        const auto t = static_cast<std::int64_t>(types.data()[n]);
        const auto row = static_cast<std::int64_t>(locations.data()[n * 2]), col = static_cast<std::int64_t>(locations.data()[n * 2 + 1]);
        responses.data()[b * units + n] = maps.data()[(((b - begin) * net.types + t) * grid_h + row) * grid_w + col];
      }
  }
  return responses;
}

}  // namespace

Population make_nonlinear_population(const NonlinearPopulationConfig& config) {
  const std::int64_t grid = config.image_size - receptive_field + 1;
  if (config.types <= 0 || config.units_per_type <= 0 || config.train_samples <= 1 || config.test_samples <= 0 || grid <= 0) {
    throw std::invalid_argument("nonlinear population: needs types, units per type, at least 2 training and 1 test sample, and images of at least 13x13");
  }
  std::mt19937_64 rng(config.seed);
  const TeacherNet net = make_teacher(config, rng);
  const std::vector<GrayImage> sources = config.photos.empty() ? dead_leaves(16, 256, rng()) : load_photos(config.photos);
  Population p;
  const std::int64_t units = config.types * config.units_per_type;
  p.types = ad::Tensor({units});
  p.locations = ad::Tensor({units, 2});
  std::uniform_int_distribution<std::int64_t> where(0, grid - 1);
  for (std::int64_t n = 0; n < units; ++n) {
    p.types.data()[n] = static_cast<float>(n / config.units_per_type);
    p.locations.data()[n * 2] = static_cast<float>(where(rng));
    p.locations.data()[n * 2 + 1] = static_cast<float>(where(rng));
  }
  if (config.teacher == Teacher::v1) {
    p.kernels = ad::Tensor({config.types, receptive_field, receptive_field});
    const std::size_t size = static_cast<std::size_t>(receptive_field * receptive_field);
    for (std::int64_t t = 0; t < config.types; ++t)
      std::copy_n(net.layers.front().data() + static_cast<std::size_t>(2 * t) * size, size, p.kernels.data() + static_cast<std::size_t>(t) * size);
  }
  p.train.images = random_crops(sources, config.train_samples, config.image_size, rng());
  p.test_images = random_crops(sources, config.test_samples, config.image_size, rng());
  p.train.responses = unit_responses(net, p.train.images, p.types, p.locations);
  p.test_truth = unit_responses(net, p.test_images, p.types, p.locations);

  // One scale per type (its units compute the same thing): mean test response = mean_response.
  std::vector<double> type_sum(static_cast<std::size_t>(config.types), 0.0);
  const std::int64_t tests = config.test_samples;
  for (std::int64_t b = 0; b < tests; ++b)
    for (std::int64_t n = 0; n < units; ++n)
      type_sum[static_cast<std::size_t>(n / config.units_per_type)] += p.test_truth.data()[b * units + n];
  std::vector<float> scale(type_sum.size());
  for (std::size_t t = 0; t < type_sum.size(); ++t) {
    const double mean = type_sum[t] / static_cast<double>(tests * config.units_per_type);
    if (!(mean > 1e-12)) {
      throw std::runtime_error("nonlinear population: teacher type " + std::to_string(t) +
                               " never responds to the test images; choose another seed");
    }
    scale[t] = static_cast<float>(config.mean_response / mean);
  }
  for (ad::Tensor* responses : {&p.train.responses, &p.test_truth})
    for (std::int64_t b = 0; b < responses->shape()[0]; ++b)
      for (std::int64_t n = 0; n < units; ++n) responses->data()[b * units + n] *= scale[static_cast<std::size_t>(n / config.units_per_type)];
  add_poisson_like_noise(p.train.responses, rng);
  return p;
}

}  // namespace ww::io
