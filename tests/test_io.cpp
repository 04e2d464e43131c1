// .npy/.npz, checkpoints and configuration files: round trips and every malformed variant.
#include <doctest/doctest.h>
#include <stb/stb_image.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>

#include "io/atomic_file.hpp"
#include "io/checkpoint.hpp"
#include "io/config.hpp"
#include "io/dataset.hpp"
#include "io/figures.hpp"
#include "io/npy.hpp"
#include "io/populations.hpp"
#include "autodiff/functions.hpp"
#include "tests/support.hpp"

namespace ww::io {
namespace {

// A .npy file from a header dictionary and raw data, with the given format version.
std::string npy_file(const std::string& dict, const std::string& data, int major = 1) {
  std::string header = dict;
  const std::size_t length_bytes = major == 1 ? 2 : 4;
  while ((8 + length_bytes + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string bytes = "\x93NUMPY";
  bytes += static_cast<char>(major);
  bytes += '\0';
  for (std::size_t i = 0; i < length_bytes; ++i) bytes += static_cast<char>((header.size() >> (8 * i)) & 0xff);
  return bytes + header + data;
}

template <class T>
std::string raw(std::initializer_list<T> values) {
  std::string bytes;
  for (T v : values) bytes.append(reinterpret_cast<const char*>(&v), sizeof(T));
  return bytes;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

void write_bytes(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

}  // namespace

TEST_CASE("npy: every supported dtype and header version reads back") {
  const std::string dir = testing::temporary_folder("npy");
  struct Case {
    std::string descr, data;
    std::vector<float> expected;
    int major;
  };
  const std::vector<Case> cases = {
      {"<f4", raw<float>({1.5f, -2.f}), {1.5f, -2.f}, 1},
      {"<f8", raw<double>({0.25, 1e3}), {0.25f, 1000.f}, 2},
      {"|u1", raw<std::uint8_t>({0, 255}), {0.f, 255.f}, 3},
      {"<i4", raw<std::int32_t>({-7, 9}), {-7.f, 9.f}, 1},
      {"<i8", raw<std::int64_t>({-3, 123456789}), {-3.f, 123456789.f}, 1},
      {"|b1", raw<std::uint8_t>({1, 0}), {1.f, 0.f}, 1},
  };
  for (const Case& c : cases) {
    INFO(c.descr << " version " << c.major);
    const std::string path = dir + "/a.npy";
    write_bytes(path, npy_file("{'descr': '" + c.descr + "', 'fortran_order': False, 'shape': (2,), }", c.data, c.major));
    const NpyArray a = read_npy(path);
    CHECK(a.shape == std::vector<std::int64_t>{2});
    CHECK(a.to_tensor().to_vector() == c.expected);
  }
  write_bytes(dir + "/s.npy", npy_file("{'descr': '<U3', 'fortran_order': False, 'shape': (2,), }",
                                       raw<std::uint32_t>({'t', 'r', 'a', 'f', 'o', 0})));
  CHECK(read_npy(dir + "/s.npy").to_strings() == std::vector<std::string>{"tra", "fo"});
  write_bytes(dir + "/i.npy", npy_file("{'descr': '<i8', 'fortran_order': False, 'shape': (), }", raw<std::int64_t>({42})));
  CHECK(read_npy(dir + "/i.npy").to_integers() == std::vector<std::int64_t>{42});
  std::filesystem::remove_all(dir);
}

TEST_CASE("npy and npz written by us read back exactly") {
  const std::string dir = testing::temporary_folder("npz");
  const ad::Tensor t = ad::Tensor::from_values({2, 3}, {1, 2, 3, 4, 5, 6.5f});
  write_npy(dir + "/t.npy", t);
  CHECK(read_npy(dir + "/t.npy").to_tensor().to_vector() == t.to_vector());
  for (bool compress : {false, true}) {
    write_npz(dir + "/t.npz", {{"images", t}, {"responses", t.reshaped({3, 2})}}, compress);
    const auto arrays = read_npz(dir + "/t.npz");
    REQUIRE(arrays.count("responses") == 1);
    CHECK(arrays.at("responses").shape == std::vector<std::int64_t>{3, 2});
    CHECK(arrays.at("images").to_tensor().to_vector() == t.to_vector());
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("malformed npy files give errors naming the file and the problem") {
  const std::string dir = testing::temporary_folder("bad-npy");
  const std::string path = dir + "/bad.npy";
  const std::string good = npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", raw<float>({1, 2, 3, 4}));
  struct Case {
    std::string bytes;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {good.substr(0, good.size() - 3), "truncated"},
      {good.substr(0, 20), "truncated inside the header"},
      {"PK\x03\x04 not numpy", "magic"},
      {npy_file("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", raw<float>({1})), "big-endian"},
      {npy_file("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }", raw<float>({1})), "fortran_order"},
      {npy_file("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", raw<float>({1, 2})), "not supported"},
      {npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", ""), "negative"},
      {npy_file("{'descr': '<f4', 'fortran_order': False, }", ""), "lacks"},
      {good + "xx", "unexpected bytes"},
  };
  for (const Case& c : cases) {
    write_bytes(path, c.bytes);
    const std::string message = error_of([&] { read_npy(path); });
    INFO(message);
    CHECK(message.find(path) != std::string::npos);
    CHECK(message.find(c.expected) != std::string::npos);
  }
  write_bytes(dir + "/broken.npz", "PK\x03\x04garbage");
  CHECK(error_of([&] { read_npz(dir + "/broken.npz"); }).find("broken.npz") != std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_CASE("datasets: mismatched counts, wrong ranks and NaN are refused with the file named") {
  const std::string dir = testing::temporary_folder("dataset");
  write_npy(dir + "/images.npy", ad::Tensor::zeros({4, 5, 5}));
  write_npy(dir + "/responses3.npy", ad::Tensor::zeros({3, 2}));
  write_npy(dir + "/flat.npy", ad::Tensor::zeros({4}));
  ad::Tensor with_nan = ad::Tensor::zeros({4, 2});
  with_nan.data()[5] = std::numeric_limits<float>::quiet_NaN();
  write_npy(dir + "/nan.npy", with_nan);
  CHECK(error_of([&] { load_dataset(dir + "/images.npy", dir + "/responses3.npy"); }).find("3 responses for 4 images") != std::string::npos);
  CHECK(error_of([&] { load_dataset(dir + "/flat.npy", dir + "/responses3.npy"); }).find("flat.npy") != std::string::npos);
  const std::string nan_error = error_of([&] { load_dataset(dir + "/images.npy", dir + "/nan.npy"); });
  CHECK(nan_error.find("nan.npy: element [2,1] is NaN") != std::string::npos);
  const Dataset ok = load_dataset(dir + "/images.npy", "-");
  CHECK(ok.images.shape() == ad::Shape{4, 1, 5, 5});
  write_npz(dir + "/only_images.npz", {{"images", ad::Tensor::zeros({4, 5, 5})}});
  CHECK(error_of([&] { load_dataset(dir + "/only_images.npz", ""); }).find("has no array 'responses'") != std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_CASE("checkpoints round-trip and refuse truncated, corrupted and unknown-version files") {
  const std::string dir = testing::temporary_folder("checkpoint");
  const std::string path = dir + "/c.wwc";
  Checkpoint c;
  c.texts["config"] = "{}";
  c.integers["step"] = 1234567890123;
  c.reals["best_loss"] = 0.125;
  c.tensors["param/w"] = ad::Tensor::from_values({2, 2}, {1, 2, 3, 4});
  save_checkpoint(path, c);
  const Checkpoint back = load_checkpoint(path);
  CHECK(back.integer("step") == 1234567890123);
  CHECK(back.real("best_loss") == 0.125);
  CHECK(back.text("config") == "{}");
  CHECK(back.tensor("param/w").to_vector() == std::vector<float>{1, 2, 3, 4});
  CHECK(error_of([&] { back.integer("missing"); }).find("field 'missing' is missing") != std::string::npos);

  const std::vector<char> bytes = read_file(path);
  const std::string original(bytes.begin(), bytes.end());
  struct Case {
    std::string bytes, expected;
  };
  std::string corrupted = original;
  corrupted[corrupted.size() - 5] ^= 0x40;
  std::string future = original;
  future[21] = 9;
  const std::vector<Case> cases = {{original.substr(0, original.size() - 10), "truncated"},
                                   {original.substr(0, 25), "truncated inside the checkpoint header"},
                                   {corrupted, "CRC-32"},
                                   {future, "version 9 is not supported"},
                                   {"hello", "not a whatwhere checkpoint"}};
  for (const Case& k : cases) {
    write_bytes(path, k.bytes);
    const std::string message = error_of([&] { load_checkpoint(path); });
    INFO(message);
    CHECK(message.find(path) != std::string::npos);
    CHECK(message.find(k.expected) != std::string::npos);
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("configuration: defaults, round trip, unknown keys and wrong types") {
  const Config defaults = parse_config("{}", "x.json");
  CHECK(defaults.training.learning_rate == doctest::Approx(1e-3));
  Config c = parse_config(R"({"model": {"core": {"layers": [{"channels": 8, "kernel": 3, "padding": "same"}]},
      "readout": {"kind": "gaussian", "covariance": "isotropic"}, "loss": "poisson"},
      "training": {"batch_size": 32, "schedule": {"eval_every": 50}}})", "x.json");
  CHECK(c.model.core.layers.at(0).padding == ops::Padding::same);
  CHECK(c.model.readout.covariance == nn::GaussianCovariance::isotropic);
  const Config again = parse_config(config_to_json(c), "y.json");
  CHECK(config_to_json(again) == config_to_json(c));
  CHECK(error_of([] { parse_config(R"({"model": {"readout": {"kindd": "gaussian"}}})", "x.json"); })
            .find("x.json: model.readout.kindd: unknown key") != std::string::npos);
  CHECK(error_of([] { parse_config(R"({"training": {"batch_size": "64"}})", "x.json"); })
            .find("training.batch_size: expected an integer") != std::string::npos);
  CHECK(error_of([] { parse_config(R"({"model": {"readout": {"kind": "full"}}})", "x.json"); })
            .find("'full' is not one of factorized, fixed_mask, fully_connected, gaussian") != std::string::npos);
  CHECK(error_of([] { parse_config("{nope", "x.json"); }).find("x.json: not valid JSON") != std::string::npos);
}

TEST_CASE("the example configurations in configs/ are valid") {
  int read = 0;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(WW_SOURCE_DIR) + "/configs")) {
    if (!entry.is_regular_file()) continue;  // configs/search/ holds ww-search grids (tested with ww-search)
    INFO(entry.path().string());
    CHECK_NOTHROW(read_config(entry.path().string()));
    ++read;
  }
  CHECK(read >= 4);
}

}  // namespace ww::io

namespace ww::io {

TEST_CASE("simulated populations: deterministic, E|r| = 0.1, responses are the kernel at the location, noise variance |r|") {
  PopulationConfig config;
  config.neurons = 6;
  config.train_samples = 4000;
  config.test_samples = 4000;
  config.seed = 7;
  const Population p = make_population(config);
  CHECK(p.train.images.shape() == ad::Shape{4000, 1, 48, 48});
  CHECK(p.test_truth.shape() == ad::Shape{4000, 6});
  const Population again = make_population(config);
  CHECK(std::memcmp(again.train.responses.data(), p.train.responses.data(), p.train.responses.numel() * sizeof(float)) == 0);
  config.seed = 8;
  CHECK(make_population(config).locations.data()[0] * 100 + make_population(config).locations.data()[1] !=
        p.locations.data()[0] * 100 + p.locations.data()[1]);

  for (std::int64_t n = 0; n < 6; ++n) {
    CAPTURE(n);
    const float row = p.locations.data()[n * 2], col = p.locations.data()[n * 2 + 1];
    CHECK((row >= 0 && row < 32 && col >= 0 && col < 32));
    // The noise-free response is the convolution's valid output at the neuron's location.
    const ad::Tensor one_image = slice_rows(p.test_images, 0, 1);
    const ad::Tensor kernel = slice_rows(p.kernels, n, n + 1);
    ad::NoGradGuard no_grad;
    const ad::Tensor map = ad::conv2d(ad::Var::constant(one_image), ad::Var::constant(ad::Tensor::from_values(
        {1, 1, 17, 17}, std::vector<float>(kernel.data(), kernel.data() + kernel.numel())))).value();
    CHECK(map.data()[static_cast<std::int64_t>(row) * 32 + static_cast<std::int64_t>(col)] == doctest::Approx(p.test_truth.data()[n]).epsilon(1e-4));
    // On-centre: the kernel's middle is positive, its surround negative.
    CHECK(kernel.data()[8 * 17 + 8] > 0.f);
    CHECK(kernel.data()[8 * 17 + 3] < 0.f);
    double mean_abs = 0.0, noise_variance = 0.0;
    const ad::Tensor train_truth = population_responses(p.train.images, p.kernels, p.locations);
    for (std::int64_t b = 0; b < 4000; ++b) {
      mean_abs += std::fabs(p.test_truth.data()[b * 6 + n]) / 4000.0;
      const double noise = p.train.responses.data()[b * 6 + n] - train_truth.data()[b * 6 + n];
      noise_variance += noise * noise / 4000.0;
    }
    CHECK(mean_abs == doctest::Approx(0.1).epsilon(0.05));
    CHECK(noise_variance == doctest::Approx(0.1).epsilon(0.1));  // E[noise^2] = E|r|
  }
}

TEST_CASE("two-type populations: half small and half large receptive fields") {
  PopulationConfig config;
  config.neurons = 10;
  config.train_samples = 10;
  config.test_samples = 10;
  config.two_types = true;
  const Population p = make_population(config);
  // Spread of each kernel's energy around its centroid: scale 0.6 gives about 0.36 of scale 1's.
  auto spread = [&](std::int64_t n) {
    const float* k = p.kernels.data() + n * 17 * 17;
    double total = 0.0, mean_y = 0.0, mean_x = 0.0, second = 0.0;
    for (int y = 0; y < 17; ++y)
      for (int x = 0; x < 17; ++x) {
        const double e = double(k[y * 17 + x]) * k[y * 17 + x];
        total += e;
        mean_y += e * y;
        mean_x += e * x;
      }
    mean_y /= total;
    mean_x /= total;
    for (int y = 0; y < 17; ++y)
      for (int x = 0; x < 17; ++x) second += double(k[y * 17 + x]) * k[y * 17 + x] * ((y - mean_y) * (y - mean_y) + (x - mean_x) * (x - mean_x));
    return second / total;
  };
  for (std::int64_t n = 0; n < 10; ++n) {
    CAPTURE(n);
    CHECK(p.types.data()[n] == (n < 5 ? 0.f : 1.f));
    if (n < 5) CHECK(spread(n) < 0.6 * spread(5 + n));
  }
  CHECK_THROWS_AS(crop_patches(p.test_images, 40, 0, 17), std::invalid_argument);
  const ad::Tensor patch = crop_patches(p.test_images, 3, 4, 17);
  CHECK(patch.data()[0] == p.test_images.data()[3 * 48 + 4]);
  CHECK(patch.data()[17 * 17 + 16] == p.test_images.data()[48 * 48 + 3 * 48 + 20]);  // image 1, its row 3, column 4 + 16
}

}  // namespace ww::io

namespace ww::io {

TEST_CASE("line and scatter plots are PNG files of the documented size; a log axis refuses x <= 0") {
  const std::string dir = testing::temporary_folder("plots");
  Series a{"CNN 10", {64, 256, 1024}, {0.1, 0.5, 0.8}, palette(0)};
  Series b{"ridge", {64, 256, 1024}, {-0.5, 0.2, 0.4}, palette(1), true};
  write_line_plot_png(dir + "/line.png", {a, b}, {"title", "samples", "FEV", true, 0.0, 1.0});
  write_scatter_png(dir + "/scatter.png", {a}, {"scatter", "|w1|", "|w2|", false, 0.0, 1.0}, 0.0, 0.0);
  for (const std::string name : {"line.png", "scatter.png"}) {
    const std::vector<char> png = read_file(dir + "/" + name);
    REQUIRE(png.size() > 24);
    CHECK(std::string(png.data() + 1, 3) == "PNG");
    auto big_endian = [&](int at) {
      return (static_cast<unsigned char>(png[at]) << 24) | (static_cast<unsigned char>(png[at + 1]) << 16) |
             (static_cast<unsigned char>(png[at + 2]) << 8) | static_cast<unsigned char>(png[at + 3]);
    };
    CHECK(big_endian(16) == 900);  // IHDR width, height
    CHECK(big_endian(20) == 560);
  }
  Series zero{"bad", {0, 1}, {0, 1}};
  CHECK_THROWS_AS(write_line_plot_png(dir + "/bad.png", {zero}, {"", "", "", true, 0.0, 1.0}), std::invalid_argument);
  std::filesystem::remove_all(dir);
}

TEST_CASE("barcodes: a column per neuron grouped by true type under its type's colour, each band its share of the largest weight") {
  const std::string path = testing::temporary_folder("barcodes") + "/barcodes.png";
  const ad::Tensor weights = ad::Tensor::from_values({2, 4}, {1, 0, 0.5f, 0, 0, 2, 1, -3});  // [K, N]
  const ad::Tensor types = ad::Tensor::from_values({4}, {1, 0, 1, 0});
  write_barcodes_png(path, weights, types, "barcodes");
  int width = 0, height = 0, channels = 0;
  unsigned char* rgb = stbi_load(path.c_str(), &width, &height, &channels, 3);
  REQUIRE(rgb != nullptr);
  // 250-pixel columns from x = 10 in the order 1, 3 (type 0), 0, 2 (type 1); the type strip at
  // y 40-51, channel 0's band at y 56-155, channel 1's at 156-255.
  const auto pixel = [&](int column, int y) {
    const unsigned char* p = rgb + (static_cast<std::size_t>(y) * width + 10 + column * 250 + 125) * 3;
    return std::array<unsigned char, 3>{p[0], p[1], p[2]};
  };
  const std::array<std::size_t, 4> type_of_column{0, 0, 1, 1};
  const std::array<int, 4> channel0{0, 0, 255, 128}, channel1{255, 255, 0, 255};
  for (int column = 0; column < 4; ++column) {
    CAPTURE(column);
    CHECK(pixel(column, 45) == palette(type_of_column[column]));
    CHECK(pixel(column, 100)[0] == channel0[column]);
    CHECK(pixel(column, 200)[0] == channel1[column]);
  }
  stbi_image_free(rgb);
  CHECK_THROWS_AS(write_barcodes_png(path, weights, ad::Tensor::from_values({3}, {0, 1, 0}), "bad"), FormatError);
  std::filesystem::remove_all(std::filesystem::path(path).parent_path());
}

}  // namespace ww::io
