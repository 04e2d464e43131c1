// Matrix products.
#include "autodiff/check.hpp"
#include "autodiff/functions.hpp"
#include "ops/matmul.hpp"

namespace ww::ad {

Var matmul(const Var& a, const Var& b, bool transpose_a, bool transpose_b) {
  detail::require_defined("matmul", "a", a);
  detail::require_defined("matmul", "b", b);
  const Shape& sa = a.shape();
  const Shape& sb = b.shape();
  if (sa.size() != 2 && sa.size() != 3) detail::shape_error("matmul", "a", "2 or 3 dimensions", sa);
  const bool batched = sa.size() == 3;
  if (sb.size() != sa.size()) {
    detail::shape_error("matmul", "b", std::to_string(sa.size()) + " dimensions like a " + shape_string(sa), sb);
  }
  const std::size_t off = batched ? 1 : 0;
  ops::MatmulShape s{};
  s.batch = batched ? static_cast<std::size_t>(sa[0]) : 1;
  s.transpose_a = transpose_a;
  s.transpose_b = transpose_b;
  s.m = static_cast<std::size_t>(sa[off + (transpose_a ? 1 : 0)]);
  s.k = static_cast<std::size_t>(sa[off + (transpose_a ? 0 : 1)]);
  const auto b_rows = static_cast<std::size_t>(sb[off + (transpose_b ? 1 : 0)]);
  s.n = static_cast<std::size_t>(sb[off + (transpose_b ? 0 : 1)]);
  if (batched && sb[0] != sa[0]) {
    detail::shape_error("matmul", "b", "batch " + std::to_string(sa[0]) + " like a " + shape_string(sa), sb);
  }
  if (b_rows != s.k) {
    detail::shape_error("matmul", "b",
                        std::string(transpose_b ? "columns" : "rows") + " = " + std::to_string(s.k) +
                            " (the inner dimension of a " + shape_string(sa) + ")",
                        sb);
  }
  Shape out = batched ? Shape{sa[0], static_cast<std::int64_t>(s.m), static_cast<std::int64_t>(s.n)}
                      : Shape{static_cast<std::int64_t>(s.m), static_cast<std::int64_t>(s.n)};
  Tensor c(out);
  ops::matmul_forward(a.value().data(), b.value().data(), c.data(), s);
  return detail::record("matmul", c, {&a, &b}, [a, b, s](const Tensor& dc) {
    const detail::GradTarget da = detail::grad_target(a);
    const detail::GradTarget db = detail::grad_target(b);
    ops::matmul_backward(a.value().data(), b.value().data(), dc.data(), da.data, da.overwrite, db.data, db.overwrite, s);
  });
}

}  // namespace ww::ad
