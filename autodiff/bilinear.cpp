// Bilinear sampling at per-neuron positions.
#include "autodiff/check.hpp"
#include "autodiff/functions.hpp"
#include "ops/bilinear.hpp"

namespace ww::ad {

Var bilinear_sample(const Var& map, const Var& positions) {
  const char* op = "bilinear_sample";
  detail::require_rank(op, "map", map, 4);
  detail::require_defined(op, "positions", positions);
  const Shape& sm = map.shape();
  const Shape& sp = positions.shape();
  const bool per_sample = sp.size() == 3;
  if (!((sp.size() == 2 && sp[1] == 2) || (per_sample && sp[0] == sm[0] && sp[2] == 2))) {
    detail::shape_error(op, "positions", "[neurons,2] or [" + std::to_string(sm[0]) + ",neurons,2]", sp);
  }
  const std::int64_t neurons = per_sample ? sp[1] : sp[0];
  const ops::BilinearShape s{static_cast<std::size_t>(sm[0]), static_cast<std::size_t>(sm[1]),
                             static_cast<std::size_t>(sm[2]), static_cast<std::size_t>(sm[3]),
                             static_cast<std::size_t>(neurons), per_sample};
  Tensor out({sm[0], neurons, sm[1]});
  ops::bilinear_sample_forward(map.value().data(), positions.value().data(), out.data(), s);
  return detail::record(op, out, {&map, &positions}, [map, positions, s](const Tensor& dout) {
    ops::bilinear_sample_backward(map.value().data(), positions.value().data(), dout.data(),
                                  map.requires_grad() ? detail::grad_buffer(map) : nullptr,
                                  positions.requires_grad() ? detail::grad_buffer(positions) : nullptr, s);
  });
}

}  // namespace ww::ad
