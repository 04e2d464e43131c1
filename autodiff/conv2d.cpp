// 2D convolution.
#include "autodiff/check.hpp"
#include "autodiff/functions.hpp"

namespace ww::ad {

Var conv2d(const Var& x, const Var& weight, ops::Padding padding) {
  detail::require_rank("conv2d", "x", x, 4);
  detail::require_rank("conv2d", "weight", weight, 4);
  const Shape& sx = x.shape();
  const Shape& sw = weight.shape();
  if (sw[1] != sx[1]) {
    detail::shape_error("conv2d", "weight",
                        "[out_channels," + std::to_string(sx[1]) + ",kh,kw] (in_channels of x " +
                            shape_string(sx) + ")",
                        sw);
  }
  const auto dim = [](std::int64_t d) { return static_cast<std::size_t>(d); };
  const ops::Conv2dShape s = ops::conv2d_shape(dim(sx[0]), dim(sx[1]), dim(sx[2]), dim(sx[3]),
                                               dim(sw[0]), dim(sw[2]), dim(sw[3]), padding);
  Tensor y({sx[0], sw[0], static_cast<std::int64_t>(s.out_height), static_cast<std::int64_t>(s.out_width)});
  ops::conv2d_forward(x.value().data(), weight.value().data(), y.data(), s);
  return detail::record("conv2d", y, {&x, &weight}, [x, weight, s](const Tensor& dy) {
    const detail::GradTarget dx = detail::grad_target(x);
    ops::conv2d_backward(x.value().data(), weight.value().data(), dy.data(), dx.data, dx.overwrite,
                         weight.requires_grad() ? detail::grad_buffer(weight) : nullptr, s);
  });
}

}  // namespace ww::ad
