#pragma once
// Bilinear sampling of feature maps at one position per neuron (the Gaussian readout's read).
// map: [batch, channels, height, width]. positions: [batch, neurons, 2] when positions_per_sample,
// else [neurons, 2] shared by the batch; each position is (x, y) in [-1, 1], x along the width,
// -1 and 1 being the centres of the border pixels (PyTorch's grid_sample with
// align_corners=True); pixels outside the map read as zero. out: [batch, neurons, channels].
#include <cstddef>

namespace ww::ops {

struct BilinearShape {
  std::size_t batch, channels, height, width, neurons;
  bool positions_per_sample;
};

void bilinear_sample_forward(const float* map, const float* positions, float* out,
                             const BilinearShape& shape);
// dmap += d/dmap, dpositions += d/dpositions; either may be null. The gradient with respect to a
// position is that of the bilinear interpolant (piecewise linear: undefined exactly on pixel centres).
void bilinear_sample_backward(const float* map, const float* positions, const float* dout,
                              float* dmap, float* dpositions, const BilinearShape& shape);

}  // namespace ww::ops
