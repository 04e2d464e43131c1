#pragma once
// Images and responses from NumPy files, checked: images [n, h, w] or [n, c, h, w], responses
// [n, neurons], the same n, every value finite. Errors name the file and the problem.
#include <string>

#include "autodiff/tensor.hpp"

namespace ww::io {

struct Dataset {
  ad::Tensor images;     // [n, c, h, w]
  ad::Tensor responses;  // [n, neurons]; undefined when only images were read
  ad::Tensor neuron_coordinates{};  // [neurons, d] cortical coordinates; undefined unless a recording gives them
};

// images_path: .npy, or .npz holding "images" (and "responses" when responses_path is empty).
// responses_path: .npy, or empty for an .npz that holds both, or "-" for none (prediction).
Dataset load_dataset(const std::string& images_path, const std::string& responses_path);


}  // namespace ww::io
