#pragma once
// Pictures of model parameters (stb_image_write from Debian's libstb-dev writes the PNG files).
#include <string>

#include "autodiff/tensor.hpp"

namespace ww::io {

// tiles [n, h, w] as a grid of `columns` tiles, each scaled by its own largest |value| to grey
// (0 = mid grey, positive lighter, negative darker), each pixel `zoom` x `zoom`, 1-pixel gaps.
void write_tile_grid_png(const std::string& path, const ad::Tensor& tiles, int columns, int zoom);

}  // namespace ww::io
