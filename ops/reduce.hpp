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

}  // namespace ww::ops
