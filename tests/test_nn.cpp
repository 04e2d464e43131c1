// Model-level pieces that are not ops: layers as modules, the location search of point readouts.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <stdexcept>

#include "autodiff/functions.hpp"
#include "nn/clustering.hpp"
#include "nn/init.hpp"
#include "nn/layers.hpp"
#include "nn/metrics.hpp"
#include "nn/readout.hpp"
#include "nn/regression.hpp"

namespace ww::nn {
namespace {

constexpr std::int64_t batch = 600, channels = 3, height = 7, width = 9;

ad::Tensor random_normal(ad::Shape shape, std::mt19937_64& rng) {
  ad::Tensor t(std::move(shape));
  std::normal_distribution<float> normal(0.f, 1.f);
  for (std::size_t i = 0; i < t.numel(); ++i) t.data()[i] = normal(rng);
  return t;
}

// Pixel (row, col) of the core output as the readout's (x, y) in [-1, 1].
std::vector<float> to_unit(const std::vector<std::array<double, 2>>& rows_cols) {
  std::vector<float> xy;
  for (const auto& [row, col] : rows_cols) {
    xy.push_back(static_cast<float>(2.0 * col / (width - 1) - 1.0));
    xy.push_back(static_cast<float>(2.0 * row / (height - 1) - 1.0));
  }
  return xy;
}

// Features read bilinearly at `positions` [N, 2] -> [B, N, K].
ad::Tensor read_at(const ad::Tensor& core_output, const std::vector<float>& positions) {
  ad::NoGradGuard no_grad;
  const auto neurons = static_cast<std::int64_t>(positions.size() / 2);
  return ad::bilinear_sample(ad::Var::constant(core_output), ad::Var::constant(ad::Tensor::from_values({neurons, 2}, positions))).value();
}

// responses[b, n] = features[b, n, :] . weights[n, :] + constant[n]
ad::Tensor respond(const ad::Tensor& features, const std::vector<float>& weights, const std::vector<float>& constant) {
  const std::int64_t neurons = features.shape()[1];
  ad::Tensor responses({batch, neurons});
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t n = 0; n < neurons; ++n) {
      double r = constant[static_cast<std::size_t>(n)];
      for (std::int64_t k = 0; k < channels; ++k)
        r += double(features.data()[(b * neurons + n) * channels + k]) * weights[static_cast<std::size_t>(n * channels + k)];
      responses.data()[b * neurons + n] = static_cast<float>(r);
    }
  return responses;
}

double sum_of_squares(const ad::Tensor& responses, std::int64_t n) {
  double total = 0.0;
  for (std::int64_t b = 0; b < batch; ++b) total += std::pow(double(responses.data()[b * responses.shape()[1] + n]), 2);
  return total;
}

}  // namespace

TEST_CASE("the location search finds sub-pixel positions, features and constants of noise-free point readouts") {
  std::mt19937_64 rng(3);
  const ad::Tensor core_output = random_normal({batch, channels, height, width}, rng);
  // Inside the grid, on a pixel, on the last row and column, and half-way between pixels.
  const std::vector<std::array<double, 2>> truth = {{2.3, 4.6}, {0.0, 0.0}, {6.0, 8.0}, {5.5, 7.25}};
  const std::vector<float> weights = {0.8f, -0.5f, 0.3f, 1.f, 0.2f, 0.f, -0.7f, 0.4f, 0.9f, 0.5f, 0.5f, -1.f};
  const std::vector<float> constant = {0.4f, -1.f, 0.f, 2.f};
  const ad::Tensor responses = respond(read_at(core_output, to_unit(truth)), weights, constant);

  const LocationSearch search = best_fitting_locations(core_output, responses);
  for (std::size_t n = 0; n < truth.size(); ++n) {
    CAPTURE(n);
    CHECK(search.residual[n] <= 1e-6 * sum_of_squares(responses, static_cast<std::int64_t>(n)));
    CHECK(search.position[n][0] == doctest::Approx(truth[n][0]).epsilon(1e-3));
    CHECK(search.position[n][1] == doctest::Approx(truth[n][1]).epsilon(1e-3));
    for (std::int64_t k = 0; k < channels; ++k) CHECK(search.features[n * channels + k] == doctest::Approx(weights[n * channels + k]).epsilon(1e-3));
    CHECK(search.constant[n] == doctest::Approx(constant[n]).epsilon(1e-3));
  }

  // A neuron's own features explain it exactly where it is and poorly a pixel away.
  const std::vector<double> here = own_feature_residuals(read_at(core_output, to_unit(truth)), responses);
  const std::vector<double> away =
      own_feature_residuals(read_at(core_output, to_unit({{3.3, 4.6}, {1.0, 0.0}, {5.0, 8.0}, {5.5, 6.25}})), responses);
  for (std::size_t n = 0; n < truth.size(); ++n) {
    CAPTURE(n);
    const double total = sum_of_squares(responses, static_cast<std::int64_t>(n));
    CHECK(here[n] <= 1e-6 * total);
    CHECK(away[n] >= 0.05 * total);
  }
  CHECK_THROWS_WITH_AS(best_fitting_locations(core_output, ad::Tensor({batch + 1, 4})),
                       doctest::Contains("do not share a batch"), std::invalid_argument);
}

TEST_CASE("a Gaussian readout moves only the neurons that fit clearly better elsewhere") {
  std::mt19937_64 rng(4);
  const ad::Tensor core_output = random_normal({batch, channels, height, width}, rng);
  const std::vector<std::array<double, 2>> truth = {{2.3, 4.6}, {4.0, 1.5}};
  const std::vector<float> weights = {0.8f, -0.5f, 0.3f, 1.f, 0.2f, 0.f};
  const ad::Tensor responses = respond(read_at(core_output, to_unit(truth)), weights, {0.4f, -1.f});

  ReadoutConfig config;
  config.kind = ReadoutKind::gaussian;
  auto readout = make_readout(config, 2, channels, height, width, rng);
  // Neuron 0 starts exactly right (its features too), neuron 1 three pixels off.
  const std::vector<float> start = to_unit({truth[0], {1.0, 1.5}});
  for (auto& [name, var] : readout->named_parameters()) {
    if (name == "mu") std::copy(start.begin(), start.end(), var.value().data());
    if (name == "features") std::copy(weights.begin(), weights.end(), var.value().data());
    if (name == "bias") var.value().data()[0] = 0.4f;
  }
  CHECK(readout->search_locations(core_output, responses) == 1);
  const std::vector<float> expected = to_unit(truth);
  for (auto& [name, var] : readout->named_parameters()) {
    if (name != "mu") continue;
    for (std::size_t i = 0; i < 4; ++i) CHECK(var.value().data()[i] == doctest::Approx(expected[i]).epsilon(1e-3));
  }
  // Read where it now sits, the readout predicts the responses.
  readout->eval();
  std::mt19937_64 unused(0);
  ad::NoGradGuard no_grad;
  const ad::Tensor predicted = readout->forward(ad::Var::constant(core_output), unused).value();
  for (std::size_t i = 0; i < predicted.numel(); ++i) CHECK(predicted.data()[i] == doctest::Approx(responses.data()[i]).epsilon(1e-3));
}

TEST_CASE("a factorized readout re-seats a misplaced neuron: mask on the window's pixels, fitted features") {
  std::mt19937_64 rng(5);
  const ad::Tensor core_output = random_normal({batch, channels, height, width}, rng);
  const std::vector<std::array<double, 2>> truth = {{3.0, 4.0}, {4.0, 1.5}};
  const std::vector<float> weights = {0.8f, -0.5f, 0.3f, 1.f, 0.2f, 0.f};
  const ad::Tensor responses = respond(read_at(core_output, to_unit(truth)), weights, {0.4f, -1.f});

  ReadoutConfig config;  // factorized, identity output, with bias
  auto readout = make_readout(config, 2, channels, height, width, rng);
  for (auto& [name, var] : readout->named_parameters()) {
    float* v = var.value().data();
    if (name == "mask") {  // [N, H*W]: neuron 0 exactly at (3, 4), neuron 1 at (1, 1)
      std::fill_n(v, var.numel(), 0.f);
      v[3 * width + 4] = 1.f;
      v[height * width + 1 * width + 1] = 1.f;
    }
    if (name == "features")  // [K, N]
      for (std::int64_t k = 0; k < channels; ++k) v[k * 2] = weights[static_cast<std::size_t>(k)];
    if (name == "bias") v[0] = 0.4f;
  }
  CHECK(readout->search_locations(core_output, responses) == 1);
  readout->eval();
  std::mt19937_64 unused(0);
  ad::NoGradGuard no_grad;
  const ad::Tensor predicted = readout->forward(ad::Var::constant(core_output), unused).value();
  for (std::size_t i = 0; i < predicted.numel(); ++i) CHECK(predicted.data()[i] == doctest::Approx(responses.data()[i]).epsilon(1e-3));
  // The fixed-mask baseline never moves.
  config.kind = ReadoutKind::fixed_mask;
  CHECK(make_readout(config, 2, channels, height, width, rng)->search_locations(core_output, responses) == 0);
}

}  // namespace ww::nn

namespace ww::nn {

TEST_CASE("a retinotopic readout: positions from cortical coordinates through one shared network, K + 5 parameters per neuron") {
  std::mt19937_64 rng(7);
  ReadoutConfig config;
  config.kind = ReadoutKind::retinotopic;
  constexpr std::int64_t neurons = 40;
  auto readout = make_readout(config, neurons, channels, height, width, rng);
  CHECK(readout->parameters_per_neuron() == channels + 5);  // features, full Sigma, bias
  // Cortex: an affine map of the visual field, and a depth that carries no position.
  std::uniform_int_distribution<std::int64_t> pixel(0, height * width - 1);
  std::uniform_real_distribution<float> depth(100.f, 300.f);
  ad::Tensor cortex({neurons, 3});
  std::vector<std::int64_t> places;
  for (std::int64_t n = 0; n < neurons; ++n) {
    places.push_back(pixel(rng));
    const float row = static_cast<float>(places.back() / width), col = static_cast<float>(places.back() % width);
    float* c = cortex.data() + n * 3;
    c[0] = 100.f + 30.f * col + 10.f * row;
    c[1] = 20.f - 25.f * row + 5.f * col;
    c[2] = depth(rng);
  }
  readout->set_coordinates(cortex);
  // Initial locations (from spike-triggered averages in training) are taken over by the network.
  readout->init_locations(places, std::vector<float>(neurons, 1.f));
  const ad::Tensor where = readout->locations();
  double error = 0;
  for (std::int64_t n = 0; n < neurons; ++n) {
    const auto at = places[static_cast<std::size_t>(n)];
    error += std::hypot(where.data()[n * 2] - static_cast<double>(at / width), where.data()[n * 2 + 1] - static_cast<double>(at % width));
  }
  MESSAGE("mean distance of the fitted network's positions: " << error / neurons << " pixels");
  CHECK(error / neurons < 0.3);

  CHECK_THROWS_WITH_AS(readout->set_coordinates(ad::Tensor({neurons + 1, 3})), doctest::Contains("should be [40, >= 2]"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(readout->set_coordinates(ad::Tensor({neurons, 1})), doctest::Contains("should be [40, >= 2]"), std::invalid_argument);
  ad::Tensor broken = cortex.clone();
  broken.data()[3 * 5 + 1] = std::nanf("");
  CHECK_THROWS_WITH_AS(readout->set_coordinates(broken), doctest::Contains("neuron 5 is not finite"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(readout->set_coordinates(ad::Tensor::full({neurons, 2}, 3.f)), doctest::Contains("the same"), std::invalid_argument);
  ReadoutConfig factorized;
  CHECK_THROWS_WITH_AS(make_readout(factorized, neurons, channels, height, width, rng)->set_coordinates(cortex),
                       doctest::Contains("does not use cortical coordinates"), std::invalid_argument);
}

// A centre-surround kernel of k x k with the given centre and surround widths (squared SDs).
ad::Tensor centre_surround(std::int64_t k, double centre, double surround) {
  ad::Tensor kernel({k, k});
  const double middle = static_cast<double>(k - 1) / 2;
  for (std::int64_t y = 0; y < k; ++y)
    for (std::int64_t x = 0; x < k; ++x) {
      const double r2 = (y - middle) * (y - middle) + (x - middle) * (x - middle);
      kernel.data()[y * k + x] = static_cast<float>(std::exp(-r2 / centre) - 0.5 * std::exp(-r2 / surround));
    }
  return kernel;
}

// STAs [N, size, size] of noise plus, for neuron n, kernel n % K (signed: every third neuron
// negative) at a random place; the true places and types.
struct NoisyStas {
  ad::Tensor sta;
  std::vector<std::int64_t> places, types;
};
NoisyStas noisy_stas(const std::vector<ad::Tensor>& kernels, std::int64_t neurons, std::int64_t size, std::mt19937_64& rng) {
  const std::int64_t k = kernels.front().shape()[0], out = size - k + 1;
  NoisyStas s{random_normal({neurons, size, size}, rng), {}, {}};
  std::uniform_int_distribution<std::int64_t> place(0, out - 1);
  for (std::int64_t n = 0; n < neurons; ++n) {
    const std::int64_t row = place(rng), col = place(rng), type = n % static_cast<std::int64_t>(kernels.size());
    s.places.push_back(row * out + col);
    s.types.push_back(type);
    const float sign = n % 3 == 0 ? -1.f : 1.f;
    const float* kernel = kernels[static_cast<std::size_t>(type)].data();
    for (std::int64_t y = 0; y < k; ++y)
      for (std::int64_t x = 0; x < k; ++x) s.sta.data()[(n * size + row + y) * size + col + x] += 4.f * sign * kernel[y * k + x];
  }
  return s;
}

double cosine(const float* a, const float* b, std::int64_t n) {
  double dot = 0, aa = 0, bb = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    dot += double(a[i]) * b[i];
    aa += double(a[i]) * a[i];
    bb += double(b[i]) * b[i];
  }
  return dot / std::sqrt(aa * bb);
}

// How many neurons sit within 1 px of their true place.
std::int64_t placed_within_a_pixel(const std::vector<std::int64_t>& places, const std::vector<std::int64_t>& truth, std::int64_t out) {
  std::int64_t placed = 0;
  for (std::size_t n = 0; n < truth.size(); ++n)
    placed += std::abs(places[n] / out - truth[n] / out) <= 1 && std::abs(places[n] % out - truth[n] % out) <= 1;
  return placed;
}

TEST_CASE("align_kernel recovers a shared kernel and the places of neurons too noisy to place one by one") {
  constexpr std::int64_t neurons = 300, size = 30, k = 9, out = size - k + 1;
  std::mt19937_64 rng(11);
  const ad::Tensor kernel = centre_surround(k, 4.0, 12.0);
  const NoisyStas s = noisy_stas({kernel}, neurons, size, rng);
  const AlignedKernel aligned = align_kernel(s.sta, k);
  const std::int64_t placed = placed_within_a_pixel(aligned.locations, s.places, out);
  std::int64_t signs_right = 0;
  for (std::int64_t n = 0; n < neurons; ++n) signs_right += (aligned.match[static_cast<std::size_t>(n)] < 0) == (n % 3 == 0);
  const double kernel_cosine = cosine(aligned.kernel.data(), kernel.data(), k * k);
  MESSAGE("kernel cosine " << kernel_cosine << ", placed within 1 px: " << placed << " of " << neurons);
  CHECK(kernel_cosine > 0.95);
  CHECK(placed > 0.9 * neurons);
  CHECK(signs_right > 0.9 * neurons);
  // The STA peaks alone place far fewer: this is what the alignment adds.
  const std::int64_t peaks_placed = placed_within_a_pixel(map_peaks({s.sta}, out, out), s.places, out);
  MESSAGE("STA peaks within 1 px: " << peaks_placed);
  CHECK(peaks_placed < placed);
}

TEST_CASE("align_typed_kernels recovers two cell types' kernels, each neuron's type and place") {
  constexpr std::int64_t neurons = 300, size = 30, k = 13, out = size - k + 1;
  std::mt19937_64 rng(12);
  const std::vector<ad::Tensor> kernels = {centre_surround(k, 4.0, 12.0), centre_surround(k, 12.0, 36.0)};
  const NoisyStas s = noisy_stas(kernels, neurons, size, rng);
  const TypedKernels typed = align_typed_kernels(s.sta, k, 2);
  REQUIRE(typed.kernels.shape() == ad::Shape{2, k, k});
  // Types are found up to their order: match the kernels to the truth first.
  const bool swapped = cosine(typed.kernels.data(), kernels[0].data(), k * k) < cosine(typed.kernels.data(), kernels[1].data(), k * k);
  std::int64_t typed_right = 0;
  for (std::int64_t n = 0; n < neurons; ++n)
    typed_right += ((typed.type[static_cast<std::size_t>(n)] == 1) != swapped) == (s.types[static_cast<std::size_t>(n)] == 1);
  const double cosine_0 = cosine(typed.kernels.data() + (swapped ? k * k : 0), kernels[0].data(), k * k);
  const double cosine_1 = cosine(typed.kernels.data() + (swapped ? 0 : k * k), kernels[1].data(), k * k);
  const std::int64_t placed = placed_within_a_pixel(typed.locations, s.places, out);
  MESSAGE("typed right " << typed_right << " of " << neurons << ", kernel cosines " << cosine_0 << " " << cosine_1 << ", placed within 1 px " << placed);
  CHECK(typed_right >= 0.97 * neurons);
  CHECK(cosine_0 > 0.9);
  CHECK(cosine_1 > 0.9);
  CHECK(placed > 0.9 * neurons);
  // Re-placing with the kernels kept (at unit length: white-noise STAs) finds the same types.
  TypedKernels again{typed.kernels.clone(), {}, {}, {}};
  for (std::int64_t type = 0; type < 2; ++type) {
    float* kernel = again.kernels.data() + type * k * k;
    const double norm = std::sqrt(std::inner_product(kernel, kernel + k * k, kernel, 0.0));
    for (std::int64_t i = 0; i < k * k; ++i) kernel[i] = static_cast<float>(kernel[i] / norm);
  }
  place_by_typed_kernels(s.sta, again);
  std::int64_t same = 0;
  for (std::int64_t n = 0; n < neurons; ++n) same += again.type[static_cast<std::size_t>(n)] == typed.type[static_cast<std::size_t>(n)];
  CHECK(same >= 0.97 * neurons);
}

TEST_CASE("contrast energy maps place complex cells, whose STAs are flat; STA and energy together place both kinds") {
  // White-noise images; neuron n reads a 7x7 quadrature pair of Gabors at a random place: even
  // neurons linearly (the even Gabor), odd ones as a complex cell (the pair's energy).
  constexpr std::int64_t images = 3000, neurons = 60, size = 24, k = 7, out = size - k + 1;
  std::mt19937_64 rng(13);
  const ad::Tensor x = random_normal({images, 1, size, size}, rng);
  std::vector<float> even(k * k), odd(k * k);
  for (std::int64_t y = 0; y < k; ++y)
    for (std::int64_t c = 0; c < k; ++c) {
      const double dy = y - 3.0, dx = c - 3.0, envelope = std::exp(-(dy * dy + dx * dx) / 8.0), phase = 2.0 * M_PI * 0.2 * dx;
      even[static_cast<std::size_t>(y * k + c)] = static_cast<float>(envelope * std::cos(phase));
      odd[static_cast<std::size_t>(y * k + c)] = static_cast<float>(envelope * std::sin(phase));
    }
  std::uniform_int_distribution<std::int64_t> place(0, out - 1);
  std::vector<std::int64_t> places;
  ad::Tensor responses({images, neurons});
  for (std::int64_t n = 0; n < neurons; ++n) {
    const std::int64_t row = place(rng), col = place(rng);
    places.push_back(row * out + col);
    for (std::int64_t b = 0; b < images; ++b) {
      double e = 0.0, o = 0.0;
      for (std::int64_t y = 0; y < k; ++y)
        for (std::int64_t c = 0; c < k; ++c) {
          const float pixel = x.data()[(b * size + row + y) * size + col + c];
          e += even[static_cast<std::size_t>(y * k + c)] * pixel;
          o += odd[static_cast<std::size_t>(y * k + c)] * pixel;
        }
      responses.data()[b * neurons + n] = static_cast<float>(n % 2 == 0 ? e : e * e + o * o);
    }
  }
  const ad::Tensor sta_map = spike_triggered_average(x, responses), energy_map = contrast_energy_map(x, responses);
  const std::vector<std::int64_t> sta = map_peaks({sta_map}, out, out), energy = map_peaks({energy_map}, out, out);
  const std::vector<std::int64_t> chosen = map_peaks({sta_map, energy_map}, out, out);
  std::int64_t linear_by_sta = 0, complex_by_sta = 0, complex_by_energy = 0, linear_chosen = 0, complex_chosen = 0, own_peaks = 0;
  for (std::int64_t n = 0; n < neurons; ++n) {
    const std::vector<std::int64_t> truth{places[static_cast<std::size_t>(n)]};
    const auto placed = [&](std::int64_t where) { return placed_within_a_pixel({where}, truth, out); };
    const std::size_t i = static_cast<std::size_t>(n);
    (n % 2 == 0 ? linear_by_sta : complex_by_sta) += placed(sta[i]);
    if (n % 2 == 1) complex_by_energy += placed(energy[i]);
    (n % 2 == 0 ? linear_chosen : complex_chosen) += placed(chosen[i]);
    own_peaks += chosen[i] == sta[i] || chosen[i] == energy[i];
  }
  // Each start is one map's own peak, never a place between a sharp map's peak and a broad one's.
  CHECK(own_peaks == neurons);
  MESSAGE("of 30 linear / 30 complex within 1 px: STA " << linear_by_sta << " / " << complex_by_sta << ", energy - / " << complex_by_energy
                                                          << ", together " << linear_chosen << " / " << complex_chosen);
  CHECK(linear_by_sta >= 28);
  CHECK(complex_by_sta <= 10);
  CHECK(complex_by_energy >= 28);
  CHECK(linear_chosen >= 28);
  CHECK(complex_chosen >= 28);
}

TEST_CASE("Conv2d and BatchNorm2d are modules: named entries, running statistics only in training") {
  std::mt19937_64 rng(1);
  Conv2d conv(2, 3, 5, ops::Padding::same, rng);
  REQUIRE(conv.named_parameters().size() == 1);
  CHECK(conv.named_parameters()[0].first == "weight");
  CHECK(conv.parameter_count() == 3 * 2 * 5 * 5);
  CHECK(conv.forward(ad::Var::constant(ad::Tensor::full({4, 2, 6, 7}, 1.f))).shape() == ad::Shape{4, 3, 6, 7});

  BatchNorm2d norm(2, true, false);
  REQUIRE(norm.named_parameters().size() == 1);
  CHECK(norm.named_parameters()[0].first == "bn_scale");
  const auto buffers = norm.named_buffers();
  REQUIRE(buffers.size() == 2);
  CHECK(buffers[0].first == "running_mean");
  // Channel 0 holds 1 and 3 (mean 2, variance 1), channel 1 holds 5 everywhere.
  const ad::Tensor x = ad::Tensor::from_values({2, 2, 1, 1}, {1.f, 5.f, 3.f, 5.f});
  const ad::Tensor trained = norm.forward(ad::Var::constant(x)).value();
  CHECK(trained.data()[0] == doctest::Approx(-1.f).epsilon(1e-4));
  CHECK(buffers[0].second.data()[0] == doctest::Approx(0.2f));  // momentum 0.1 towards 2
  norm.eval();
  const ad::Tensor evaluated = norm.forward(ad::Var::constant(x)).value();
  CHECK(buffers[0].second.data()[0] == doctest::Approx(0.2f));  // unchanged in evaluation
  // (1 - 0.2) / sqrt(running variance + eps), running variance 0.9 + 0.1 * 2 (unbiased batch variance)
  CHECK(evaluated.data()[0] == doctest::Approx(0.8 / std::sqrt(1.1 + 1e-5)).epsilon(1e-4));
}

}  // namespace ww::nn

namespace ww::nn {
namespace {

ad::Tensor normal_design(std::int64_t rows, std::int64_t columns, std::mt19937_64& rng) {
  ad::Tensor x({rows, columns});
  std::normal_distribution<float> normal(0.f, 1.f);
  for (std::size_t i = 0; i < x.numel(); ++i) x.data()[i] = normal(rng);
  return x;
}

// y = x w + 0.5 + N(0, noise^2)
std::vector<float> linear_responses(const ad::Tensor& x, const std::vector<double>& w, double noise, std::mt19937_64& rng) {
  std::normal_distribution<double> normal(0.0, noise);
  std::vector<float> y(static_cast<std::size_t>(x.shape()[0]));
  for (std::size_t r = 0; r < y.size(); ++r) {
    double v = 0.5 + normal(rng);
    for (std::size_t j = 0; j < w.size(); ++j) v += w[j] * x.data()[r * w.size() + j];
    y[r] = static_cast<float>(v);
  }
  return y;
}

}  // namespace

TEST_CASE("symmetric eigendecomposition: A V = V diag(values), V orthonormal, values ascending") {
  std::mt19937_64 rng(5);
  std::normal_distribution<double> normal(0.0, 1.0);
  for (const std::size_t n : {1, 2, 7, 40}) {
    CAPTURE(n);
    std::vector<double> a(n * n);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j <= i; ++j) a[i * n + j] = a[j * n + i] = normal(rng);
    const SymmetricEigen eigen = symmetric_eigen(a, n);
    double worst_residual = 0.0, worst_orthogonality = 0.0;
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t k = 0; k < n; ++k) {
        double av = 0.0, vv = 0.0;
        for (std::size_t j = 0; j < n; ++j) {
          av += a[i * n + j] * eigen.vectors[j * n + k];
          vv += eigen.vectors[j * n + i] * eigen.vectors[j * n + k];
        }
        worst_residual = std::max(worst_residual, std::fabs(av - eigen.values[k] * eigen.vectors[i * n + k]));
        worst_orthogonality = std::max(worst_orthogonality, std::fabs(vv - (i == k ? 1.0 : 0.0)));
      }
    CHECK(worst_residual < 1e-10);
    CHECK(worst_orthogonality < 1e-10);
    CHECK(std::is_sorted(eigen.values.begin(), eigen.values.end()));
  }
  // The centred Gram matrix of fewer samples than dimensions (ridge on 64 images of a 17x17 crop):
  // hundreds of eigenvalues that are zero but for rounding. Smooth samples (a random walk along
  // the dimensions, like neighbouring pixels), rank 50 of 289.
  {
    const std::size_t samples = 51, n = 289;
    std::vector<double> x(samples * n);
    for (std::size_t s = 0; s < samples; ++s)
      for (std::size_t j = 0; j < n; ++j) x[s * n + j] = (j == 0 ? 0.0 : x[s * n + j - 1]) + normal(rng);
    for (std::size_t j = 0; j < n; ++j) {
      double mean = 0.0;
      for (std::size_t s = 0; s < samples; ++s) mean += x[s * n + j] / samples;
      for (std::size_t s = 0; s < samples; ++s) x[s * n + j] -= mean;
    }
    std::vector<double> gram(n * n, 0.0);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < n; ++j)
        for (std::size_t s = 0; s < samples; ++s) gram[i * n + j] += x[s * n + i] * x[s * n + j];
    const SymmetricEigen eigen = symmetric_eigen(gram, n);
    double worst = 0.0, largest = eigen.values.back();
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < n; ++j) {
        double rebuilt = 0.0;
        for (std::size_t k = 0; k < n; ++k) rebuilt += eigen.vectors[i * n + k] * eigen.values[k] * eigen.vectors[j * n + k];
        worst = std::max(worst, std::fabs(rebuilt - gram[i * n + j]));
      }
    CHECK(worst < 1e-9 * largest);
    CHECK(std::fabs(eigen.values[n - samples]) < 1e-9 * largest);  // the 239th: still a zero one
    CHECK(eigen.values[n - samples + 1] > 1e-6 * largest);
  }
  // Repeated eigenvalues (the identity) and a rank-1 matrix.
  CHECK(symmetric_eigen({1, 0, 0, 0, 1, 0, 0, 0, 1}, 3).values == std::vector<double>{1, 1, 1});
  const SymmetricEigen rank_one = symmetric_eigen({1, 2, 2, 4}, 2);
  CHECK(rank_one.values[0] == doctest::Approx(0.0).epsilon(1e-12));
  CHECK(rank_one.values[1] == doctest::Approx(5.0));
}

TEST_CASE("OLS, ridge and lasso recover a linear model; ridge matches the normal equations") {
  std::mt19937_64 rng(6);
  const std::vector<double> truth = {1.0, -0.5, 0.0, 0.0, 0.25, 0.0, 0.0, 0.0};
  const ad::Tensor x = normal_design(500, 8, rng), x_validation = normal_design(200, 8, rng);
  const std::vector<float> y = linear_responses(x, truth, 0.1, rng), y_validation = linear_responses(x_validation, truth, 0.1, rng);

  const LinearFit ols = fit_ols(x, y);
  const LinearFit ridge = fit_ridge(x, y, x_validation, y_validation, log_spaced(1e-4, 10.0, 11));
  const LinearFit lasso = fit_lasso(x, y, x_validation, y_validation, log_spaced(1e-3, 1.0, 16));
  for (const LinearFit* fit : {&ols, &ridge, &lasso}) {
    for (std::size_t j = 0; j < truth.size(); ++j) CHECK(fit->weights[j] == doctest::Approx(truth[j]).epsilon(0.03));
    CHECK(fit->intercept == doctest::Approx(0.5).epsilon(0.03));
  }
  CHECK(ridge.strength < 0.1);  // little noise: validation prefers weak shrinkage
  CHECK(ridge.validation_mse < 0.013);
  // Lasso at full strength zeroes every weight, leaving the mean.
  const LinearFit zero = fit_lasso(x, y, x_validation, y_validation, {1.0});
  for (const double w : zero.weights) CHECK(w == 0.0);

  // One strength, checked against (G + s * mean eigenvalue * I) w = c solved by elimination.
  const LinearFit strong = fit_ridge(x, y, x_validation, y_validation, {2.0});
  const std::size_t p = truth.size(), rows = y.size();
  std::vector<double> mean(p, 0.0), g(p * p, 0.0), c(p, 0.0);
  double y_mean = 0.0;
  for (std::size_t r = 0; r < rows; ++r) {
    y_mean += y[r] / static_cast<double>(rows);
    for (std::size_t j = 0; j < p; ++j) mean[j] += x.data()[r * p + j] / static_cast<double>(rows);
  }
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t i = 0; i < p; ++i) {
      c[i] += (x.data()[r * p + i] - mean[i]) * (y[r] - y_mean);
      for (std::size_t j = 0; j < p; ++j) g[i * p + j] += (x.data()[r * p + i] - mean[i]) * (x.data()[r * p + j] - mean[j]);
    }
  double trace = 0.0;
  for (std::size_t i = 0; i < p; ++i) trace += g[i * p + i];
  for (std::size_t i = 0; i < p; ++i) g[i * p + i] += 2.0 * trace / static_cast<double>(p);
  for (std::size_t col = 0; col < p; ++col)  // Gauss-Jordan (the matrix is positive definite)
    for (std::size_t row = 0; row < p; ++row) {
      if (row == col) continue;
      const double factor = g[row * p + col] / g[col * p + col];
      for (std::size_t k = 0; k < p; ++k) g[row * p + k] -= factor * g[col * p + k];
      c[row] -= factor * c[col];
    }
  for (std::size_t j = 0; j < p; ++j) CHECK(strong.weights[j] == doctest::Approx(c[j] / g[j * p + j]).epsilon(1e-9));
}


TEST_CASE("k-means finds separated clusters, BIC picks their number, the adjusted Rand index scores labelings") {
  // Hand-computed: contingency [[2, 1, 0], [0, 1, 2]] gives (2 - 1.2) / (4.5 - 1.2).
  CHECK(nn::adjusted_rand_index({0, 0, 0, 1, 1, 1}, {0, 0, 1, 1, 2, 2}) == doctest::Approx(0.8 / 3.3));
  CHECK(nn::adjusted_rand_index({0, 0, 1, 1, 2}, {5, 5, 3, 3, 9}) == doctest::Approx(1.0));
  CHECK_THROWS_AS(nn::adjusted_rand_index({0, 1}, {0}), std::invalid_argument);

  std::mt19937_64 rng(3);
  std::normal_distribution<float> noise(0.f, 0.1f);
  const float centres[3][2] = {{0.f, 0.f}, {2.f, 0.f}, {0.f, 2.f}};
  ad::Tensor points({150, 2});
  std::vector<std::int64_t> truth;
  for (std::int64_t i = 0; i < 150; ++i) {
    truth.push_back(i % 3);
    for (int j = 0; j < 2; ++j) points.data()[i * 2 + j] = centres[i % 3][j] + noise(rng);
  }
  const nn::Clustering three = nn::kmeans(points, 3);
  CHECK(nn::adjusted_rand_index(three.labels, truth) == doctest::Approx(1.0));
  CHECK(nn::kmeans(points, 2).inertia > 10 * three.inertia);
  const nn::Clustering chosen = nn::kmeans_bic(points, 6);
  CHECK(chosen.centroids.shape()[0] == 3);
  CHECK_THROWS_AS(nn::kmeans(points, 151), std::invalid_argument);

  // Barcodes: unit rows of the transposed feature weights, whatever the gain.
  const ad::Tensor barcodes = nn::feature_barcodes(ad::Tensor::from_values({2, 2}, {3.f, -1.f, 4.f, 0.f}));
  CHECK(barcodes.to_vector() == std::vector<float>{0.6f, 0.8f, -1.f, 0.f});
}

TEST_CASE("metrics over repeats: correlation to the average, oracle, explainable variance, FEVE (a hand-computed example)") {
  // Image 7 shown twice, image 9 three times, image 3 once; neuron 1 is neuron 0 doubled.
  const std::vector<std::int64_t> ids = {7, 9, 7, 9, 9, 3};
  const std::vector<float> y = {1, 2, 3, 4, 6, 5}, p = {1, 3, 1, 3, 3, 2};
  ad::Tensor responses({6, 2}), prediction({6, 2});
  for (std::size_t t = 0; t < 6; ++t) {
    responses.data()[2 * t] = y[t], responses.data()[2 * t + 1] = 2 * y[t];
    prediction.data()[2 * t] = p[t], prediction.data()[2 * t + 1] = 2 * p[t];
  }
  const RepeatMetrics m = repeat_metrics(prediction, responses, ids);
  for (std::size_t n = 0; n < 2; ++n) {
    // Averages per image (7, 9, 3): responses 2, 4, 5 and predictions 1, 3, 2.
    CHECK(m.correlation_to_average[n] == doctest::Approx(0.6546536707));
    CHECK(m.single_trial_correlation[n] == doctest::Approx(0.4892942540));
    // Trials against the mean of their image's other repeats: (1, 3), (3, 1), (2, 5), (4, 4), (6, 3).
    CHECK(m.oracle_correlation[n] == doctest::Approx(-0.1051499456));
    // Noise variance (2 + 4) / 2 = 3, total variance 3.5, mean squared error 4.
    CHECK(m.explainable_variance[n] == doctest::Approx(0.5 / 3.5));
    CHECK(m.feve[n] == doctest::Approx(1.0 - (4.0 - 3.0) / 0.5));
  }
  CHECK(m.fraction_of_oracle == doctest::Approx(0.6546536707 / -0.1051499456));
  CHECK_THROWS_WITH_AS(repeat_metrics(prediction, responses, {1, 2, 3, 4, 5, 6}), doctest::Contains("no image is shown more than once"),
                       std::invalid_argument);
  CHECK_THROWS_AS(repeat_metrics(prediction, responses, {1, 1}), std::invalid_argument);
}

}  // namespace ww::nn
