#include "ops/batchnorm.hpp"

#include <cmath>

#include "ops/parallel.hpp"
#include "ops/simd/kernel_table.hpp"

namespace ww::ops {
namespace {

// Calls body(c, channel_offset) for each channel in parallel; a channel's rows are
// [batch] x [spatial] with stride channels*spatial.
template <class Body>
void each_channel(const BatchNormShape& s, Body&& body) {
  parallel_for(s.channels, 1, [&](std::size_t, std::size_t begin, std::size_t end) {
    for (std::size_t c = begin; c < end; ++c) body(c, c * s.spatial);
  });
}

simd::UnaryOp unary_op(Activation activation) {
  return activation == Activation::relu ? simd::UnaryOp::relu : simd::UnaryOp::softplus;
}

void normalise(const float* x, const float* gamma, const float* beta, float* y,
               const float* mean, const float* invstd, const BatchNormShape& s, Activation activation) {
  const auto& k = simd::kernels();
  const std::size_t stride = s.channels * s.spatial;
  each_channel(s, [&](std::size_t c, std::size_t offset) {
    const float scale = (gamma != nullptr ? gamma[c] : 1.f) * invstd[c];
    const float shift = (beta != nullptr ? beta[c] : 0.f) - mean[c] * scale;
    if (activation == Activation::identity) return k.strided_affine(x + offset, y + offset, s.batch, s.spatial, stride, scale, shift);
    // Row by row, so the activation finds its row in L1.
    for (std::size_t b = 0; b < s.batch; ++b) {
      float* row = y + offset + b * stride;
      k.strided_affine(x + offset + b * stride, row, 1, s.spatial, stride, scale, shift);
      k.unary_forward(unary_op(activation), row, row, s.spatial, 0.f);
    }
  });
}

}  // namespace

void batchnorm_forward_train(const float* x, const float* gamma, const float* beta, float* y,
                             float* saved_mean, float* saved_invstd, float* running_mean,
                             float* running_var, const BatchNormShape& s, float momentum,
                             float eps, Activation activation) {
  const auto& k = simd::kernels();
  const std::size_t stride = s.channels * s.spatial;
  const double count = static_cast<double>(s.batch * s.spatial);
  each_channel(s, [&](std::size_t c, std::size_t offset) {
    // Two passes (mean, then squared deviations) for accuracy.
    const double mean = k.strided_sum(x + offset, s.batch, s.spatial, stride) / count;
    const double var = k.strided_sum_sqdev(x + offset, s.batch, s.spatial, stride,
                                           static_cast<float>(mean)) / count;
    saved_mean[c] = static_cast<float>(mean);
    saved_invstd[c] = static_cast<float>(1.0 / std::sqrt(var + eps));
    if (running_mean != nullptr && running_var != nullptr) {
      const double unbiased = count > 1 ? var * count / (count - 1) : var;
      running_mean[c] = static_cast<float>((1.0 - momentum) * running_mean[c] + momentum * mean);
      running_var[c] = static_cast<float>((1.0 - momentum) * running_var[c] + momentum * unbiased);
    }
  });
  normalise(x, gamma, beta, y, saved_mean, saved_invstd, s, activation);
}

void batchnorm_forward_eval(const float* x, const float* gamma, const float* beta, float* y,
                            const float* running_mean, const float* running_var,
                            float* saved_mean, float* saved_invstd, const BatchNormShape& s,
                            float eps, Activation activation) {
  for (std::size_t c = 0; c < s.channels; ++c) {
    saved_mean[c] = running_mean[c];
    saved_invstd[c] = static_cast<float>(1.0 / std::sqrt(static_cast<double>(running_var[c]) + eps));
  }
  normalise(x, gamma, beta, y, saved_mean, saved_invstd, s, activation);
}

void activation_backward(Activation activation, const float* y, const float* dy, float* dz, const BatchNormShape& s) {
  const auto& k = simd::kernels();
  const std::size_t n = s.batch * s.channels * s.spatial;
  parallel_for(n, elementwise_grain, [&](std::size_t, std::size_t begin, std::size_t end) {
    k.activation_backward_from_output(unary_op(activation), y + begin, dy + begin, dz + begin, end - begin);
  });
}

void batchnorm_backward(const float* x, const float* gamma, const float* dy, const float* mean,
                        const float* invstd, float* dx, bool overwrite_dx, float* dgamma,
                        float* dbeta,
                        const BatchNormShape& s, bool batch_statistics) {
  const auto& k = simd::kernels();
  const std::size_t stride = s.channels * s.spatial;
  const double count = static_cast<double>(s.batch * s.spatial);
  each_channel(s, [&](std::size_t c, std::size_t offset) {
    double sum_dy = 0.0, sum_dy_x = 0.0;
    k.strided_sum_and_dot(dy + offset, x + offset, s.batch, s.spatial, stride, &sum_dy, &sum_dy_x);
    const double istd = invstd[c];
    // sum of dy * xhat, with xhat = (x - mean) * invstd.
    const double sum_dy_xhat = istd * (sum_dy_x - mean[c] * sum_dy);
    if (dgamma != nullptr) dgamma[c] += static_cast<float>(sum_dy_xhat);
    if (dbeta != nullptr) dbeta[c] += static_cast<float>(sum_dy);
    if (dx == nullptr) return;
    const double g = gamma != nullptr ? gamma[c] : 1.0;
    // dx = k1 dy + k2 x + k3; in training the batch statistics add the two mean terms.
    const double k1 = g * istd;
    double k2 = 0.0, k3 = 0.0;
    if (batch_statistics) {
      k2 = -g * istd * istd * sum_dy_xhat / count;
      k3 = -g * istd * sum_dy / count - k2 * mean[c];
    }
    k.strided_affine_backward(dy + offset, x + offset, dx + offset, s.batch, s.spatial, stride,
                              static_cast<float>(k1), static_cast<float>(k2), static_cast<float>(k3),
                              overwrite_dx);
  });
}

}  // namespace ww::ops
