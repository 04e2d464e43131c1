// Sums, means and reshapes.
#include <algorithm>
#include <string>

#include "autodiff/check.hpp"
#include "autodiff/functions.hpp"
#include "ops/elementwise.hpp"
#include "ops/reduce.hpp"

namespace ww::ad {
namespace {

using detail::grad_buffer;
using detail::record;

// Sorted, distinct, non-negative axes; all axes when `axes` is empty.
std::vector<std::size_t> resolve_axes(const char* op, const Shape& shape, const std::vector<int>& axes) {
  const int rank = static_cast<int>(shape.size());
  std::vector<std::size_t> resolved;
  if (axes.empty()) {
    for (int axis = 0; axis < rank; ++axis) resolved.push_back(static_cast<std::size_t>(axis));
    return resolved;
  }
  for (int axis : axes) {
    const int r = axis < 0 ? axis + rank : axis;
    if (r < 0 || r >= rank) {
      throw std::invalid_argument(std::string(op) + ": argument 'axes' has axis " + std::to_string(axis) +
                                  ", out of range for shape " + shape_string(shape));
    }
    if (std::find(resolved.begin(), resolved.end(), static_cast<std::size_t>(r)) != resolved.end()) {
      throw std::invalid_argument(std::string(op) + ": argument 'axes' repeats axis " + std::to_string(axis));
    }
    resolved.push_back(static_cast<std::size_t>(r));
  }
  std::sort(resolved.begin(), resolved.end());
  return resolved;
}

// A shape seen around one axis: [outer, n, inner], and the shape without the axis.
struct AxisView {
  std::size_t outer, n, inner;
  Shape reduced;
};

AxisView view_around(const Shape& shape, std::size_t axis) {
  AxisView v{1, static_cast<std::size_t>(shape[axis]), 1, shape};
  for (std::size_t j = 0; j < axis; ++j) v.outer *= static_cast<std::size_t>(shape[j]);
  for (std::size_t j = axis + 1; j < shape.size(); ++j) v.inner *= static_cast<std::size_t>(shape[j]);
  v.reduced.erase(v.reduced.begin() + static_cast<std::ptrdiff_t>(axis));
  return v;
}

// Reduces one axis (dropping it), scaled: sum with scale 1, mean with 1/n.
Var reduce_axis(const char* op, const Var& x, std::size_t axis, float scale) {
  const auto [outer, n, inner, reduced] = view_around(x.shape(), axis);
  Tensor y(reduced);
  if (n == 0) {
    y.fill(0.f);
  } else {
    ops::sum_axis_forward(x.value().data(), y.data(), outer, n, inner, scale);
  }
  return record(op, y, {&x}, [x, outer = outer, n = n, inner = inner, scale](const Tensor& dy) {
    const detail::GradTarget dx = detail::grad_target(x);
    ops::sum_axis_backward(dy.data(), dx.data, dx.overwrite, outer, n, inner, scale);
  });
}

Var reduce(const char* op, const Var& x, const std::vector<int>& axes, bool keepdim, bool average) {
  detail::require_defined(op, "x", x);
  const std::vector<std::size_t> resolved = resolve_axes(op, x.shape(), axes);
  Var result = x;
  // Adjacent axes are contiguous in memory: each run of them is merged into one axis and reduced
  // at once. Runs go from the last down, so the axis numbers before them stay valid.
  std::size_t run_end = resolved.size();
  while (run_end > 0) {
    std::size_t run_begin = run_end - 1;
    while (run_begin > 0 && resolved[run_begin - 1] + 1 == resolved[run_begin]) --run_begin;
    const std::size_t first = resolved[run_begin], last = resolved[run_end - 1];
    Shape merged(result.shape().begin(), result.shape().begin() + static_cast<std::ptrdiff_t>(first));
    std::int64_t run_size = 1;
    for (std::size_t axis = first; axis <= last; ++axis) run_size *= result.shape()[axis];
    merged.push_back(run_size);
    merged.insert(merged.end(), result.shape().begin() + static_cast<std::ptrdiff_t>(last + 1), result.shape().end());
    if (first != last) result = reshape(result, merged);
    const float scale = average && run_size > 0 ? 1.f / static_cast<float>(run_size) : 1.f;
    result = reduce_axis(op, result, first, scale);
    run_end = run_begin;
  }
  if (keepdim) {
    Shape kept = x.shape();
    for (std::size_t axis : resolved) kept[axis] = 1;
    result = reshape(result, kept);
  }
  return result;
}

}  // namespace

Var sum(const Var& x, std::vector<int> axes, bool keepdim) { return reduce("sum", x, axes, keepdim, false); }
Var mean(const Var& x, std::vector<int> axes, bool keepdim) { return reduce("mean", x, axes, keepdim, true); }

Var weighted_sum(const Var& x, const Var& w, int axis) {
  detail::require_defined("weighted_sum", "x", x);
  detail::require_defined("weighted_sum", "w", w);
  const std::size_t a = resolve_axes("weighted_sum", x.shape(), {axis}).front();
  const Shape trailing(x.shape().begin() + static_cast<std::ptrdiff_t>(a), x.shape().end());
  if (w.shape() != trailing) detail::shape_error("weighted_sum", "w", "x's shape from axis " + std::to_string(axis) + " on, " + shape_string(trailing), w.shape());
  const auto [outer, n, inner, reduced] = view_around(x.shape(), a);
  Tensor y(reduced);
  if (n == 0) y.fill(0.f);
  ops::weighted_sum_forward(x.value().data(), w.value().data(), y.data(), outer, n, inner);
  return record("weighted_sum", y, {&x, &w}, [x, w, outer = outer, n = n, inner = inner](const Tensor& dy) {
    const detail::GradTarget dx = detail::grad_target(x);
    const detail::GradTarget dw = detail::grad_target(w);
    ops::weighted_sum_backward(x.value().data(), w.value().data(), dy.data(), dx.data, dx.overwrite, dw.data, dw.overwrite, outer, n,
                               inner);
  });
}

Var reshape(const Var& x, Shape shape) {
  detail::require_defined("reshape", "x", x);
  if (element_count(shape) != x.numel()) {
    detail::shape_error("reshape", "x", std::to_string(element_count(shape)) + " elements to view as " +
                                            shape_string(shape), x.shape());
  }
  return record("reshape", x.value().reshaped(shape), {&x}, [x](const Tensor& dy) { detail::add_to_grad(x, dy); });
}

}  // namespace ww::ad
