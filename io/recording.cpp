#include "io/recording.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <random>

#include "io/atomic_file.hpp"
#include "io/npy.hpp"

namespace ww::io {
namespace {

namespace fs = std::filesystem;

// Every trial of a recording in stored order.
struct Trials {
  ad::Tensor images;     // [T, 1, H, W]
  ad::Tensor responses;  // [T, N]
  std::vector<std::string> tiers;
  std::vector<std::int64_t> image_ids;
  ad::Tensor coordinates;
};

// Images [T, H, W] or [T, 1, H, W] as [T, 1, H, W].
ad::Tensor as_image_batch(const NpyArray& array) {
  if (array.shape.size() == 3) return array.to_tensor().reshaped({array.shape[0], 1, array.shape[1], array.shape[2]});
  if (array.shape.size() == 4 && array.shape[1] == 1) return array.to_tensor();
  throw FormatError(array.origin + ": shape " + ad::shape_string(array.shape) + ": images must be [trials, height, width] or [trials, 1, height, width]");
}

std::vector<std::int64_t> integer_ids(const NpyArray& array) {
  if (array.dtype != DType::f4 && array.dtype != DType::f8) return array.to_integers();
  std::vector<std::int64_t> ids;
  for (const float value : array.to_tensor().to_vector()) {
    if (!(std::round(value) == value)) throw FormatError(array.origin + ": image ids must be integers, found " + std::to_string(value));
    ids.push_back(static_cast<std::int64_t>(value));
  }
  return ids;
}

// The checks every layout shares: one tier and one id per trial, known tiers, finite values.
void check_trials(const Trials& t, const std::string& origin) {
  const auto count = static_cast<std::size_t>(t.images.shape()[0]);
  if (t.responses.rank() != 2 || static_cast<std::size_t>(t.responses.shape()[0]) != count) {
    throw FormatError(origin + ": responses " + ad::shape_string(t.responses.shape()) + " for " + std::to_string(count) +
                      " images (expected [trials, neurons] with one row per image)");
  }
  if (t.tiers.size() != count || t.image_ids.size() != count) {
    throw FormatError(origin + ": " + std::to_string(t.tiers.size()) + " tiers and " + std::to_string(t.image_ids.size()) +
                      " image ids for " + std::to_string(count) + " trials (one each per trial)");
  }
  for (std::size_t i = 0; i < count; ++i) {
    const std::string& tier = t.tiers[i];
    if (tier != "train" && tier != "validation" && tier != "test" && tier != "final_test") {
      throw FormatError(origin + ": trial " + std::to_string(i) + " has tier '" + tier + "' (expected train, validation, test or final_test)");
    }
  }
  if (t.coordinates.defined() && (t.coordinates.rank() != 2 || t.coordinates.shape()[0] != t.responses.shape()[1])) {
    throw FormatError(origin + ": cell_motor_coordinates " + ad::shape_string(t.coordinates.shape()) + " for " +
                      std::to_string(t.responses.shape()[1]) + " neurons (expected [neurons, 3])");
  }
  require_finite(t.images, origin + " images");
  require_finite(t.responses, origin + " responses");
}

Recording split(const Trials& t, const std::string& origin) {
  check_trials(t, origin);
  std::map<std::string, std::vector<std::int64_t>> rows;
  for (std::size_t i = 0; i < t.tiers.size(); ++i) rows[t.tiers[i]].push_back(static_cast<std::int64_t>(i));
  Recording r;
  r.origin = origin;
  const std::pair<const char*, Dataset*> tiers[] = {{"train", &r.train}, {"validation", &r.validation}, {"test", &r.test}};
  for (const auto& [tier, data] : tiers) {
    if (rows[tier].size() < 2) throw FormatError(origin + ": the '" + tier + "' tier has " + std::to_string(rows[tier].size()) + " trials (needs at least 2)");
    data->images = ad::gather_rows(t.images, rows[tier]);
    data->responses = ad::gather_rows(t.responses, rows[tier]);
  }
  for (const std::int64_t row : rows["test"]) r.test_image_ids.push_back(t.image_ids[static_cast<std::size_t>(row)]);
  r.cell_motor_coordinates = t.coordinates;
  return r;
}

Trials read_tree(const fs::path& folder) {
  const fs::path meta = folder / "meta";
  Trials t;
  t.tiers = read_npy((meta / "trials" / "tiers.npy").string()).to_strings();
  t.image_ids = integer_ids(read_npy((meta / "trials" / "frame_image_id.npy").string()));
  const fs::path coordinates = meta / "neurons" / "cell_motor_coordinates.npy";
  if (fs::exists(coordinates)) t.coordinates = read_npy(coordinates.string()).to_tensor();
  const std::size_t count = t.tiers.size();
  for (const char* kind : {"images", "responses"}) {
    const fs::path dir = folder / "data" / kind;
    std::size_t files = 0;
    if (fs::is_directory(dir))
      for (const auto& entry : fs::directory_iterator(dir)) files += entry.path().extension() == ".npy";
    if (files != count) {
      throw FormatError(dir.string() + ": holds " + std::to_string(files) + " .npy files, meta/trials/tiers.npy lists " +
                        std::to_string(count) + " trials (one file per trial: 0.npy, 1.npy, ...)");
    }
  }
  if (count == 0) throw FormatError(folder.string() + ": no trials");
  for (std::size_t i = 0; i < count; ++i) {
    const std::string name = std::to_string(i) + ".npy";
    const fs::path image_path = folder / "data" / "images" / name, response_path = folder / "data" / "responses" / name;
    if (!fs::exists(image_path) || !fs::exists(response_path)) {
      throw FormatError((fs::exists(image_path) ? response_path : image_path).string() + ": missing (trials are numbered 0 to " +
                        std::to_string(count - 1) + ")");
    }
    const NpyArray image = read_npy(image_path.string()), response = read_npy(response_path.string());
    const std::vector<std::int64_t> plane = image.shape.size() == 3 && image.shape[0] == 1
                                                ? std::vector<std::int64_t>{image.shape[1], image.shape[2]}
                                                : image.shape;
    if (plane.size() != 2 || response.shape.size() != 1) {
      throw FormatError((plane.size() != 2 ? image.origin : response.origin) + ": shape " +
                        ad::shape_string(plane.size() != 2 ? image.shape : response.shape) +
                        (plane.size() != 2 ? " (expected one image, [1, height, width] or [height, width])" : " (expected [neurons])"));
    }
    if (i == 0) {
      t.images = ad::Tensor({static_cast<std::int64_t>(count), 1, plane[0], plane[1]});
      t.responses = ad::Tensor({static_cast<std::int64_t>(count), response.shape[0]});
    }
    if (plane[0] != t.images.shape()[2] || plane[1] != t.images.shape()[3] || response.shape[0] != t.responses.shape()[1]) {
      throw FormatError(image.origin + ", " + response.origin + ": an image of " + ad::shape_string(plane) + " with " +
                        std::to_string(response.shape[0]) + " responses, trial 0 has " +
                        ad::shape_string({t.images.shape()[2], t.images.shape()[3]}) + " and " + std::to_string(t.responses.shape()[1]));
    }
    const ad::Tensor pixels = image.to_tensor(), values = response.to_tensor();
    std::copy_n(pixels.data(), pixels.numel(), t.images.data() + i * pixels.numel());
    std::copy_n(values.data(), values.numel(), t.responses.data() + i * values.numel());
  }
  return t;
}

const NpyArray& npz_array(const std::map<std::string, NpyArray>& arrays, const std::string& path, const std::string& key) {
  const auto found = arrays.find(key);
  if (found == arrays.end()) throw FormatError(path + ": has no array '" + key + "' (a packed recording needs images, responses, meta_trials_tiers, meta_trials_frame_image_id)");
  return found->second;
}

Trials read_packed(const std::string& path) {
  const auto arrays = read_npz(path);
  Trials t;
  t.images = as_image_batch(npz_array(arrays, path, "images"));
  t.responses = npz_array(arrays, path, "responses").to_tensor();
  t.tiers = npz_array(arrays, path, "meta_trials_tiers").to_strings();
  t.image_ids = integer_ids(npz_array(arrays, path, "meta_trials_frame_image_id"));
  const auto coordinates = arrays.find("meta_neurons_cell_motor_coordinates");
  if (coordinates != arrays.end()) t.coordinates = coordinates->second.to_tensor();
  return t;
}

// 31x31 images flattened row-major; the paper validates on the last 20% of the training trials.
Recording read_antolik(const fs::path& folder) {
  const auto images_of = [](const NpyArray& array) {
    const auto side = static_cast<std::int64_t>(std::lround(std::sqrt(array.shape.size() == 2 ? static_cast<double>(array.shape[1]) : 0.0)));
    if (array.shape.size() != 2 || side * side != array.shape[1]) {
      throw FormatError(array.origin + ": shape " + ad::shape_string(array.shape) + " (expected [images, side * side], e.g. 31 x 31 = 961)");
    }
    return array.to_tensor().reshaped({array.shape[0], 1, side, side});
  };
  const ad::Tensor inputs = images_of(read_npy((folder / "training_inputs.npy").string()));
  const NpyArray responses = read_npy((folder / "training_set.npy").string());
  const ad::Tensor test_images = images_of(read_npy((folder / "validation_inputs.npy").string()));
  const NpyArray repeats = read_npy((folder / "raw_validation_set.npy").string());
  const std::int64_t count = inputs.shape()[0], tests = test_images.shape()[0];
  if (responses.shape.size() != 2 || responses.shape[0] != count) {
    throw FormatError(responses.origin + ": shape " + ad::shape_string(responses.shape) + " for " + std::to_string(count) +
                      " training images (expected [images, neurons])");
  }
  if (repeats.shape.size() != 3 || repeats.shape[1] != tests || repeats.shape[2] != responses.shape[1]) {
    throw FormatError(repeats.origin + ": shape " + ad::shape_string(repeats.shape) + " (expected [repeats, " + std::to_string(tests) +
                      ", " + std::to_string(responses.shape[1]) + "])");
  }
  Trials t;
  const std::int64_t trials = count + repeats.shape[0] * tests, neurons = responses.shape[1];
  t.images = ad::Tensor({trials, 1, inputs.shape()[2], inputs.shape()[3]});
  t.responses = ad::Tensor({trials, neurons});
  std::copy_n(inputs.data(), inputs.numel(), t.images.data());
  std::copy_n(responses.to_tensor().data(), count * neurons, t.responses.data());
  const std::int64_t validation_from = count - static_cast<std::int64_t>(std::llround(0.2 * static_cast<double>(count)));
  for (std::int64_t i = 0; i < count; ++i) {
    t.tiers.push_back(i < validation_from ? "train" : "validation");
    t.image_ids.push_back(tests + i);
  }
  const ad::Tensor repeated = repeats.to_tensor();
  const std::int64_t pixels = test_images.numel() / static_cast<std::size_t>(tests);
  for (std::int64_t r = 0; r < repeats.shape[0]; ++r)
    for (std::int64_t image = 0; image < tests; ++image) {
      const std::int64_t trial = count + r * tests + image;
      std::copy_n(test_images.data() + image * pixels, pixels, t.images.data() + trial * pixels);
      std::copy_n(repeated.data() + (r * tests + image) * neurons, neurons, t.responses.data() + trial * neurons);
      t.tiers.emplace_back("test");
      t.image_ids.push_back(image);
    }
  return split(t, folder.string());
}

Trials to_trials(const Recording& r) {
  Trials t;
  const std::int64_t train = r.train.images.shape()[0], validation = r.validation.images.shape()[0], test = r.test.images.shape()[0];
  std::vector<std::int64_t> order;
  const ad::Shape& image = r.train.images.shape();
  t.images = ad::Tensor({train + validation + test, 1, image[2], image[3]});
  t.responses = ad::Tensor({train + validation + test, r.train.responses.shape()[1]});
  std::int64_t next_id = r.test_image_ids.empty() ? 0 : *std::max_element(r.test_image_ids.begin(), r.test_image_ids.end()) + 1;
  std::size_t offset = 0, response_offset = 0;
  const std::pair<const char*, const Dataset*> tiers[] = {{"train", &r.train}, {"validation", &r.validation}, {"test", &r.test}};
  for (const auto& [tier, data] : tiers) {
    std::copy_n(data->images.data(), data->images.numel(), t.images.data() + offset);
    std::copy_n(data->responses.data(), data->responses.numel(), t.responses.data() + response_offset);
    offset += data->images.numel();
    response_offset += data->responses.numel();
    for (std::int64_t i = 0; i < data->images.shape()[0]; ++i) {
      t.tiers.emplace_back(tier);
      t.image_ids.push_back(std::string(tier) == "test" ? r.test_image_ids[static_cast<std::size_t>(i)] : next_id++);
    }
  }
  t.coordinates = r.cell_motor_coordinates;
  return t;
}

ad::Tensor id_tensor(const std::vector<std::int64_t>& ids) {
  ad::Tensor t({static_cast<std::int64_t>(ids.size())});
  for (std::size_t i = 0; i < ids.size(); ++i) t.data()[i] = static_cast<float>(ids[i]);
  return t;
}

}  // namespace

Recording load_recording(const std::string& path) {
  const fs::path p(path);
  if (p.extension() == ".npz") return split(read_packed(path), path);
  if (fs::exists(p / "training_inputs.npy")) return read_antolik(p);
  if (fs::is_directory(p / "data") && fs::is_directory(p / "meta")) return split(read_tree(p), path);
  throw FormatError(path + ": not a recording (expected an .npz, a folder with data/ and meta/, or an Antolik region folder with training_inputs.npy)");
}

std::string recording_name(const std::string& path) {
  fs::path p = fs::path(path).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  return p.stem().string();
}

std::vector<std::string> distinct_recording_names(const std::vector<std::string>& paths) {
  std::vector<std::string> names;
  for (const std::string& path : paths) {
    const std::string name = recording_name(path);
    if (std::find(names.begin(), names.end(), name) != names.end()) {
      throw FormatError(path + ": another recording is also named '" + name + "' (its file or folder name); rename one");
    }
    names.push_back(name);
  }
  return names;
}

TrainingSplit training_split(const Recording& r) {
  const std::int64_t train = r.train.images.shape()[0], validation = r.validation.images.shape()[0];
  return {{ad::concat_rows(r.train.images, r.validation.images), ad::concat_rows(r.train.responses, r.validation.responses),
           r.cell_motor_coordinates},
          static_cast<float>(validation) / static_cast<float>(train + validation)};
}

ad::Tensor simulated_cortical_coordinates(const ad::Tensor& locations, std::mt19937_64& rng) {
  const std::int64_t neurons = locations.shape()[0];
  std::normal_distribution<double> scatter(0.0, 0.3);
  std::uniform_real_distribution<double> depth(150.0, 350.0);
  ad::Tensor coordinates({neurons, 3});
  for (std::int64_t n = 0; n < neurons; ++n) {
    const double row = locations.data()[n * 2] + scatter(rng), col = locations.data()[n * 2 + 1] + scatter(rng);
    float* c = coordinates.data() + n * 3;
    c[0] = static_cast<float>(40.0 * (col + 0.25 * row) + 0.5 * col * col);
    c[1] = static_cast<float>(45.0 * (row - 0.15 * col));
    c[2] = static_cast<float>(depth(rng));
  }
  return coordinates;
}

Recording simulated_recording(const Population& population, std::int64_t repeats, std::uint64_t seed) {
  const std::int64_t samples = population.train.images.shape()[0], tests = population.test_images.shape()[0];
  const std::int64_t fit_end = samples - static_cast<std::int64_t>(std::llround(0.2 * static_cast<double>(samples)));
  Recording r;
  r.origin = "simulated population";
  r.train = {ad::slice_rows(population.train.images, 0, fit_end), ad::slice_rows(population.train.responses, 0, fit_end)};
  r.validation = {ad::slice_rows(population.train.images, fit_end, samples), ad::slice_rows(population.train.responses, fit_end, samples)};
  std::vector<std::int64_t> rows;
  for (std::int64_t repeat = 0; repeat < repeats; ++repeat)
    for (std::int64_t image = 0; image < tests; ++image) rows.push_back(image);
  r.test = {ad::gather_rows(population.test_images, rows), ad::gather_rows(population.test_truth, rows)};
  std::mt19937_64 rng(seed);
  add_poisson_like_noise(r.test.responses, rng);
  r.test_image_ids = rows;
  r.cell_motor_coordinates = simulated_cortical_coordinates(population.locations, rng);
  return r;
}

void write_recording_tree(const Recording& recording, const std::string& folder) {
  const Trials t = to_trials(recording);
  const fs::path root(folder);
  for (const char* dir : {"data/images", "data/responses", "meta/trials", "meta/neurons"}) fs::create_directories(root / dir);
  const std::int64_t count = t.images.shape()[0];
  for (std::int64_t i = 0; i < count; ++i) {
    const std::string name = std::to_string(i) + ".npy";
    write_npy((root / "data" / "images" / name).string(), ad::slice_rows(t.images, i, i + 1).reshaped({1, t.images.shape()[2], t.images.shape()[3]}));
    write_npy((root / "data" / "responses" / name).string(), ad::slice_rows(t.responses, i, i + 1).reshaped({t.responses.shape()[1]}));
  }
  write_file_atomically((root / "meta" / "trials" / "tiers.npy").string(), npy_bytes(t.tiers));
  write_npy((root / "meta" / "trials" / "frame_image_id.npy").string(), id_tensor(t.image_ids));
  if (t.coordinates.defined()) write_npy((root / "meta" / "neurons" / "cell_motor_coordinates.npy").string(), t.coordinates);
}

void write_recording_npz(const Recording& recording, const std::string& path) {
  const Trials t = to_trials(recording);
  std::vector<std::pair<std::string, std::string>> files = {{"images", npy_bytes(t.images)},
                                                            {"responses", npy_bytes(t.responses)},
                                                            {"meta_trials_tiers", npy_bytes(t.tiers)},
                                                            {"meta_trials_frame_image_id", npy_bytes(id_tensor(t.image_ids))}};
  if (t.coordinates.defined()) files.emplace_back("meta_neurons_cell_motor_coordinates", npy_bytes(t.coordinates));
  write_npz_files(path, files);
}

}  // namespace ww::io
