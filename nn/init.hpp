#pragma once
// Data-driven initialisation: spike-triggered averages, receptive-field locations, and the
// least-squares search that re-seats point readouts stuck a pixel or two from their neuron.
#include <array>
#include <cstdint>
#include <vector>

#include "autodiff/tensor.hpp"

namespace ww::nn {

// STA_n = sum_b y[b,n] x_b / B for images [B, C, H, W] (channels averaged) and responses [B, N]:
// returns [N, H, W].
ad::Tensor spike_triggered_average(const ad::Tensor& images, const ad::Tensor& responses);

// The response-weighted contrast energy: sum_b (y[b,n] - mean_n) e_b / B for the squared band-pass
// images e_b (each pixel less its Gaussian surround of SD 2 px, squared, less the image's mean),
// channels averaged: [N, H, W]. A complex cell answers contrast of either sign, so its STA is flat,
// but this map peaks over its receptive field.
ad::Tensor contrast_energy_map(const ad::Tensor& images, const ad::Tensor& responses);

// Where each neuron's maps [N, H, W] (its STA, its contrast energy map) stand out most together:
// each map smoothed by a size x size Gaussian of SD `sd` pixels (zero padding) and cropped to the
// central out_height x out_width window (the core's valid output), each place's |value| over the
// median |value| of the window (so maps in different units weigh alike; a map whose median is 0
// counts over its largest |value|), summed over the maps. Returns, of the maps' own peaks (largest
// |value|), the one where that sum is largest, as row * out_width + col; with one map, its peak.
// A simple cell's STA and energy map stand out at its place together; a complex cell's energy
// map alone.
std::vector<std::int64_t> map_peaks(const std::vector<ad::Tensor>& maps, std::int64_t out_height, std::int64_t out_width,
                                    double sd = 2.0, int size = 17);

// One shared kernel and every neuron's place in it, estimated together from the STAs [N, H, W] of
// a population of one linear cell type: starting at the smoothed STA peaks, alternately the
// kernel becomes the average of the STAs cut out at the neurons' places (each signed by its
// match), and each neuron moves to where its STA matches the kernel best (largest |correlation|
// over the valid (H-k+1) x (W-k+1) positions); a kernel whose energy sits off centre moves every
// place by that offset. Each round uses all neurons for the kernel, so it stays clean where a
// single neuron's STA is too noisy to place it.
struct AlignedKernel {
  ad::Tensor kernel;                    // [k, k]
  std::vector<std::int64_t> locations;  // flat row * (W-k+1) + col
  std::vector<float> match;             // each neuron's correlation of its STA with the kernel there
};
AlignedKernel align_kernel(const ad::Tensor& sta, std::int64_t kernel_size, int rounds = 20);
// One placing step with a.kernel kept: each neuron of `sta` where its STA matches the kernel best.
void place_by_kernel(const ad::Tensor& sta, AlignedKernel& a);

// K kernels, and each neuron's type and place, from the STAs [N, H, W] of a population of K linear
// cell types: align_kernel over all neurons gives first places; the STAs cut out there (signed by
// their match, scaled to unit length, so a neuron's gain does not decide its type) are clustered
// by k-means into K types; then align_kernel on each type's neurons alone gives that type's kernel
// and its neurons' places and matches (the first places came from a kernel mixing the types).
// K = 1 is align_kernel.
struct TypedKernels {
  ad::Tensor kernels;                   // [K, k, k]
  std::vector<std::int64_t> locations;  // flat row * (W-k+1) + col
  std::vector<std::int64_t> type;       // each neuron's kernel, 0..K-1
  std::vector<float> match;             // its STA's correlation with that kernel there
};
TypedKernels align_typed_kernels(const ad::Tensor& sta, std::int64_t kernel_size, std::int64_t types, std::uint64_t seed = 1);
// With t.kernels kept: each neuron's kernel and place where its STA matches best (largest |match|,
// so the kernels must be on a common scale: the model scales each to unit response variance).
void place_by_typed_kernels(const ad::Tensor& sta, TypedKernels& t);

// For core output [B, K, H, W] and responses [B, N]: each neuron's responses fitted by least
// squares on the features of every 2x2 window of pixels (what a sub-pixel point reads) plus a
// constant; per neuron the best window's residual, a position inside it and the fitted weights.
struct LocationSearch {
  std::vector<std::array<double, 2>> position;  // (row, col) in pixels of the core output
  std::vector<double> residual;                 // residual sum of squares of the best fit
  std::vector<double> total;                    // each neuron's sum of squared responses
  std::vector<float> features;                  // [N, K]: the fitted feature weights there
  std::vector<float> constant;                  // [N]: the fitted constant
  std::vector<std::array<std::int64_t, 4>> corners;  // the window's pixels (flat row * W + col), row-major
  std::vector<std::array<double, 4>> corner_weights; // each pixel's share of the position (sum 1)
};
LocationSearch best_fitting_locations(const ad::Tensor& core_output, const ad::Tensor& responses);

// The neurons whose best window cuts the residual clearly (below 0.9 of `current`, the residual
// where they read now, and by more than rounding: 1e-6 of the total): a neuron in place stays put.
std::vector<std::int64_t> neurons_to_move(const LocationSearch& search, const std::vector<double>& current);

// The same fit for each neuron on its own features [B, N, K] (e.g. read at its current position):
// residual sums of squares, one per neuron.
std::vector<double> own_feature_residuals(const ad::Tensor& features, const ad::Tensor& responses);

}  // namespace ww::nn
