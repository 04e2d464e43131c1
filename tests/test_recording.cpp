// Readers of real-recording layouts (SPEC 6) on small fixtures written by the tests, malformed
// variants included.
#include <doctest/doctest.h>

#include <filesystem>
#include <limits>
#include <fstream>
#include <random>

#include "io/atomic_file.hpp"
#include "io/npy.hpp"
#include "io/recording.hpp"
#include "tests/support.hpp"

namespace ww::io {
namespace {

namespace fs = std::filesystem;

ad::Tensor random_tensor(ad::Shape shape, std::mt19937_64& rng) {
  ad::Tensor t(std::move(shape));
  std::normal_distribution<float> normal(0.f, 1.f);
  for (std::size_t i = 0; i < t.numel(); ++i) t.data()[i] = normal(rng);
  return t;
}

// 30 training and 10 validation trials, 5 test images shown 3 times each; 4 neurons, 6x7 images.
Recording fixture() {
  std::mt19937_64 rng(11);
  Recording r;
  r.train = {random_tensor({30, 1, 6, 7}, rng), random_tensor({30, 4}, rng)};
  r.validation = {random_tensor({10, 1, 6, 7}, rng), random_tensor({10, 4}, rng)};
  r.test = {random_tensor({15, 1, 6, 7}, rng), random_tensor({15, 4}, rng)};
  for (std::int64_t t = 0; t < 15; ++t) r.test_image_ids.push_back(100 + t % 5);
  r.cell_motor_coordinates = random_tensor({4, 3}, rng);
  return r;
}

void check_same(const Recording& a, const Recording& b) {
  CHECK(a.train.images.to_vector() == b.train.images.to_vector());
  CHECK(a.train.responses.to_vector() == b.train.responses.to_vector());
  CHECK(a.validation.images.to_vector() == b.validation.images.to_vector());
  CHECK(a.validation.responses.to_vector() == b.validation.responses.to_vector());
  CHECK(a.test.images.to_vector() == b.test.images.to_vector());
  CHECK(a.test.responses.to_vector() == b.test.responses.to_vector());
  CHECK(a.test_image_ids == b.test_image_ids);
  CHECK(a.cell_motor_coordinates.to_vector() == b.cell_motor_coordinates.to_vector());
}

std::string load_error(const std::string& path) {
  try {
    load_recording(path);
  } catch (const FormatError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("recordings: the file tree and its .npz packing round-trip, tiers and repeats intact") {
  const std::string dir = testing::temporary_folder("recording");
  const Recording original = fixture();
  write_recording_tree(original, dir + "/tree");
  write_recording_npz(original, dir + "/packed.npz");
  CHECK(read_npy(dir + "/tree/meta/trials/tiers.npy").to_strings().at(40) == "test");
  CHECK(read_npy(dir + "/tree/data/images/0.npy").shape == std::vector<std::int64_t>{1, 6, 7});
  check_same(load_recording(dir + "/tree"), original);
  check_same(load_recording(dir + "/packed.npz"), original);
  fs::remove_all(dir);
}

TEST_CASE("recordings: malformed file trees and packings are refused with the file and the problem named") {
  const std::string dir = testing::temporary_folder("recording-bad");
  const Recording original = fixture();
  const auto fresh_tree = [&](const std::string& name) {
    write_recording_tree(original, dir + "/" + name);
    return dir + "/" + name;
  };
  std::string tree = fresh_tree("missing");
  fs::remove(tree + "/data/images/3.npy");
  CHECK(load_error(tree).find("data/images: holds 54 .npy files, meta/trials/tiers.npy lists 55 trials") != std::string::npos);
  fs::copy_file(tree + "/data/images/4.npy", tree + "/data/images/99.npy");
  CHECK(load_error(tree).find("data/images/3.npy: missing") != std::string::npos);

  tree = fresh_tree("tier");
  std::vector<std::string> tiers = read_npy(tree + "/meta/trials/tiers.npy").to_strings();
  tiers[2] = "trian";
  write_file_atomically(tree + "/meta/trials/tiers.npy", npy_bytes(tiers));
  CHECK(load_error(tree).find("trial 2 has tier 'trian'") != std::string::npos);

  tree = fresh_tree("truncated");
  const std::vector<char> bytes = read_file(tree + "/data/responses/7.npy");
  write_file_atomically(tree + "/data/responses/7.npy", std::string(bytes.data(), bytes.size() - 5));
  CHECK(load_error(tree).find("data/responses/7.npy") != std::string::npos);

  tree = fresh_tree("neurons");
  write_npy(tree + "/data/responses/5.npy", ad::Tensor::zeros({3}));
  CHECK(load_error(tree).find("with 3 responses, trial 0 has") != std::string::npos);

  tree = fresh_tree("ids");
  write_npy(tree + "/meta/trials/frame_image_id.npy", ad::Tensor::zeros({54}));
  CHECK(load_error(tree).find("54 image ids for 55 trials") != std::string::npos);

  tree = fresh_tree("nan");
  write_npy(tree + "/data/images/9.npy", ad::Tensor::full({1, 6, 7}, std::numeric_limits<float>::quiet_NaN()));
  CHECK(load_error(tree).find("NaN") != std::string::npos);

  write_npz(dir + "/no_tiers.npz", {{"images", original.train.images}, {"responses", original.train.responses}});
  CHECK(load_error(dir + "/no_tiers.npz").find("has no array 'meta_trials_tiers'") != std::string::npos);
  CHECK(load_error(dir + "/nothing").find("not a recording") != std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("recordings: an Antolik region folder: 31x31 images, the last 20% validate, repeats become test trials") {
  const std::string dir = testing::temporary_folder("antolik");
  std::mt19937_64 rng(5);
  write_npy(dir + "/training_inputs.npy", random_tensor({20, 961}, rng));
  write_npy(dir + "/training_set.npy", random_tensor({20, 3}, rng));
  write_npy(dir + "/validation_inputs.npy", random_tensor({5, 961}, rng));
  const ad::Tensor repeats = random_tensor({2, 5, 3}, rng);
  write_npy(dir + "/raw_validation_set.npy", repeats);
  const Recording r = load_recording(dir);
  CHECK(r.train.images.shape() == ad::Shape{16, 1, 31, 31});
  CHECK(r.validation.responses.shape() == ad::Shape{4, 3});
  CHECK(r.test.responses.shape() == ad::Shape{10, 3});
  CHECK(r.test_image_ids == std::vector<std::int64_t>{0, 1, 2, 3, 4, 0, 1, 2, 3, 4});
  CHECK(r.test.responses.to_vector() == repeats.to_vector());
  CHECK(ad::slice_rows(r.test.images, 0, 5).to_vector() == ad::slice_rows(r.test.images, 5, 10).to_vector());  // the same 5 images twice
  write_npy(dir + "/raw_validation_set.npy", random_tensor({2, 4, 3}, rng));
  CHECK(load_error(dir).find("raw_validation_set.npy: shape [2,4,3] (expected [repeats, 5, 3])") != std::string::npos);
  fs::remove_all(dir);
}

}  // namespace ww::io
