#include "nn/clustering.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <stdexcept>
#include <string>

namespace ww::nn {
namespace {

double squared_distance(const float* a, const float* b, std::int64_t d) {
  double sum = 0.0;
  for (std::int64_t j = 0; j < d; ++j) {
    const double diff = static_cast<double>(a[j]) - b[j];
    sum += diff * diff;
  }
  return sum;
}

// k-means++ seeding: each next centre drawn with probability proportional to the squared distance
// to the nearest centre so far.
ad::Tensor seed_centroids(const ad::Tensor& points, std::int64_t k, std::mt19937_64& rng) {
  const std::int64_t n = points.shape()[0], d = points.shape()[1];
  ad::Tensor centroids({k, d});
  std::vector<double> nearest(static_cast<std::size_t>(n), std::numeric_limits<double>::infinity());
  std::int64_t chosen = std::uniform_int_distribution<std::int64_t>(0, n - 1)(rng);
  for (std::int64_t c = 0; c < k; ++c) {
    std::copy_n(points.data() + chosen * d, d, centroids.data() + c * d);
    double total = 0.0;
    for (std::int64_t i = 0; i < n; ++i) {
      auto& near = nearest[static_cast<std::size_t>(i)];
      near = std::min(near, squared_distance(points.data() + i * d, centroids.data() + c * d, d));
      total += near;
    }
    if (total <= 0.0) {  // every point sits on a centre: any point will do
      chosen = std::uniform_int_distribution<std::int64_t>(0, n - 1)(rng);
      continue;
    }
    chosen = static_cast<std::int64_t>(std::discrete_distribution<std::size_t>(nearest.begin(), nearest.end())(rng));
  }
  return centroids;
}

// BIC of the mixture of spherical Gaussians the clustering describes (its centres, one variance
// from its inertia, weights from its cluster sizes), the likelihood summed over components: a
// hard-assignment likelihood would reward splitting a Gaussian cluster in two.
double mixture_bic(const ad::Tensor& points, const Clustering& clustering) {
  const std::int64_t n = points.shape()[0], d = points.shape()[1], k = clustering.centroids.shape()[0];
  const double variance = std::max(clustering.inertia / static_cast<double>(n * d), 1e-12);
  std::vector<double> log_weight(static_cast<std::size_t>(k), 0.0);
  for (const std::int64_t label : clustering.labels) log_weight[static_cast<std::size_t>(label)] += 1.0;
  for (double& w : log_weight) w = w > 0.0 ? std::log(w / static_cast<double>(n)) : -std::numeric_limits<double>::infinity();
  constexpr double two_pi = 6.283185307179586;
  double log_likelihood = 0.0;
  std::vector<double> terms(static_cast<std::size_t>(k));
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t c = 0; c < k; ++c)
      terms[static_cast<std::size_t>(c)] = log_weight[static_cast<std::size_t>(c)] -
          squared_distance(points.data() + i * d, clustering.centroids.data() + c * d, d) / (2.0 * variance);
    const double top = *std::max_element(terms.begin(), terms.end());
    double sum = 0.0;
    for (const double t : terms) sum += std::exp(t - top);
    log_likelihood += top + std::log(sum) - 0.5 * static_cast<double>(d) * std::log(two_pi * variance);
  }
  const auto parameters = static_cast<double>(k * d + k);  // centres, k - 1 weights, the variance
  return -2.0 * log_likelihood + parameters * std::log(static_cast<double>(n));
}

// Lloyd iterations until no label changes (or 300 rounds).
Clustering lloyd(const ad::Tensor& points, ad::Tensor centroids) {
  const std::int64_t n = points.shape()[0], d = points.shape()[1], k = centroids.shape()[0];
  Clustering result;
  result.labels.assign(static_cast<std::size_t>(n), -1);
  for (int round = 0; round < 300; ++round) {
    bool changed = false;
    result.inertia = 0.0;
    for (std::int64_t i = 0; i < n; ++i) {
      std::int64_t best = 0;
      double best_distance = std::numeric_limits<double>::infinity();
      for (std::int64_t c = 0; c < k; ++c) {
        const double distance = squared_distance(points.data() + i * d, centroids.data() + c * d, d);
        if (distance < best_distance) best_distance = distance, best = c;
      }
      changed |= result.labels[static_cast<std::size_t>(i)] != best;
      result.labels[static_cast<std::size_t>(i)] = best;
      result.inertia += best_distance;
    }
    if (!changed) break;
    std::vector<double> sums(static_cast<std::size_t>(k * d), 0.0);
    std::vector<std::int64_t> counts(static_cast<std::size_t>(k), 0);
    for (std::int64_t i = 0; i < n; ++i) {
      const std::int64_t c = result.labels[static_cast<std::size_t>(i)];
      ++counts[static_cast<std::size_t>(c)];
      for (std::int64_t j = 0; j < d; ++j) sums[static_cast<std::size_t>(c * d + j)] += points.data()[i * d + j];
    }
    for (std::int64_t c = 0; c < k; ++c)  // an emptied cluster keeps its old centre
      if (counts[static_cast<std::size_t>(c)] > 0)
        for (std::int64_t j = 0; j < d; ++j)
          centroids.data()[c * d + j] = static_cast<float>(sums[static_cast<std::size_t>(c * d + j)] / static_cast<double>(counts[static_cast<std::size_t>(c)]));
  }
  result.centroids = centroids;
  result.bic = mixture_bic(points, result);
  return result;
}

}  // namespace

Clustering kmeans(const ad::Tensor& points, std::int64_t k, int restarts, std::uint64_t seed) {
  if (points.shape().size() != 2 || k < 1 || k > points.shape()[0]) {
    throw std::invalid_argument("kmeans: points " + ad::shape_string(points.shape()) + " must be [N, D] with 1 <= k (" +
                                std::to_string(k) + ") <= N");
  }
  std::mt19937_64 rng(seed);
  Clustering best;
  best.inertia = std::numeric_limits<double>::infinity();
  for (int restart = 0; restart < std::max(restarts, 1); ++restart) {
    Clustering candidate = lloyd(points, seed_centroids(points, k, rng));
    if (candidate.inertia < best.inertia) best = std::move(candidate);
  }
  return best;
}

Clustering kmeans_bic(const ad::Tensor& points, std::int64_t max_k, int restarts, std::uint64_t seed) {
  Clustering best = kmeans(points, 1, restarts, seed);
  for (std::int64_t k = 2; k <= std::min(max_k, points.shape()[0]); ++k) {
    Clustering candidate = kmeans(points, k, restarts, seed);
    if (candidate.bic < best.bic) best = std::move(candidate);
  }
  return best;
}

ad::Tensor feature_barcodes(const ad::Tensor& features) {
  const std::int64_t channels = features.shape()[0], neurons = features.shape()[1];
  ad::Tensor barcodes({neurons, channels});
  for (std::int64_t n = 0; n < neurons; ++n) {
    double norm = 0.0;
    for (std::int64_t c = 0; c < channels; ++c) norm += static_cast<double>(features.data()[c * neurons + n]) * features.data()[c * neurons + n];
    const double scale = norm > 0.0 ? 1.0 / std::sqrt(norm) : 0.0;
    for (std::int64_t c = 0; c < channels; ++c)
      barcodes.data()[n * channels + c] = static_cast<float>(features.data()[c * neurons + n] * scale);
  }
  return barcodes;
}

double adjusted_rand_index(const std::vector<std::int64_t>& a, const std::vector<std::int64_t>& b) {
  if (a.size() != b.size()) {
    throw std::invalid_argument("adjusted_rand_index: labelings of " + std::to_string(a.size()) + " and " +
                                std::to_string(b.size()) + " items");
  }
  const auto pairs = [](double count) { return count * (count - 1.0) / 2.0; };
  std::map<std::pair<std::int64_t, std::int64_t>, double> joint;
  std::map<std::int64_t, double> rows, columns;
  for (std::size_t i = 0; i < a.size(); ++i) {
    joint[{a[i], b[i]}] += 1.0;
    rows[a[i]] += 1.0;
    columns[b[i]] += 1.0;
  }
  double index = 0.0, row_pairs = 0.0, column_pairs = 0.0;
  for (const auto& [cell, count] : joint) index += pairs(count);
  for (const auto& [label, count] : rows) row_pairs += pairs(count);
  for (const auto& [label, count] : columns) column_pairs += pairs(count);
  const double expected = row_pairs * column_pairs / std::max(pairs(static_cast<double>(a.size())), 1.0);
  const double maximum = (row_pairs + column_pairs) / 2.0;
  // Both labelings put everything in one cluster (or every item alone): identical, by convention 1.
  return maximum == expected ? 1.0 : (index - expected) / (maximum - expected);
}

}  // namespace ww::nn
