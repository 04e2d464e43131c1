#include "io/figures.hpp"

#include <stb/stb_image_write.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "io/npy.hpp"

namespace ww::io {

void write_tile_grid_png(const std::string& path, const ad::Tensor& tiles, int columns, int zoom) {
  if (tiles.rank() != 3) throw FormatError(path + ": tiles must be [n, h, w], got " + ad::shape_string(tiles.shape()));
  const int n = static_cast<int>(tiles.shape()[0]), h = static_cast<int>(tiles.shape()[1]), w = static_cast<int>(tiles.shape()[2]);
  columns = std::max(1, std::min(columns, n));
  const int rows = (n + columns - 1) / columns;
  const int tile_w = w * zoom + 1, tile_h = h * zoom + 1;
  const int width = columns * tile_w + 1, height = rows * tile_h + 1;
  std::vector<unsigned char> pixels(static_cast<std::size_t>(width) * static_cast<std::size_t>(height), 255);
  for (int t = 0; t < n; ++t) {
    const float* tile = tiles.data() + static_cast<std::size_t>(t) * static_cast<std::size_t>(h * w);
    float scale = 0.f;
    for (int i = 0; i < h * w; ++i) scale = std::max(scale, std::fabs(tile[i]));
    const int x0 = (t % columns) * tile_w + 1, y0 = (t / columns) * tile_h + 1;
    for (int y = 0; y < h * zoom; ++y)
      for (int x = 0; x < w * zoom; ++x) {
        const float v = scale > 0 ? tile[(y / zoom) * w + x / zoom] / scale : 0.f;
        pixels[static_cast<std::size_t>((y0 + y) * width + x0 + x)] = static_cast<unsigned char>(std::lround(127.5f + 127.f * v));
      }
  }
  if (stbi_write_png(path.c_str(), width, height, 1, pixels.data(), width) == 0) {
    throw FormatError(path + ": could not write the PNG file");
  }
}

}  // namespace ww::io
