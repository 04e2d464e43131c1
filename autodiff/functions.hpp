#pragma once
// Differentiable operations. Each validates its arguments (std::invalid_argument naming the
// operation, the argument, the expected and the actual shape), computes its forward pass with
// ops/ and records a backward function beside it (see var.hpp). Tensors are float32, row-major,
// NCHW for images.
#include <vector>

#include "autodiff/var.hpp"
#include "ops/batchnorm.hpp"
#include "ops/conv2d.hpp"

namespace ww::ad {

// Binary operations: b broadcasts to a's shape by NumPy's rules, provided the dimensions where b
// is not 1 are adjacent: same shape, a scalar, per channel ([C,1,1] against [N,C,H,W]) or
// trailing ([N,K] against [B,N,K]). The result has a's shape.
Var add(const Var& a, const Var& b);
Var sub(const Var& a, const Var& b);
Var mul(const Var& a, const Var& b);
Var div(const Var& a, const Var& b);
Var add(const Var& a, float b);
Var mul(const Var& a, float b);

Var neg(const Var& x);
Var exp(const Var& x);
Var log(const Var& x);
Var abs(const Var& x);    // gradient 0 at 0
Var sqrt(const Var& x);
Var square(const Var& x);
Var relu(const Var& x);   // gradient 0 at 0
Var elu(const Var& x, float alpha = 1.f);
Var softplus(const Var& x);  // log(1 + e^x), stable for large |x|
Var sigmoid(const Var& x);
Var tanh(const Var& x);

// Sum or mean over `axes` (negative counts from the end; empty means all axes). The reduced axes
// are dropped, or kept with size 1 when keepdim.
Var sum(const Var& x, std::vector<int> axes = {}, bool keepdim = false);
Var mean(const Var& x, std::vector<int> axes = {}, bool keepdim = false);
// Sum over `axis` of x * w, w having x's shape from that axis on (the factorized readout's feature
// weighting), in one pass without the product in memory; the axis is dropped.
Var weighted_sum(const Var& x, const Var& w, int axis);
// Same data, another shape of the same element count.
Var reshape(const Var& x, Shape shape);

// [m,k] x [k,n] -> [m,n], or batched [B,m,k] x [B,k,n] -> [B,m,n]; a transpose flag means the
// stored operand is the transpose of the one multiplied.
Var matmul(const Var& a, const Var& b, bool transpose_a = false, bool transpose_b = false);

// x [N,Cin,H,W], weight [Cout,Cin,kh,kw] -> [N,Cout,H',W'], stride 1, no bias.
Var conv2d(const Var& x, const Var& weight, ops::Padding padding = ops::Padding::valid);

// Running statistics of one batch-normalisation layer (buffers, not parameters).
struct BatchNormState {
  Tensor running_mean;  // [C], starts at 0
  Tensor running_var;   // [C], starts at 1
  float momentum = 0.1f;  // PyTorch's convention
  float eps = 1e-5f;
  static BatchNormState init(std::int64_t channels);
};
// x [N,C,H,W] or [N,C]; gamma and beta [C], each optional (an undefined Var switches scale or
// centre off). training: batch statistics, running statistics updated; else running statistics.
// activation: relu or softplus of the result in the same op, which then keeps only its output
// (as relu(batchnorm2d(...)) but without storing the normalised values).
Var batchnorm2d(const Var& x, const Var& gamma, const Var& beta, BatchNormState& state, bool training,
                ops::Activation activation = ops::Activation::identity);

// map [B,C,H,W] read at positions [N,2] (shared) or [B,N,2] (per sample), each (x, y) in [-1,1],
// by bilinear interpolation (align_corners=True, zeros outside) -> [B,N,C].
Var bilinear_sample(const Var& map, const Var& positions);

// sum |x| (gradient sign(x), 0 at 0) and sum x^2 over every element, as one op each: the same
// values as sum(abs(x)) and sum(square(x)) without |x| or x^2, or their gradient, in memory.
Var l1_norm(const Var& x);
Var squared_norm(const Var& x);

// Mean squared error over all elements; target is treated as a constant.
Var mse_loss(const Var& prediction, const Var& target);
// Poisson negative log-likelihood (no constant terms), rate and target [B,N]:
// (1/B) sum rate - target log(rate + eps). Target is treated as a constant.
Var poisson_loss(const Var& rate, const Var& target, float eps = 1e-5f);

}  // namespace ww::ad
