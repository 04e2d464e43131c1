#pragma once
// Penalties on parameters; each returns a scalar Var.
#include "autodiff/functions.hpp"

namespace ww::nn {

// Laplacian smoothness of kernels [out, in, kh, kw]: sum over kernels of sum((W * L)^2), L the
// 3x3 Laplacian [[0.5,1,0.5],[1,-6,1],[0.5,1,0.5]] applied with 'same' padding. normalized: the
// original V1 code's form, L/2 and each kernel's term divided by its squared norm.
ad::Var laplace_smoothness(const ad::Var& kernels, bool normalized);
// Group sparsity: sum over (out, in) pairs of sqrt(sum_{h,w} W^2) (+1e-12 inside the root, so the
// gradient stays finite at zero).
ad::Var group_sparsity(const ad::Var& kernels);

// total += strength * term (total may start undefined); nothing when strength is 0. Callers test
// the strength before building `term`, so a switched-off penalty adds nothing to the graph.
void add_penalty(ad::Var& total, float strength, const ad::Var& term);

}  // namespace ww::nn
