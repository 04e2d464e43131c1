#include "nn/init.hpp"

#include <cmath>
#include <stdexcept>

#include "ops/matmul.hpp"

namespace ww::nn {

ad::Tensor spike_triggered_average(const ad::Tensor& images, const ad::Tensor& responses) {
  const ad::Shape& si = images.shape();
  const ad::Shape& sr = responses.shape();
  if (si.size() != 4 || sr.size() != 2 || si[0] != sr[0]) {
    throw std::invalid_argument("spike_triggered_average: images " + ad::shape_string(si) + " and responses " +
                                ad::shape_string(sr) + " must be [B,C,H,W] and [B,N]");
  }
  const std::int64_t batch = si[0], channels = si[1], pixels = si[2] * si[3], neurons = sr[1];
  // [N, C*H*W] = y^T x / B, then the channel average.
  ad::Tensor per_channel({neurons, channels * pixels});
  ops::gemm(true, false, static_cast<std::size_t>(neurons), static_cast<std::size_t>(channels * pixels),
            static_cast<std::size_t>(batch), 1.f / static_cast<float>(batch), responses.data(),
            static_cast<std::size_t>(neurons), images.data(), static_cast<std::size_t>(channels * pixels), 0.f,
            per_channel.data(), static_cast<std::size_t>(channels * pixels));
  ad::Tensor sta = ad::Tensor::zeros({neurons, si[2], si[3]});
  for (std::int64_t n = 0; n < neurons; ++n)
    for (std::int64_t c = 0; c < channels; ++c)
      for (std::int64_t p = 0; p < pixels; ++p)
        sta.data()[n * pixels + p] += per_channel.data()[(n * channels + c) * pixels + p] / static_cast<float>(channels);
  return sta;
}

std::vector<std::int64_t> sta_locations(const ad::Tensor& sta, std::int64_t out_height, std::int64_t out_width,
                                        double sd, int size) {
  const std::int64_t neurons = sta.shape()[0], height = sta.shape()[1], width = sta.shape()[2];
  if (out_height > height || out_width > width) {
    throw std::invalid_argument("sta_locations: output " + std::to_string(out_height) + "x" + std::to_string(out_width) +
                                " is larger than the STA " + std::to_string(height) + "x" + std::to_string(width));
  }
  std::vector<double> kernel(static_cast<std::size_t>(size));
  const int half = size / 2;
  for (int i = 0; i < size; ++i) kernel[static_cast<std::size_t>(i)] = std::exp(-0.5 * (i - half) * (i - half) / (sd * sd));
  const std::int64_t top = (height - out_height) / 2, left = (width - out_width) / 2;
  std::vector<std::int64_t> locations(static_cast<std::size_t>(neurons));
  std::vector<double> rows(static_cast<std::size_t>(height * width));
  for (std::int64_t n = 0; n < neurons; ++n) {
    const float* s = sta.data() + n * height * width;
    // Separable smoothing: along rows, then along columns (only where the crop needs it).
    for (std::int64_t y = 0; y < height; ++y)
      for (std::int64_t x = 0; x < width; ++x) {
        double acc = 0.0;
        for (int k = 0; k < size; ++k) {
          const std::int64_t xx = x + k - half;
          if (xx >= 0 && xx < width) acc += kernel[static_cast<std::size_t>(k)] * s[y * width + xx];
        }
        rows[static_cast<std::size_t>(y * width + x)] = acc;
      }
    double best = -1.0;
    for (std::int64_t y = 0; y < out_height; ++y)
      for (std::int64_t x = 0; x < out_width; ++x) {
        double acc = 0.0;
        for (int k = 0; k < size; ++k) {
          const std::int64_t yy = top + y + k - half;
          if (yy >= 0 && yy < height) acc += kernel[static_cast<std::size_t>(k)] * rows[static_cast<std::size_t>(yy * width + left + x)];
        }
        if (std::fabs(acc) > best) {
          best = std::fabs(acc);
          locations[static_cast<std::size_t>(n)] = y * out_width + x;
        }
      }
  }
  return locations;
}

}  // namespace ww::nn
