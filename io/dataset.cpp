#include "io/dataset.hpp"

#include <cstring>

#include "io/npy.hpp"

namespace ww::io {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

NpyArray npz_entry(const std::string& path, const std::string& key) {
  auto arrays = read_npz(path);
  const auto found = arrays.find(key);
  if (found == arrays.end()) {
    std::string keys;
    for (const auto& entry : arrays) keys += (keys.empty() ? "" : ", ") + entry.first;
    throw FormatError(path + ": has no array '" + key + "' (it holds: " + (keys.empty() ? "nothing" : keys) + ")");
  }
  return found->second;
}

NpyArray read_array(const std::string& path, const std::string& npz_key) {
  return ends_with(path, ".npz") ? npz_entry(path, npz_key) : read_npy(path);
}

}  // namespace

Dataset load_dataset(const std::string& images_path, const std::string& responses_path) {
  const NpyArray images = read_array(images_path, "images");
  if (images.shape.size() != 3 && images.shape.size() != 4) {
    throw FormatError(images.origin + ": shape " + ad::shape_string(images.shape) +
                      ": images must be [n, height, width] or [n, channels, height, width]");
  }
  Dataset data;
  data.images = images.to_tensor();
  if (images.shape.size() == 3) data.images = data.images.reshaped({images.shape[0], 1, images.shape[1], images.shape[2]});
  require_finite(data.images, images.origin);
  if (responses_path == "-") return data;
  const NpyArray responses = read_array(responses_path.empty() ? images_path : responses_path, "responses");
  if (responses.shape.size() != 2) {
    throw FormatError(responses.origin + ": shape " + ad::shape_string(responses.shape) + ": responses must be [n, neurons]");
  }
  if (responses.shape[0] != images.shape[0]) {
    throw FormatError(responses.origin + ": " + std::to_string(responses.shape[0]) + " responses for " +
                      std::to_string(images.shape[0]) + " images in " + images.origin + " (the counts must match)");
  }
  data.responses = responses.to_tensor();
  require_finite(data.responses, responses.origin);
  return data;
}

}  // namespace ww::io
