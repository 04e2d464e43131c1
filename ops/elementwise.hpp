#pragma once
// Elementwise kernels. Layout: contiguous float arrays. Outputs may alias inputs in the forward
// functions (y == x, y == a); backward functions accumulate (dx += ...), or overwrite a gradient
// that holds nothing yet when told to, and must not alias.
#include <cstddef>

#include "ops/simd/kernel_table.hpp"

namespace ww::ops {

using simd::BinaryOp;
using simd::UnaryOp;

// y = f(x); alpha is ELU's alpha. Stable for large |x| (softplus, sigmoid, elu).
void unary_forward(UnaryOp op, const float* x, float* y, std::size_t n, float alpha = 1.f);
// dx += dy * f'(x) (dx = ... when overwrite_dx); y = f(x) from the forward pass.
void unary_backward(UnaryOp op, const float* x, const float* y, const float* dy, float* dx,
                    bool overwrite_dx, std::size_t n, float alpha = 1.f);

// The operand a viewed as [outer, mid, inner]; b holds `mid` values, one per (o, m) row:
// full shape (1, n, 1), scalar (1, 1, n), per-channel of NCHW (N, C, H*W), trailing (B, n, 1).
struct Broadcast {
  std::size_t outer, mid, inner;
  std::size_t size() const { return outer * mid * inner; }
};

// y[o,m,i] = a[o,m,i] (op) b[m].
void binary_forward(BinaryOp op, const float* a, const float* b, float* y, Broadcast shape);
// da += dy * d/da (da = ... when overwrite_da), db += sum over broadcast rows of dy * d/db; da or
// db may be null.
void binary_backward(BinaryOp op, const float* a, const float* b, const float* dy, float* da,
                     bool overwrite_da, float* db, Broadcast shape);

// y += alpha * x.
void axpy(std::size_t n, float alpha, const float* x, float* y);

}  // namespace ww::ops
