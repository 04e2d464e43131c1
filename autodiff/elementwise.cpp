// Elementwise operations: forward and backward side by side.
#include <string>

#include "autodiff/check.hpp"
#include "autodiff/functions.hpp"
#include "ops/elementwise.hpp"

namespace ww::ad {
namespace {

using detail::grad_buffer;
using detail::record;

// b against a by NumPy's rules with b's non-1 dimensions adjacent (see functions.hpp).
ops::Broadcast broadcast_of(const char* op, const Shape& a, const Shape& b) {
  auto fail = [&] {
    detail::shape_error(op, "b",
                        "a shape that broadcasts to " + shape_string(a) +
                            " (NumPy rules; the dimensions that are not 1 adjacent)",
                        b);
  };
  const std::size_t ra = a.size(), rb = b.size();
  // b's dimension aligned with a's dimension j (right-aligned), or 1 where b has none.
  auto b_at = [&](std::size_t j) -> std::int64_t {
    return j + rb >= ra ? b[j + rb - ra] : 1;
  };
  for (std::size_t i = 0; i + ra < rb; ++i)
    if (b[i] != 1) fail();
  std::size_t lo = ra, hi = 0;  // span of the dimensions where b is not 1
  for (std::size_t j = 0; j < ra; ++j) {
    if (b_at(j) == 1) continue;
    if (b_at(j) != a[j]) fail();
    if (lo == ra) lo = j;
    hi = j;
  }
  if (lo == ra) return {1, 1, element_count(a)};  // scalar
  for (std::size_t j = lo; j <= hi; ++j)
    if (b_at(j) != a[j]) fail();
  ops::Broadcast s{1, 1, 1};
  for (std::size_t j = 0; j < ra; ++j) {
    const auto d = static_cast<std::size_t>(a[j]);
    if (j < lo) s.outer *= d;
    else if (j <= hi) s.mid *= d;
    else s.inner *= d;
  }
  return s;
}

Var binary(ops::BinaryOp op, const char* name, const Var& a, const Var& b) {
  detail::require_defined(name, "a", a);
  detail::require_defined(name, "b", b);
  const ops::Broadcast shape = broadcast_of(name, a.shape(), b.shape());
  Tensor y(a.shape());
  ops::binary_forward(op, a.value().data(), b.value().data(), y.data(), shape);
  return record(name, y, {&a, &b}, [op, a, b, shape](const Tensor& dy) {
    // a's gradient is taken (and written) before b's, so mul(x, x) overwrites, then accumulates.
    const detail::GradTarget da = detail::grad_target(a);
    float* db = b.requires_grad() ? grad_buffer(b) : nullptr;
    ops::binary_backward(op, a.value().data(), b.value().data(), dy.data(), da.data, da.overwrite, db,
                         shape);
  });
}

Var unary(ops::UnaryOp op, const char* name, const Var& x, float alpha = 1.f) {
  detail::require_defined(name, "x", x);
  Tensor y(x.shape());
  ops::unary_forward(op, x.value().data(), y.data(), y.numel(), alpha);
  return record(name, y, {&x}, [op, x, y, alpha](const Tensor& dy) {
    const detail::GradTarget dx = detail::grad_target(x);
    ops::unary_backward(op, x.value().data(), y.data(), dy.data(), dx.data, dx.overwrite, y.numel(), alpha);
  });
}

Var scalar(float value) { return Var::constant(Tensor::full({}, value)); }

}  // namespace

Var add(const Var& a, const Var& b) { return binary(ops::BinaryOp::add, "add", a, b); }
Var sub(const Var& a, const Var& b) { return binary(ops::BinaryOp::sub, "sub", a, b); }
Var mul(const Var& a, const Var& b) { return binary(ops::BinaryOp::mul, "mul", a, b); }
Var div(const Var& a, const Var& b) { return binary(ops::BinaryOp::div, "div", a, b); }
Var add(const Var& a, float b) { return add(a, scalar(b)); }
Var mul(const Var& a, float b) { return mul(a, scalar(b)); }

Var neg(const Var& x) { return unary(ops::UnaryOp::neg, "neg", x); }
Var exp(const Var& x) { return unary(ops::UnaryOp::exp, "exp", x); }
Var log(const Var& x) { return unary(ops::UnaryOp::log, "log", x); }
Var abs(const Var& x) { return unary(ops::UnaryOp::abs, "abs", x); }
Var sqrt(const Var& x) { return unary(ops::UnaryOp::sqrt, "sqrt", x); }
Var square(const Var& x) { return unary(ops::UnaryOp::square, "square", x); }
Var relu(const Var& x) { return unary(ops::UnaryOp::relu, "relu", x); }
Var elu(const Var& x, float alpha) { return unary(ops::UnaryOp::elu, "elu", x, alpha); }
Var softplus(const Var& x) { return unary(ops::UnaryOp::softplus, "softplus", x); }
Var sigmoid(const Var& x) { return unary(ops::UnaryOp::sigmoid, "sigmoid", x); }
Var tanh(const Var& x) { return unary(ops::UnaryOp::tanh, "tanh", x); }

}  // namespace ww::ad
