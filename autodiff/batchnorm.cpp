// Batch normalisation.
#include "autodiff/check.hpp"
#include "autodiff/functions.hpp"
#include "ops/batchnorm.hpp"

namespace ww::ad {

BatchNormState BatchNormState::init(std::int64_t channels) {
  return {Tensor::zeros({channels}), Tensor::full({channels}, 1.f)};
}

Var batchnorm2d(const Var& x, const Var& gamma, const Var& beta, BatchNormState& state, bool training,
                ops::Activation activation) {
  const char* op = "batchnorm2d";
  detail::require_defined(op, "x", x);
  const Shape& sx = x.shape();
  if (sx.size() != 2 && sx.size() != 4) detail::shape_error(op, "x", "[N,C,H,W] or [N,C]", sx);
  const Shape channel_shape{sx[1]};
  if (gamma.defined()) detail::require_shape(op, "gamma", gamma, channel_shape);
  if (beta.defined()) detail::require_shape(op, "beta", beta, channel_shape);
  if (state.running_mean.shape() != channel_shape || state.running_var.shape() != channel_shape) {
    detail::shape_error(op, "state.running_mean/running_var", "shape " + shape_string(channel_shape),
                        state.running_mean.shape());
  }
  const ops::BatchNormShape s{static_cast<std::size_t>(sx[0]), static_cast<std::size_t>(sx[1]),
                              sx.size() == 4 ? static_cast<std::size_t>(sx[2] * sx[3]) : 1};
  if (training && s.batch * s.spatial < 2) {
    throw std::invalid_argument(std::string(op) + ": argument 'x' with shape " + shape_string(sx) +
                                " has one value per channel; batch statistics need at least two");
  }
  const float* g = gamma.defined() ? gamma.value().data() : nullptr;
  const float* b = beta.defined() ? beta.value().data() : nullptr;
  Tensor y(sx), mean(channel_shape), invstd(channel_shape);
  if (training) {
    ops::batchnorm_forward_train(x.value().data(), g, b, y.data(), mean.data(), invstd.data(),
                                 state.running_mean.data(), state.running_var.data(), s,
                                 state.momentum, state.eps, activation);
  } else {
    ops::batchnorm_forward_eval(x.value().data(), g, b, y.data(), state.running_mean.data(),
                                state.running_var.data(), mean.data(), invstd.data(), s, state.eps, activation);
  }
  Var undefined;
  // The output is kept for the activation's gradient (the next layer keeps it as its input anyway).
  const Tensor output = activation == ops::Activation::identity ? Tensor() : y;
  return detail::record(op, y, {&x, gamma.defined() ? &gamma : &undefined, beta.defined() ? &beta : &undefined},
                        [x, gamma, beta, mean, invstd, s, training, activation, output](const Tensor& dy) {
                          const detail::GradTarget dx = detail::grad_target_in(x, dy);
                          // The gradient before the activation, in x's gradient itself when that holds
                          // nothing yet: dy's own storage then (activation_backward and batchnorm_backward
                          // read each entry before overwriting it).
                          const float* dz = dy.data();
                          Tensor dz_storage;
                          if (activation != ops::Activation::identity) {
                            float* into = dx.overwrite ? dx.data : nullptr;
                            if (into == nullptr) {
                              dz_storage = Tensor(dy.shape());
                              into = dz_storage.data();
                            }
                            ops::activation_backward(activation, output.data(), dy.data(), into, s);
                            dz = into;
                          }
                          ops::batchnorm_backward(
                              x.value().data(), gamma.defined() ? gamma.value().data() : nullptr,
                              dz, mean.data(), invstd.data(), dx.data, dx.overwrite,
                              gamma.requires_grad() ? detail::grad_buffer(gamma) : nullptr,
                              beta.requires_grad() ? detail::grad_buffer(beta) : nullptr, s, training);
                        });
}

}  // namespace ww::ad
