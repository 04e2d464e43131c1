#pragma once
// Functional cell types from feature-weight "barcodes": k-means (k-means++ seeding, several
// restarts, the lowest within-cluster sum of squares kept), the number of clusters chosen by BIC
// when not given, and the adjusted Rand index to compare a clustering with ground-truth types.
#include <cstdint>
#include <vector>

#include "autodiff/tensor.hpp"

namespace ww::nn {

struct Clustering {
  std::vector<std::int64_t> labels;  // [N]: 0..k-1
  ad::Tensor centroids;              // [k, D]
  double inertia = 0.0;              // sum of squared distances to the assigned centroid
  double bic = 0.0;                  // of the spherical Gaussian mixture it describes (lower is better)
};

// k-means of the rows of points [N, D]. Throws std::invalid_argument unless 1 <= k <= N.
Clustering kmeans(const ad::Tensor& points, std::int64_t k, int restarts = 10, std::uint64_t seed = 1);

// k-means for every k in [1, max_k] (capped at N); the clustering with the lowest BIC.
Clustering kmeans_bic(const ad::Tensor& points, std::int64_t max_k, int restarts = 10, std::uint64_t seed = 1);

// Each neuron's feature weights [K, N] (as a readout stores them) as a unit-length row [N, K]:
// the barcode, independent of the neuron's gain.
ad::Tensor feature_barcodes(const ad::Tensor& features);

// Hubert & Arabie's adjusted Rand index of two labelings of the same items (1: identical up to
// renaming, ~0: chance). Throws std::invalid_argument on different lengths.
double adjusted_rand_index(const std::vector<std::int64_t>& a, const std::vector<std::int64_t>& b);

}  // namespace ww::nn
