#pragma once
// 2D convolution (cross-correlation, as PyTorch), stride 1, NCHW, no bias.
// x: [batch, in_channels, height, width]; w: [out_channels, in_channels, kernel_h, kernel_w];
// y: [batch, out_channels, out_height, out_width]. `valid` uses no padding; `same` pads so the
// output keeps the input size, the extra row/column of an even kernel going bottom/right.
// Computed per image: directly, output channels along vectors, for several input and many output
// channels (the column matrix read where it lies in the image, the weight gradient too); directly
// on image rows for one input channel or few output channels; otherwise as the packed GEMM of
// ops/matmul.hpp on the column matrix (copied out by im2col, or read in the zero-padded image
// itself, in "wide rows"). ops/conv2d.cpp says which.
#include <cstddef>

namespace ww::ops {

enum class Padding { valid, same };

struct Conv2dShape {
  std::size_t batch, in_channels, height, width;
  std::size_t out_channels, kernel_h, kernel_w;
  std::size_t pad_top, pad_left;
  std::size_t out_height, out_width;
};

// Fills in padding and output size; throws std::invalid_argument (naming conv2d) when the kernel
// does not fit a `valid` convolution or a size is zero.
Conv2dShape conv2d_shape(std::size_t batch, std::size_t in_channels, std::size_t height,
                         std::size_t width, std::size_t out_channels, std::size_t kernel_h,
                         std::size_t kernel_w, Padding padding);

// y = conv(x, w). y must not alias x.
void conv2d_forward(const float* x, const float* w, float* y, const Conv2dShape& shape);
// dx += d/dx (dx = d/dx with overwrite_dx: dx's old values are never read), dw += d/dw; dx and dw
// may be null.
void conv2d_backward(const float* x, const float* w, const float* dy, float* dx, bool overwrite_dx, float* dw,
                     const Conv2dShape& shape);

}  // namespace ww::ops
