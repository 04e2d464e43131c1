#include "io/natural_images.hpp"

#include <stb/stb_image.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>
#include <stdexcept>

namespace ww::io {
namespace {

bool is_image_file(const std::filesystem::path& path) {
  std::string extension = path.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const char* known : {".png", ".jpg", ".jpeg", ".pgm", ".ppm", ".bmp"})
    if (extension == known) return true;
  return false;
}

}  // namespace

std::vector<GrayImage> load_photos(const std::string& folder) {
  std::error_code error;
  if (!std::filesystem::is_directory(folder, error)) throw std::runtime_error(folder + ": not a folder of photographs");
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(folder))
    if (entry.is_regular_file() && is_image_file(entry.path())) files.push_back(entry.path());
  if (files.empty()) throw std::runtime_error(folder + ": holds no image (.png, .jpg, .jpeg, .pgm, .ppm, .bmp)");
  std::sort(files.begin(), files.end());
  std::vector<GrayImage> images;
  for (const auto& file : files) {
    int width = 0, height = 0, channels = 0;
    unsigned char* data = stbi_load(file.c_str(), &width, &height, &channels, 1);
    if (data == nullptr) throw std::runtime_error(file.string() + ": cannot decode image (" + stbi_failure_reason() + ")");
    GrayImage image{height, width, std::vector<float>(static_cast<std::size_t>(width) * static_cast<std::size_t>(height)),
                    file.filename().string()};
    for (std::size_t i = 0; i < image.pixels.size(); ++i) image.pixels[i] = static_cast<float>(data[i]) / 255.f;
    stbi_image_free(data);
    images.push_back(std::move(image));
  }
  return images;
}

std::vector<GrayImage> dead_leaves(std::int64_t count, std::int64_t size, std::uint64_t seed) {
  if (count <= 0 || size < 8) throw std::invalid_argument("dead_leaves: needs at least one image of at least 8x8 pixels");
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const double r_min = 2.0, r_max = static_cast<double>(size) / 4.0;
  std::vector<GrayImage> images;
  for (std::int64_t i = 0; i < count; ++i) {
    GrayImage image{size, size, std::vector<float>(static_cast<std::size_t>(size * size), -1.f), "dead_leaves_" + std::to_string(i)};
    std::int64_t uncovered = size * size;
    // Front to back: each new disk lies behind the earlier ones, so it paints only uncovered pixels.
    for (int disk = 0; disk < 200000 && uncovered > 0; ++disk) {
      // Inverse CDF of the density ~ r^-3 on [r_min, r_max].
      const double u = unit(rng);
      const double radius = 1.0 / std::sqrt(1.0 / (r_min * r_min) - u * (1.0 / (r_min * r_min) - 1.0 / (r_max * r_max)));
      const double cy = unit(rng) * static_cast<double>(size), cx = unit(rng) * static_cast<double>(size);
      const auto gray = static_cast<float>(unit(rng));
      const auto y0 = std::max<std::int64_t>(0, static_cast<std::int64_t>(cy - radius));
      const auto y1 = std::min<std::int64_t>(size - 1, static_cast<std::int64_t>(cy + radius));
      const auto x0 = std::max<std::int64_t>(0, static_cast<std::int64_t>(cx - radius));
      const auto x1 = std::min<std::int64_t>(size - 1, static_cast<std::int64_t>(cx + radius));
      for (std::int64_t y = y0; y <= y1; ++y)
        for (std::int64_t x = x0; x <= x1; ++x) {
          float& pixel = image.pixels[static_cast<std::size_t>(y * size + x)];
          const double dy = static_cast<double>(y) + 0.5 - cy, dx = static_cast<double>(x) + 0.5 - cx;
          if (pixel < 0.f && dy * dy + dx * dx <= radius * radius) {
            pixel = gray;
            --uncovered;
          }
        }
    }
    for (float& pixel : image.pixels)
      if (pixel < 0.f) pixel = 0.5f;  // a mid-gray background where the disk budget ran out
    images.push_back(std::move(image));
  }
  return images;
}

ad::Tensor random_crops(const std::vector<GrayImage>& sources, std::int64_t count, std::int64_t size, std::uint64_t seed) {
  std::vector<double> positions;
  double sum = 0.0, sum_squares = 0.0, pixels = 0.0;
  for (const GrayImage& image : sources) {
    const bool fits = image.height >= size && image.width >= size;
    positions.push_back(fits ? static_cast<double>((image.height - size + 1) * (image.width - size + 1)) : 0.0);
    for (float p : image.pixels) {
      sum += p;
      sum_squares += static_cast<double>(p) * p;
    }
    pixels += static_cast<double>(image.pixels.size());
  }
  if (sources.empty() || *std::max_element(positions.begin(), positions.end()) == 0.0) {
    throw std::invalid_argument("random_crops: no source image is at least " + std::to_string(size) + "x" + std::to_string(size));
  }
  const double mean = sum / pixels, sd = std::sqrt(std::max(sum_squares / pixels - mean * mean, 1e-12));
  std::mt19937_64 rng(seed);
  std::discrete_distribution<std::size_t> which(positions.begin(), positions.end());
  ad::Tensor crops({count, 1, size, size});
  for (std::int64_t c = 0; c < count; ++c) {
    const GrayImage& image = sources[which(rng)];
    std::uniform_int_distribution<std::int64_t> row(0, image.height - size), col(0, image.width - size);
    const std::int64_t top = row(rng), left = col(rng);
    float* crop = crops.data() + c * size * size;
    for (std::int64_t y = 0; y < size; ++y)
      for (std::int64_t x = 0; x < size; ++x)
        crop[y * size + x] = static_cast<float>((image.pixels[static_cast<std::size_t>((top + y) * image.width + left + x)] - mean) / sd);
  }
  return crops;
}

}  // namespace ww::io
