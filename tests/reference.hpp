#pragma once
// Plain double-precision reference implementations of every op, written independently of ops/
// (direct loops, general index arithmetic). Tensors are flat row-major vectors with a shape.
#include <vector>

#include "autodiff/tensor.hpp"

namespace ww::testing::ref {

using Values = std::vector<double>;
using ad::Shape;

Values unary(const char* op, const Values& x, double alpha = 1.0);
// NumPy broadcasting of b (shape sb) against a (shape sa); result has a's shape.
Values binary(const char* op, const Values& a, const Shape& sa, const Values& b, const Shape& sb);
// Sum over the given axes (all when empty), times `scale`.
Values sum(const Values& x, const Shape& shape, const std::vector<int>& axes, bool average);
Values matmul(const Values& a, const Shape& sa, const Values& b, const Shape& sb, bool ta, bool tb);
Values conv2d(const Values& x, const Shape& sx, const Values& w, const Shape& sw, bool same);
// gamma/beta empty = off. Training uses batch statistics; evaluation the given running ones.
Values batchnorm(const Values& x, const Shape& sx, const Values& gamma, const Values& beta,
                 bool training, const Values& running_mean, const Values& running_var, double eps);
Values bilinear(const Values& map, const Shape& sm, const Values& pos, const Shape& sp);
double mse(const Values& p, const Values& t);
double poisson(const Values& r, const Values& y, std::size_t batch, double eps);

}  // namespace ww::testing::ref
