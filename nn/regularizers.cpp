#include "nn/regularizers.hpp"

namespace ww::nn {

ad::Var laplace_smoothness(const ad::Var& kernels, bool normalized) {
  const ad::Shape& s = kernels.shape();
  const float scale = normalized ? 0.5f : 1.f;
  const ad::Var laplacian = ad::Var::constant(ad::Tensor::from_values(
      {1, 1, 3, 3}, {0.5f * scale, 1.f * scale, 0.5f * scale, 1.f * scale, -6.f * scale, 1.f * scale,
                     0.5f * scale, 1.f * scale, 0.5f * scale}));
  // Every (out, in) kernel as one single-channel image.
  const ad::Var images = ad::reshape(kernels, {s[0] * s[1], 1, s[2], s[3]});
  const ad::Var per_kernel = ad::sum(ad::square(ad::conv2d(images, laplacian, ops::Padding::same)), {1, 2, 3});
  if (!normalized) return ad::sum(per_kernel);
  return ad::sum(ad::div(per_kernel, ad::sum(ad::square(images), {1, 2, 3})));
}

ad::Var group_sparsity(const ad::Var& kernels) {
  return ad::sum(ad::sqrt(ad::add(ad::sum(ad::square(kernels), {2, 3}), 1e-12f)));
}

void add_penalty(ad::Var& total, float strength, const ad::Var& term) {
  if (strength == 0.f) return;
  const ad::Var scaled = ad::mul(term, strength);
  total = total.defined() ? ad::add(total, scaled) : scaled;
}

}  // namespace ww::nn
