// Losses.
#include "autodiff/check.hpp"
#include "autodiff/functions.hpp"
#include "ops/loss.hpp"

namespace ww::ad {

Var mse_loss(const Var& prediction, const Var& target) {
  detail::require_defined("mse_loss", "prediction", prediction);
  detail::require_shape("mse_loss", "target", target, prediction.shape());
  const std::size_t n = prediction.numel();
  const float loss = ops::mse_forward(prediction.value().data(), target.value().data(), n);
  return detail::record("mse_loss", Tensor::full({}, loss), {&prediction},
                        [prediction, target, n](const Tensor& dloss) {
                          ops::mse_backward(prediction.value().data(), target.value().data(), dloss.item(),
                                            detail::grad_buffer(prediction), n);
                        });
}

namespace {
Var norm(const char* op, ops::Norm kind, const Var& x) {
  detail::require_defined(op, "x", x);
  const std::size_t n = x.numel();
  return detail::record(op, Tensor::full({}, ops::norm_forward(kind, x.value().data(), n)), {&x},
                        [x, kind, n](const Tensor& dnorm) {
                          const detail::GradTarget dx = detail::grad_target(x);
                          ops::norm_backward(kind, x.value().data(), dnorm.item(), dx.data, dx.overwrite, n);
                        });
}
}  // namespace

Var l1_norm(const Var& x) { return norm("l1_norm", ops::Norm::l1, x); }
Var squared_norm(const Var& x) { return norm("squared_norm", ops::Norm::squared_l2, x); }

Var poisson_loss(const Var& rate, const Var& target, float eps) {
  detail::require_rank("poisson_loss", "rate", rate, 2);
  detail::require_shape("poisson_loss", "target", target, rate.shape());
  const auto batch = static_cast<std::size_t>(rate.shape()[0]);
  const auto neurons = static_cast<std::size_t>(rate.shape()[1]);
  const float loss = ops::poisson_forward(rate.value().data(), target.value().data(), batch, neurons, eps);
  return detail::record("poisson_loss", Tensor::full({}, loss), {&rate},
                        [rate, target, batch, neurons, eps](const Tensor& dloss) {
                          ops::poisson_backward(rate.value().data(), target.value().data(), dloss.item(),
                                                detail::grad_buffer(rate), batch, neurons, eps);
                        });
}

}  // namespace ww::ad
