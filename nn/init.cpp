#include "nn/init.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "nn/clustering.hpp"
#include "nn/metrics.hpp"
#include "ops/matmul.hpp"
#include "ops/parallel.hpp"
#include "ops/simd/kernel_table.hpp"

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

namespace {

// The Gaussian of SD `sd` pixels over 2 half + 1 taps (not normalised).
std::vector<double> gaussian_taps(double sd, int half) {
  std::vector<double> taps(static_cast<std::size_t>(2 * half + 1));
  for (int i = -half; i <= half; ++i) taps[static_cast<std::size_t>(i + half)] = std::exp(-0.5 * i * i / (sd * sd));
  return taps;
}

// `plane` (height x width) smoothed by the separable `taps` (centred) into `out`: each pixel the
// taps' weighted sum of its neighbours, the taps outside the plane counting as zeros; or, with
// `mean`, their weighted mean over the taps inside. `rows` is workspace.
void smooth_plane(const float* plane, std::int64_t height, std::int64_t width, const std::vector<double>& taps, bool mean,
                  std::vector<double>& rows, std::vector<double>& out) {
  const std::int64_t half = static_cast<std::int64_t>(taps.size() / 2);
  // The sum of the taps that fall inside the plane at a coordinate of an axis of `length`.
  const auto inside = [&](std::int64_t at, std::int64_t length) {
    double sum = 0.0;
    for (std::int64_t k = -half; k <= half; ++k)
      if (at + k >= 0 && at + k < length) sum += taps[static_cast<std::size_t>(k + half)];
    return sum;
  };
  rows.resize(static_cast<std::size_t>(height * width));
  out.resize(static_cast<std::size_t>(height * width));
  for (std::int64_t y = 0; y < height; ++y)
    for (std::int64_t x = 0; x < width; ++x) {
      double acc = 0.0;
      for (std::int64_t k = -half; k <= half; ++k)
        if (x + k >= 0 && x + k < width) acc += taps[static_cast<std::size_t>(k + half)] * plane[y * width + x + k];
      rows[static_cast<std::size_t>(y * width + x)] = mean ? acc / inside(x, width) : acc;
    }
  for (std::int64_t y = 0; y < height; ++y) {
    const double weight = mean ? inside(y, height) : 1.0;
    for (std::int64_t x = 0; x < width; ++x) {
      double acc = 0.0;
      for (std::int64_t k = -half; k <= half; ++k)
        if (y + k >= 0 && y + k < height) acc += taps[static_cast<std::size_t>(k + half)] * rows[static_cast<std::size_t>((y + k) * width + x)];
      out[static_cast<std::size_t>(y * width + x)] = acc / weight;
    }
  }
}

}  // namespace

ad::Tensor contrast_energy_map(const ad::Tensor& images, const ad::Tensor& responses) {
  const ad::Shape& si = images.shape();
  if (si.size() != 4) throw std::invalid_argument("contrast_energy_map: images " + ad::shape_string(si) + " must be [B,C,H,W]");
  const std::int64_t planes = si[0] * si[1], height = si[2], width = si[3], pixels = height * width;
  // The band-pass image: each pixel less the Gaussian-weighted mean of its surround (over the
  // surround inside the image: zero padding would make every border bright).
  const std::vector<double> surround = gaussian_taps(2.0, 8);
  ad::Tensor energy(si);
  ops::parallel_for(static_cast<std::size_t>(planes), 1, [&](std::size_t, std::size_t begin, std::size_t end) {
    std::vector<double> rows, blurred;
    for (std::size_t plane = begin; plane < end; ++plane) {
      const float* x = images.data() + plane * static_cast<std::size_t>(pixels);
      float* e = energy.data() + plane * static_cast<std::size_t>(pixels);
      smooth_plane(x, height, width, surround, true, rows, blurred);
      double mean = 0.0;
      for (std::int64_t p = 0; p < pixels; ++p) {
        const double band = x[p] - blurred[static_cast<std::size_t>(p)];
        e[p] = static_cast<float>(band * band);
        mean += band * band;
      }
      // Less its mean over the image: a crop of high contrast everywhere says nothing about where.
      mean /= static_cast<double>(pixels);
      for (std::int64_t p = 0; p < pixels; ++p) e[p] = static_cast<float>(e[p] - mean);
    }
  });
  // Centred responses: a neuron's mean response times the mean energy map is no location either.
  ad::Tensor centred = responses.clone();
  const ColumnMoments moments = column_moments(responses);
  const std::int64_t batch = responses.shape()[0], neurons = responses.shape()[1];
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t n = 0; n < neurons; ++n) centred.data()[b * neurons + n] -= static_cast<float>(moments.mean[static_cast<std::size_t>(n)]);
  return spike_triggered_average(energy, centred);
}

std::vector<std::int64_t> map_peaks(const std::vector<ad::Tensor>& maps, std::int64_t out_height, std::int64_t out_width, double sd,
                                    int size) {
  if (maps.empty()) throw std::invalid_argument("map_peaks: no maps");
  const std::int64_t neurons = maps.front().shape()[0], height = maps.front().shape()[1], width = maps.front().shape()[2];
  for (const ad::Tensor& map : maps)
    if (map.shape() != maps.front().shape())
      throw std::invalid_argument("map_peaks: maps " + ad::shape_string(map.shape()) + " and " + ad::shape_string(maps.front().shape()) +
                                  " differ");
  if (out_height > height || out_width > width) {
    throw std::invalid_argument("map_peaks: output " + std::to_string(out_height) + "x" + std::to_string(out_width) +
                                " is larger than the map " + std::to_string(height) + "x" + std::to_string(width));
  }
  const std::vector<double> taps = gaussian_taps(sd, size / 2);
  const std::int64_t top = (height - out_height) / 2, left = (width - out_width) / 2;
  const std::size_t window = static_cast<std::size_t>(out_height * out_width);
  std::vector<std::int64_t> peaks(static_cast<std::size_t>(neurons));
  std::vector<double> rows, smoothed, magnitudes(window), sorted(window), standing_out(window);
  std::vector<std::size_t> own_peaks(maps.size());
  for (std::int64_t n = 0; n < neurons; ++n) {
    std::fill(standing_out.begin(), standing_out.end(), 0.0);
    for (std::size_t m = 0; m < maps.size(); ++m) {
      const ad::Tensor& map = maps[m];
      smooth_plane(map.data() + n * height * width, height, width, taps, false, rows, smoothed);
      for (std::int64_t y = 0; y < out_height; ++y)
        for (std::int64_t x = 0; x < out_width; ++x)
          magnitudes[static_cast<std::size_t>(y * out_width + x)] = std::fabs(smoothed[static_cast<std::size_t>((top + y) * width + left + x)]);
      sorted = magnitudes;
      const auto middle = sorted.begin() + static_cast<std::ptrdiff_t>(window / 2);
      std::nth_element(sorted.begin(), middle, sorted.end());
      const double scale = *middle > 0.0 ? *middle : *std::max_element(sorted.begin(), sorted.end());
      if (scale > 0.0)
        for (std::size_t p = 0; p < window; ++p) standing_out[p] += magnitudes[p] / scale;
      own_peaks[m] = static_cast<std::size_t>(std::max_element(magnitudes.begin(), magnitudes.end()) - magnitudes.begin());
    }
    // The best of the maps' own peaks, not the peak of the sum: a sum of a sharp and a broad map
    // peaks between them, and the start should be where one map is sharpest.
    const std::size_t best = *std::max_element(own_peaks.begin(), own_peaks.end(),
                                               [&](std::size_t a, std::size_t b) { return standing_out[a] < standing_out[b]; });
    peaks[static_cast<std::size_t>(n)] = static_cast<std::int64_t>(best);
  }
  return peaks;
}

AlignedKernel align_kernel(const ad::Tensor& sta, std::int64_t k, int rounds) {
  const std::int64_t neurons = sta.shape()[0], height = sta.shape()[1], width = sta.shape()[2];
  if (k > height || k > width) throw std::invalid_argument("align_kernel: a " + std::to_string(k) + "x" + std::to_string(k) + " kernel does not fit the STAs");
  const std::int64_t out_h = height - k + 1, out_w = width - k + 1, plane = height * width;
  AlignedKernel a{ad::Tensor::zeros({k, k}), map_peaks({sta}, out_h, out_w), std::vector<float>(static_cast<std::size_t>(neurons), 0.f)};
  // The first kernel: the STAs at their peaks, signed by the centre of each cut-out.
  for (std::int64_t n = 0; n < neurons; ++n) {
    const std::int64_t at = a.locations[static_cast<std::size_t>(n)];
    a.match[static_cast<std::size_t>(n)] = sta.data()[n * plane + (at / out_w + k / 2) * width + at % out_w + k / 2];
  }
  float* kernel = a.kernel.data();
  const auto average_cut_outs = [&] {
    std::fill_n(kernel, k * k, 0.f);
    for (std::int64_t n = 0; n < neurons; ++n) {
      const std::int64_t at = a.locations[static_cast<std::size_t>(n)];
      const float sign = a.match[static_cast<std::size_t>(n)] < 0 ? -1.f : 1.f;
      const float* cut = sta.data() + n * plane + (at / out_w) * width + at % out_w;
      for (std::int64_t y = 0; y < k; ++y)
        for (std::int64_t x = 0; x < k; ++x) kernel[y * k + x] += sign * cut[y * width + x] / static_cast<float>(neurons);
    }
  };
  for (int round = 0; round <= rounds; ++round) {
    average_cut_outs();
    // A kernel off centre (its energy's centroid) loses what falls outside the window: move every
    // neuron's place by that offset and cut again.
    double energy = 0.0, cy = 0.0, cx = 0.0;
    for (std::int64_t y = 0; y < k; ++y)
      for (std::int64_t x = 0; x < k; ++x) {
        const double e = double(kernel[y * k + x]) * kernel[y * k + x];
        energy += e;
        cy += e * static_cast<double>(y);
        cx += e * static_cast<double>(x);
      }
    if (energy > 0) {
      const auto dy = static_cast<std::int64_t>(std::lround(cy / energy - static_cast<double>(k - 1) / 2));
      const auto dx = static_cast<std::int64_t>(std::lround(cx / energy - static_cast<double>(k - 1) / 2));
      if (dy != 0 || dx != 0) {
        for (std::int64_t& at : a.locations) {
          at = std::clamp<std::int64_t>(at / out_w + dy, 0, out_h - 1) * out_w + std::clamp<std::int64_t>(at % out_w + dx, 0, out_w - 1);
        }
        average_cut_outs();
      }
    }
    if (round == rounds) break;
    place_by_kernel(sta, a);
  }
  return a;
}

void place_by_kernel(const ad::Tensor& sta, AlignedKernel& a) {
  const std::int64_t neurons = sta.shape()[0], height = sta.shape()[1], width = sta.shape()[2], k = a.kernel.shape()[0];
  const std::int64_t out_h = height - k + 1, out_w = width - k + 1;
  a.locations.resize(static_cast<std::size_t>(neurons));
  a.match.resize(static_cast<std::size_t>(neurons));
  ops::parallel_for(static_cast<std::size_t>(neurons), 8, [&](std::size_t, std::size_t begin, std::size_t end) {
    std::vector<float> score(static_cast<std::size_t>(out_h * out_w));
    for (std::size_t n = begin; n < end; ++n) {
      ops::simd::kernels().correlate_valid(sta.data() + n * static_cast<std::size_t>(height * width), static_cast<std::size_t>(width),
                                           a.kernel.data(), static_cast<std::size_t>(k), static_cast<std::size_t>(k), score.data(),
                                           static_cast<std::size_t>(out_h), static_cast<std::size_t>(out_w), false);
      const std::size_t best = static_cast<std::size_t>(
          std::max_element(score.begin(), score.end(), [](float p, float q) { return std::fabs(p) < std::fabs(q); }) - score.begin());
      a.locations[n] = static_cast<std::int64_t>(best);
      a.match[n] = score[best];
    }
  });
}

TypedKernels align_typed_kernels(const ad::Tensor& sta, std::int64_t k, std::int64_t types, std::uint64_t seed) {
  AlignedKernel one = align_kernel(sta, k);
  const std::int64_t neurons = sta.shape()[0], height = sta.shape()[1], width = sta.shape()[2];
  TypedKernels t{one.kernel.reshaped({1, k, k}), one.locations, std::vector<std::int64_t>(static_cast<std::size_t>(neurons), 0), one.match};
  if (types == 1) return t;
  const std::int64_t out_w = width - k + 1, plane = height * width;
  // Each neuron's STA cut out at its place, signed by its match with the common kernel, at unit length.
  ad::Tensor shapes({neurons, k * k});
  for (std::int64_t n = 0; n < neurons; ++n) {
    const std::int64_t at = t.locations[static_cast<std::size_t>(n)];
    const float* cut = sta.data() + n * plane + (at / out_w) * width + at % out_w;
    float* row = shapes.data() + n * k * k;
    double norm = 0.0;
    for (std::int64_t y = 0; y < k; ++y)
      for (std::int64_t x = 0; x < k; ++x) {
        row[y * k + x] = cut[y * width + x];
        norm += double(cut[y * width + x]) * cut[y * width + x];
      }
    const double scale = (t.match[static_cast<std::size_t>(n)] < 0 ? -1.0 : 1.0) / (norm > 0 ? std::sqrt(norm) : 1.0);
    for (std::int64_t i = 0; i < k * k; ++i) row[i] = static_cast<float>(row[i] * scale);
  }
  t.type = kmeans(shapes, types, 10, seed).labels;
  // The places came from a kernel mixing all types: each type is aligned again on its own.
  t.kernels = ad::Tensor::zeros({types, k, k});
  for (std::int64_t type = 0; type < types; ++type) {
    std::vector<std::int64_t> members;
    for (std::int64_t n = 0; n < neurons; ++n)
      if (t.type[static_cast<std::size_t>(n)] == type) members.push_back(n);
    if (members.empty()) continue;
    ad::Tensor member_sta({static_cast<std::int64_t>(members.size()), height, width});
    for (std::size_t m = 0; m < members.size(); ++m) std::copy_n(sta.data() + members[m] * plane, plane, member_sta.data() + static_cast<std::int64_t>(m) * plane);
    const AlignedKernel aligned = align_kernel(member_sta, k);
    std::copy_n(aligned.kernel.data(), k * k, t.kernels.data() + type * k * k);
    for (std::size_t m = 0; m < members.size(); ++m) {
      t.locations[static_cast<std::size_t>(members[m])] = aligned.locations[m];
      t.match[static_cast<std::size_t>(members[m])] = aligned.match[m];
    }
  }
  return t;
}

void place_by_typed_kernels(const ad::Tensor& sta, TypedKernels& t) {
  const std::int64_t types = t.kernels.shape()[0], k = t.kernels.shape()[1];
  for (std::int64_t type = 0; type < types; ++type) {
    AlignedKernel a{ad::Tensor({k, k}), {}, {}};
    std::copy_n(t.kernels.data() + type * k * k, k * k, a.kernel.data());
    place_by_kernel(sta, a);
    if (type == 0) {
      t.locations = a.locations;
      t.match = a.match;
      t.type.assign(a.match.size(), 0);
      continue;
    }
    for (std::size_t n = 0; n < a.match.size(); ++n) {
      if (std::fabs(a.match[n]) <= std::fabs(t.match[n])) continue;
      t.locations[n] = a.locations[n];
      t.match[n] = a.match[n];
      t.type[n] = type;
    }
  }
}

}  // namespace ww::nn

namespace ww::nn {
namespace {

// Cholesky factor (lower, in place) of an n x n Gram matrix, after a small ridge: features can be
// collinear (a dead channel, a constant map) and the search only needs residuals.
void cholesky(std::vector<double>& a, std::size_t n) {
  double trace = 0.0;
  for (std::size_t i = 0; i < n; ++i) trace += a[i * n + i];
  const double ridge = 1e-9 * trace / static_cast<double>(n) + 1e-12;
  for (std::size_t i = 0; i < n; ++i) a[i * n + i] += ridge;
  for (std::size_t j = 0; j < n; ++j) {
    double d = a[j * n + j];
    for (std::size_t k = 0; k < j; ++k) d -= a[j * n + k] * a[j * n + k];
    d = std::sqrt(std::max(d, 1e-300));
    a[j * n + j] = d;
    for (std::size_t i = j + 1; i < n; ++i) {
      double v = a[i * n + j];
      for (std::size_t k = 0; k < j; ++k) v -= a[i * n + k] * a[j * n + k];
      a[i * n + j] = v / d;
    }
  }
}

// y'y - c' G^-1 c = y'y - |L^-1 c|^2 for G = L L': the residual of the least-squares fit.
double fit_residual(const std::vector<double>& factor, std::vector<double>& z, std::size_t n, double yy) {
  double explained = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    double v = z[i];
    for (std::size_t k = 0; k < i; ++k) v -= factor[i * n + k] * z[k];
    z[i] = v / factor[i * n + i];
    explained += z[i] * z[i];
  }
  return std::max(0.0, yy - explained);
}

// beta = L'^-1 z, where z already holds L^-1 c (what fit_residual leaves): the fitted coefficients.
std::vector<double> back_substitute(const std::vector<double>& factor, const std::vector<double>& z, std::size_t n) {
  std::vector<double> beta(n);
  for (std::size_t i = n; i-- > 0;) {
    double v = z[i];
    for (std::size_t k = i + 1; k < n; ++k) v -= factor[k * n + i] * beta[k];
    beta[i] = v / factor[i * n + i];
  }
  return beta;
}

std::vector<double> sums_of_squares(const ad::Tensor& responses) {
  const std::int64_t batch = responses.shape()[0], neurons = responses.shape()[1];
  std::vector<double> yy(static_cast<std::size_t>(neurons), 0.0);
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t n = 0; n < neurons; ++n) yy[static_cast<std::size_t>(n)] += double(responses.data()[b * neurons + n]) * responses.data()[b * neurons + n];
  return yy;
}

void require_batch(const ad::Shape& features, std::size_t rank, const ad::Shape& responses, const char* what) {
  if (features.size() != rank || responses.size() != 2 || features[0] != responses[0]) {
    throw std::invalid_argument(std::string(what) + ": features " + ad::shape_string(features) + " and responses " +
                                ad::shape_string(responses) + " do not share a batch");
  }
}

}  // namespace

LocationSearch best_fitting_locations(const ad::Tensor& core_output, const ad::Tensor& responses) {
  require_batch(core_output.shape(), 4, responses.shape(), "best_fitting_locations");
  const ad::Shape& s = core_output.shape();
  const std::int64_t batch = s[0], channels = s[1], height = s[2], width = s[3], neurons = responses.shape()[1];
  if (height < 2 || width < 2) throw std::invalid_argument("best_fitting_locations: the core output " + ad::shape_string(s) + " has no 2x2 window");
  const std::int64_t pixels = height * width;
  const auto k = static_cast<std::size_t>(channels), unknowns = 4 * k + 1;
  const auto n_neurons = static_cast<std::size_t>(neurons);
  // Pixel-major features [B, P, K]: one GEMM gives every pixel's cross products X_p' y_n [P*K, N].
  ad::Tensor design({batch, pixels, channels});
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t c = 0; c < channels; ++c)
      for (std::int64_t p = 0; p < pixels; ++p) design.data()[(b * pixels + p) * channels + c] = core_output.data()[(b * channels + c) * pixels + p];
  const auto columns = static_cast<std::size_t>(pixels) * k;
  ad::Tensor cross({pixels * channels, neurons});
  ops::gemm(true, false, columns, n_neurons, static_cast<std::size_t>(batch), 1.f, design.data(), columns, responses.data(), n_neurons,
            0.f, cross.data(), n_neurons);
  std::vector<double> response_sum(n_neurons, 0.0);
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::size_t n = 0; n < n_neurons; ++n) response_sum[n] += responses.data()[static_cast<std::size_t>(b) * n_neurons + n];
  const std::vector<double> yy = sums_of_squares(responses);

  // Window w has top-left pixel (w / (W-1), w % (W-1)); its unknowns are the K features of its
  // four pixels (row-major) and a constant.
  const std::int64_t windows = (height - 1) * (width - 1);
  auto corner_pixels = [&](std::int64_t w) {
    const std::int64_t top_left = (w / (width - 1)) * width + w % (width - 1);
    return std::array<std::int64_t, 4>{top_left, top_left + 1, top_left + width, top_left + width + 1};
  };
  auto factor_window = [&](std::int64_t w, std::vector<double>& gram, std::vector<double>& row) {
    const auto corners = corner_pixels(w);
    std::fill(gram.begin(), gram.end(), 0.0);
    for (std::int64_t b = 0; b < batch; ++b) {
      for (std::size_t q = 0; q < 4; ++q) {
        const float* x = design.data() + (b * pixels + corners[q]) * channels;
        for (std::size_t c = 0; c < k; ++c) row[q * k + c] = x[c];
      }
      row[4 * k] = 1.0;
      for (std::size_t i = 0; i < unknowns; ++i)
        for (std::size_t j = 0; j <= i; ++j) gram[i * unknowns + j] += row[i] * row[j];
    }
    cholesky(gram, unknowns);
  };
  auto load_cross = [&](std::int64_t w, std::size_t n, std::vector<double>& z) {
    const auto corners = corner_pixels(w);
    for (std::size_t q = 0; q < 4; ++q)
      for (std::size_t c = 0; c < k; ++c) z[q * k + c] = cross.data()[(static_cast<std::size_t>(corners[q]) * k + c) * n_neurons + n];
    z[4 * k] = response_sum[n];
  };

  std::vector<double> residuals(static_cast<std::size_t>(windows) * n_neurons);
  ops::parallel_for(static_cast<std::size_t>(windows), 1, [&](std::size_t, std::size_t begin, std::size_t end) {
    std::vector<double> gram(unknowns * unknowns), row(unknowns), z(unknowns);
    for (std::size_t w = begin; w < end; ++w) {
      factor_window(static_cast<std::int64_t>(w), gram, row);
      for (std::size_t n = 0; n < n_neurons; ++n) {
        load_cross(static_cast<std::int64_t>(w), n, z);
        residuals[w * n_neurons + n] = fit_residual(gram, z, unknowns, yy[n]);
      }
    }
  });
  LocationSearch search;
  std::vector<std::int64_t> best_window(n_neurons, 0);
  search.residual.assign(n_neurons, std::numeric_limits<double>::infinity());
  for (std::size_t w = 0; w < static_cast<std::size_t>(windows); ++w)
    for (std::size_t n = 0; n < n_neurons; ++n)
      if (residuals[w * n_neurons + n] < search.residual[n]) {
        search.residual[n] = residuals[w * n_neurons + n];
        best_window[n] = static_cast<std::int64_t>(w);
      }
  // Within its window, each neuron sits at the centre of mass of its four pixels, weighted by the
  // norm of their fitted feature weights (what bilinear reading would weight them by).
  search.position.assign(n_neurons, {0.0, 0.0});
  search.features.assign(n_neurons * k, 0.f);
  search.constant.assign(n_neurons, 0.f);
  search.total = yy;
  search.corners.assign(n_neurons, {0, 0, 0, 0});
  search.corner_weights.assign(n_neurons, {0.0, 0.0, 0.0, 0.0});
  std::vector<double> gram(unknowns * unknowns), row(unknowns), z(unknowns);
  for (std::int64_t w = 0; w < windows; ++w) {
    bool factored = false;
    for (std::size_t n = 0; n < n_neurons; ++n) {
      if (best_window[n] != w) continue;
      if (!factored) factor_window(w, gram, row);
      factored = true;
      load_cross(w, n, z);
      fit_residual(gram, z, unknowns, yy[n]);
      const std::vector<double> beta = back_substitute(gram, z, unknowns);
      double weight[4], total = 0.0;
      for (std::size_t q = 0; q < 4; ++q) {
        double norm = 0.0;
        for (std::size_t c = 0; c < k; ++c) norm += beta[q * k + c] * beta[q * k + c];
        weight[q] = std::sqrt(norm);
        total += weight[q];
      }
      for (std::size_t q = 0; q < 4; ++q) search.corner_weights[n][q] = total > 0 ? weight[q] / total : 0.25;
      search.corners[n] = corner_pixels(w);
      const double down = search.corner_weights[n][2] + search.corner_weights[n][3];
      const double right = search.corner_weights[n][1] + search.corner_weights[n][3];
      search.position[n] = {static_cast<double>(w / (width - 1)) + down, static_cast<double>(w % (width - 1)) + right};
      // Reading features f bilinearly with weights a_q gives coefficients a_q f per pixel; the
      // a_q sum to 1, so f is the sum over the four pixels.
      for (std::size_t c = 0; c < k; ++c)
        search.features[n * k + c] = static_cast<float>(beta[c] + beta[k + c] + beta[2 * k + c] + beta[3 * k + c]);
      search.constant[n] = static_cast<float>(beta[4 * k]);
    }
  }
  return search;
}

std::vector<std::int64_t> neurons_to_move(const LocationSearch& search, const std::vector<double>& current) {
  constexpr double clearly_better = 0.9;
  std::vector<std::int64_t> moving;
  for (std::size_t n = 0; n < current.size(); ++n)
    if (search.residual[n] < clearly_better * current[n] && current[n] - search.residual[n] > 1e-6 * search.total[n]) {
      moving.push_back(static_cast<std::int64_t>(n));
    }
  return moving;
}

std::vector<double> own_feature_residuals(const ad::Tensor& features, const ad::Tensor& responses) {
  require_batch(features.shape(), 3, responses.shape(), "own_feature_residuals");
  const std::int64_t batch = features.shape()[0], neurons = features.shape()[1], channels = features.shape()[2];
  if (responses.shape()[1] != neurons) {
    throw std::invalid_argument("own_feature_residuals: features for " + std::to_string(neurons) + " neurons, responses for " +
                                std::to_string(responses.shape()[1]));
  }
  const auto k1 = static_cast<std::size_t>(channels + 1);
  const std::vector<double> yy = sums_of_squares(responses);
  std::vector<double> residuals(static_cast<std::size_t>(neurons));
  ops::parallel_for(static_cast<std::size_t>(neurons), 1, [&](std::size_t, std::size_t begin, std::size_t end) {
    std::vector<double> gram(k1 * k1), z(k1), row(k1);
    for (std::size_t n = begin; n < end; ++n) {
      std::fill(gram.begin(), gram.end(), 0.0);
      std::fill(z.begin(), z.end(), 0.0);
      for (std::int64_t b = 0; b < batch; ++b) {
        const float* f = features.data() + (static_cast<std::size_t>(b) * static_cast<std::size_t>(neurons) + n) * (k1 - 1);
        for (std::size_t k = 0; k + 1 < k1; ++k) row[k] = f[k];
        row[k1 - 1] = 1.0;
        const double y = responses.data()[static_cast<std::size_t>(b) * static_cast<std::size_t>(neurons) + n];
        for (std::size_t i = 0; i < k1; ++i) {
          z[i] += row[i] * y;
          for (std::size_t j = 0; j <= i; ++j) gram[i * k1 + j] += row[i] * row[j];
        }
      }
      cholesky(gram, k1);
      residuals[n] = fit_residual(gram, z, k1, yy[n]);
    }
  });
  return residuals;
}

}  // namespace ww::nn
