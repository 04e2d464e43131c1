#pragma once
// Batch normalisation over channel 1 of x viewed as [batch, channels, spatial] (NCHW with
// spatial = H*W; [batch, channels] with spatial = 1). gamma (scale) and beta (centre) may be null:
// scale 1 and shift 0, as with BN's scale or centre switched off.
#include <cstddef>

namespace ww::ops {

struct BatchNormShape {
  std::size_t batch, channels, spatial;
};

// A nonlinearity applied to the normalised values in the same pass (y = f(gamma x_hat + beta)),
// so the normalised values are never stored; its gradient is taken from y alone.
enum class Activation { identity, relu, softplus };

// Training: normalises with the batch mean and biased variance; writes the mean and 1/sqrt(var+eps)
// per channel (for backward); when running_mean/running_var are not null, moves them towards the
// batch mean and unbiased variance by `momentum` (PyTorch's convention). y may alias x.
void batchnorm_forward_train(const float* x, const float* gamma, const float* beta, float* y,
                             float* saved_mean, float* saved_invstd, float* running_mean,
                             float* running_var, const BatchNormShape& shape, float momentum,
                             float eps, Activation activation = Activation::identity);
// Evaluation: normalises with running statistics; writes them as saved_mean/saved_invstd.
void batchnorm_forward_eval(const float* x, const float* gamma, const float* beta, float* y,
                            const float* running_mean, const float* running_var,
                            float* saved_mean, float* saved_invstd, const BatchNormShape& shape,
                            float eps, Activation activation = Activation::identity);
// dz = dy * f'(z) from the activation's output y = f(z), over the whole [batch, channels, spatial]
// block (not identity); dz may alias dy. What batchnorm_backward then takes as its dy.
void activation_backward(Activation activation, const float* y, const float* dy, float* dz, const BatchNormShape& shape);
// Accumulates dx (overwrites it when overwrite_dx: dx holds nothing yet), dgamma, dbeta (each may
// be null). batch_statistics selects the training-mode
// gradient (statistics depend on x) or the evaluation-mode one (constant statistics).
void batchnorm_backward(const float* x, const float* gamma, const float* dy, const float* mean,
                        const float* invstd, float* dx, bool overwrite_dx, float* dgamma,
                        float* dbeta,
                        const BatchNormShape& shape, bool batch_statistics);

}  // namespace ww::ops
