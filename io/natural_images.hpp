#pragma once
// Natural-image stimuli for the nonlinear simulations (SPEC 4.3): grayscale photographs read from
// a folder, or dead-leaves images (occluding disks with power-law radii, whose spectrum falls
// roughly as 1/f) when no photographs are at hand; random square crops of them as stimuli.
#include <cstdint>
#include <string>
#include <vector>

#include "autodiff/tensor.hpp"

namespace ww::io {

struct GrayImage {
  std::int64_t height = 0, width = 0;
  std::vector<float> pixels;  // row-major, 0..1
  std::string name;           // file name, or "dead_leaves_<i>"
};

// Every .png/.jpg/.jpeg/.pgm/.ppm/.bmp in `folder` (sorted by name), converted to gray. Throws
// std::runtime_error naming the folder when it holds no image, or the file that cannot be decoded.
std::vector<GrayImage> load_photos(const std::string& folder);

// `count` dead-leaves images of size x size: disks with radii of density ~ r^-3 on [2, size/4] and
// uniform gray levels, each drawn behind the ones before it until the image is covered.
std::vector<GrayImage> dead_leaves(std::int64_t count, std::int64_t size, std::uint64_t seed);

// `count` random size x size crops [count, 1, size, size] of the sources (each source chosen with
// probability proportional to its number of crop positions), standardised by the mean and SD of
// all source pixels so a stimulus set has pixels of roughly zero mean and unit variance.
ad::Tensor random_crops(const std::vector<GrayImage>& sources, std::int64_t count, std::int64_t size, std::uint64_t seed);

}  // namespace ww::io
