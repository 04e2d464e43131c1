#pragma once
// Sum over one axis. x is viewed as [outer, n, inner] (contiguous), y as [outer, inner].
// Mean is the same kernel with scale = 1/n. Several axes are reduced one after another.
#include <cstddef>

namespace ww::ops {

// y[o,i] = scale * sum_m x[o,m,i]. y must not alias x.
void sum_axis_forward(const float* x, float* y, std::size_t outer, std::size_t n, std::size_t inner,
                      float scale);
// dx[o,m,i] += scale * dy[o,i] (= when overwrite_dx: dx holds nothing yet).
void sum_axis_backward(const float* dy, float* dx, bool overwrite_dx, std::size_t outer,
                       std::size_t n, std::size_t inner, float scale);

// The sum over m of x * w with w [n, inner] broadcast over outer (the factorized readout's feature
// weighting), without the product in memory: y[o,i] = sum_m x[o,m,i] w[m,i].
void weighted_sum_forward(const float* x, const float* w, float* y, std::size_t outer, std::size_t n, std::size_t inner);
// dx[o,m,i] += dy[o,i] w[m,i] and dw[m,i] += sum_o dy[o,i] x[o,m,i] (= when overwrite); either may
// be null.
void weighted_sum_backward(const float* x, const float* w, const float* dy, float* dx, bool overwrite_dx, float* dw,
                           bool overwrite_dw, std::size_t outer, std::size_t n, std::size_t inner);

}  // namespace ww::ops
