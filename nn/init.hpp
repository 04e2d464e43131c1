#pragma once
// Data-driven initialisation: spike-triggered averages and receptive-field locations.
#include <cstdint>
#include <vector>

#include "autodiff/tensor.hpp"

namespace ww::nn {

// STA_n = sum_b y[b,n] x_b / B for images [B, C, H, W] (channels averaged) and responses [B, N]:
// returns [N, H, W].
ad::Tensor spike_triggered_average(const ad::Tensor& images, const ad::Tensor& responses);

// Each neuron's STA smoothed by a size x size Gaussian of SD `sd` pixels (zero padding), cropped
// to the central out_height x out_width window (the core's valid output), at its largest |value|:
// flat indices row * out_width + col.
std::vector<std::int64_t> sta_locations(const ad::Tensor& sta, std::int64_t out_height, std::int64_t out_width,
                                        double sd = 2.0, int size = 17);

}  // namespace ww::nn
