// Natural-image stimuli, the nonlinear ground-truth populations of Fig. 5 and the GLM baselines.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "io/natural_images.hpp"
#include "io/nonlinear_populations.hpp"
#include "nn/metrics.hpp"
#include "tests/support.hpp"
#include "tools/glm.hpp"

namespace ww {
namespace {

// Correlation of horizontally neighbouring pixels over all images.
double neighbour_correlation(const std::vector<io::GrayImage>& images) {
  double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0, count = 0;
  for (const io::GrayImage& image : images)
    for (std::int64_t y = 0; y < image.height; ++y)
      for (std::int64_t x = 0; x + 1 < image.width; ++x) {
        const double a = image.pixels[static_cast<std::size_t>(y * image.width + x)], b = image.pixels[static_cast<std::size_t>(y * image.width + x + 1)];
        sx += a, sy += b, sxx += a * a, syy += b * b, sxy += a * b, count += 1;
      }
  const double cov = sxy / count - sx / count * sy / count;
  return cov / std::sqrt((sxx / count - sx * sx / count / count) * (syy / count - sy * sy / count / count));
}

io::NonlinearPopulationConfig small_population(io::Teacher teacher, std::int64_t types, std::int64_t units, std::int64_t train,
                                              std::int64_t test) {
  io::NonlinearPopulationConfig config;
  config.teacher = teacher;
  config.types = types;
  config.units_per_type = units;
  config.train_samples = train;
  config.test_samples = test;
  return config;
}

}  // namespace

TEST_CASE("dead leaves: deterministic, covered, smooth like natural images; crops are standardised") {
  const auto images = io::dead_leaves(3, 128, 7);
  REQUIRE(images.size() == 3);
  CHECK(images[0].pixels == io::dead_leaves(3, 128, 7)[0].pixels);
  CHECK(images[0].pixels != io::dead_leaves(3, 128, 8)[0].pixels);
  for (const auto& image : images)
    for (float p : image.pixels) REQUIRE((p >= 0.f && p <= 1.f));
  // Occluding disks make neighbouring pixels mostly equal (photographs: ~0.9); white noise would give 0.
  CHECK(neighbour_correlation(images) > 0.7);
  const ad::Tensor crops = io::random_crops(images, 500, 44, 3);
  CHECK(crops.shape() == ad::Shape{500, 1, 44, 44});
  double sum = 0, squares = 0;
  for (std::size_t i = 0; i < crops.numel(); ++i) sum += crops.data()[i], squares += static_cast<double>(crops.data()[i]) * crops.data()[i];
  const double mean = sum / static_cast<double>(crops.numel());
  CHECK(std::fabs(mean) < 0.2);
  CHECK(std::sqrt(squares / static_cast<double>(crops.numel()) - mean * mean) == doctest::Approx(1.0).epsilon(0.2));
  CHECK_THROWS_WITH_AS(io::random_crops(images, 1, 200, 1), doctest::Contains("no source image is at least 200x200"), std::invalid_argument);
}

TEST_CASE("photographs: a folder is read as gray images; a missing folder, an empty one or a broken file is named") {
  const std::string folder = testing::temporary_folder("photos");
  CHECK_THROWS_WITH_AS(io::load_photos(folder), doctest::Contains("holds no image"), std::runtime_error);
  CHECK_THROWS_WITH_AS(io::load_photos(folder + "/absent"), doctest::Contains("absent: not a folder"), std::runtime_error);
  std::ofstream(folder + "/broken.png") << "not a png";
  CHECK_THROWS_WITH_AS(io::load_photos(folder), doctest::Contains("broken.png: cannot decode"), std::runtime_error);
  std::filesystem::remove_all(folder);
  const std::string shared = std::string(WW_SOURCE_DIR) + "/../shared/data/photos";
  if (!std::filesystem::is_directory(shared)) {
    MESSAGE("no photographs at " << shared << ": reading real photographs not checked");
    return;
  }
  const auto photos = io::load_photos(shared);
  CHECK(photos.size() >= 10);
  for (const auto& photo : photos) CHECK(photo.pixels.size() == static_cast<std::size_t>(photo.height * photo.width));
  CHECK(neighbour_correlation(photos) > 0.7);
}

TEST_CASE("V1-like population: simple cells are the rectified Gabor at their place, mean 0.1 per type, deterministic") {
  const io::NonlinearPopulationConfig config = small_population(io::Teacher::v1, 4, 20, 200, 300);
  const io::Population p = io::make_nonlinear_population(config);
  REQUIRE(p.test_truth.shape() == ad::Shape{300, 80});
  REQUIRE(p.kernels.shape() == ad::Shape{4, 13, 13});
  CHECK(p.train.responses.to_vector() == io::make_nonlinear_population(config).train.responses.to_vector());
  for (std::int64_t t = 0; t < 4; ++t) {
    double sum = 0;
    for (std::int64_t b = 0; b < 300; ++b)
      for (std::int64_t n = t * 20; n < (t + 1) * 20; ++n) sum += p.test_truth.data()[b * 80 + n];
    CHECK(sum / (300 * 20) == doctest::Approx(0.1).epsilon(1e-4));
  }
  // Unit 0 is a simple cell of type 0: a fixed multiple of max(0, Gabor . crop).
  const auto row = static_cast<std::int64_t>(p.locations.data()[0]), col = static_cast<std::int64_t>(p.locations.data()[1]);
  double scale = -1;
  for (std::int64_t b = 0; b < 300; ++b) {
    double drive = 0;
    for (std::int64_t y = 0; y < 13; ++y)
      for (std::int64_t x = 0; x < 13; ++x) drive += p.kernels.data()[y * 13 + x] * p.test_images.data()[(b * 44 + row + y) * 44 + col + x];
    const double r = p.test_truth.data()[b * 80];
    if (drive <= 1e-3) {
      CHECK(r == doctest::Approx(0.0).epsilon(1e-5));
    } else if (scale < 0) {
      scale = r / drive;
    } else {
      CHECK(r == doctest::Approx(scale * drive).epsilon(1e-3));
    }
  }
  CHECK(scale > 0);
  // Type 1 is a complex cell: its energy is positive almost everywhere, unlike the rectified simple cell.
  std::int64_t simple_zero = 0, complex_zero = 0;
  for (std::int64_t b = 0; b < 300; ++b) simple_zero += p.test_truth.data()[b * 80] == 0.f, complex_zero += p.test_truth.data()[b * 80 + 20] == 0.f;
  CHECK(simple_zero > 50);
  CHECK(complex_zero == 0);
}

TEST_CASE("random-CNN population and divisive normalisation: non-negative responses; normalisation changes responses, not images") {
  const io::Population p = io::make_nonlinear_population(small_population(io::Teacher::random_cnn, 3, 10, 50, 2000));
  CHECK(p.test_truth.shape() == ad::Shape{2000, 30});
  CHECK_FALSE(p.kernels.defined());
  for (float r : p.test_truth.to_vector()) REQUIRE(r >= 0.f);
  // The same images and units with and without normalisation differ, and both keep mean 0.1.
  const io::NonlinearPopulationConfig v1 = small_population(io::Teacher::v1, 4, 5, 50, 500);
  io::NonlinearPopulationConfig normalised = v1;
  normalised.divisive_normalization = true;
  const io::Population plain = io::make_nonlinear_population(v1), divided = io::make_nonlinear_population(normalised);
  CHECK(plain.test_images.to_vector() == divided.test_images.to_vector());
  CHECK(plain.test_truth.to_vector() != divided.test_truth.to_vector());
}

TEST_CASE("GLM with a ReLU output recovers a planted model; the LNP (exp, Poisson) too") {
  std::mt19937_64 rng(5);
  std::normal_distribution<float> normal(0.f, 1.f);
  const std::int64_t rows = 3000, inputs = 20, neurons = 3;
  ad::Tensor x({rows, inputs}), w({inputs, neurons});
  for (std::size_t i = 0; i < x.numel(); ++i) x.data()[i] = normal(rng);
  for (std::size_t i = 0; i < w.numel(); ++i) w.data()[i] = 0.3f * normal(rng);
  for (const training::GlmOutput output : {training::GlmOutput::relu, training::GlmOutput::exp}) {
    ad::Tensor truth({rows, neurons}), y({rows, neurons});
    for (std::int64_t b = 0; b < rows; ++b)
      for (std::int64_t n = 0; n < neurons; ++n) {
        double drive = 0.1;
        for (std::int64_t d = 0; d < inputs; ++d) drive += x.data()[b * inputs + d] * w.data()[d * neurons + n];
        const double rate = output == training::GlmOutput::relu ? std::max(drive, 0.0) + 0.2 : std::exp(drive);
        truth.data()[b * neurons + n] = static_cast<float>(rate);
        y.data()[b * neurons + n] = output == training::GlmOutput::relu ? static_cast<float>(rate + 0.3 * normal(rng))
                                                                         : static_cast<float>(std::poisson_distribution<int>(rate)(rng));
      }
    training::GlmOptions options;
    options.strengths = {1e-4f, 1e-2f};
    options.learning_rate = 1e-2f;
    const training::GlmFit fit = training::fit_glm(ad::slice_rows(x, 0, 2000), ad::slice_rows(y, 0, 2000), ad::slice_rows(x, 2000, 2500),
                                                   ad::slice_rows(y, 2000, 2500), output, options);
    const auto fev = nn::fev_per_neuron(training::predict_glm(fit, ad::slice_rows(x, 2500, rows)), ad::slice_rows(truth, 2500, rows));
    for (double f : fev) CHECK(f > 0.95);
  }
  CHECK_THROWS_WITH_AS(training::fit_glm(x, ad::slice_rows(x, 0, 10), x, x, training::GlmOutput::relu), doctest::Contains("same B"),
                       std::invalid_argument);
}

}  // namespace ww
