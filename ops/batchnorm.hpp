#pragma once
// Batch normalisation over channel 1 of x viewed as [batch, channels, spatial] (NCHW with
// spatial = H*W; [batch, channels] with spatial = 1). gamma (scale) and beta (centre) may be null:
// scale 1 and shift 0, as with BN's scale or centre switched off.
#include <cstddef>

namespace ww::ops {

struct BatchNormShape {
  std::size_t batch, channels, spatial;
};

// Training: normalises with the batch mean and biased variance; writes the mean and 1/sqrt(var+eps)
// per channel (for backward); when running_mean/running_var are not null, moves them towards the
// batch mean and unbiased variance by `momentum` (PyTorch's convention). y may alias x.
void batchnorm_forward_train(const float* x, const float* gamma, const float* beta, float* y,
                             float* saved_mean, float* saved_invstd, float* running_mean,
                             float* running_var, const BatchNormShape& shape, float momentum,
                             float eps);
// Evaluation: normalises with running statistics; writes them as saved_mean/saved_invstd.
void batchnorm_forward_eval(const float* x, const float* gamma, const float* beta, float* y,
                            const float* running_mean, const float* running_var,
                            float* saved_mean, float* saved_invstd, const BatchNormShape& shape,
                            float eps);
// Accumulates dx (overwrites it when overwrite_dx: dx holds nothing yet), dgamma, dbeta (each may
// be null). batch_statistics selects the training-mode
// gradient (statistics depend on x) or the evaluation-mode one (constant statistics).
void batchnorm_backward(const float* x, const float* gamma, const float* dy, const float* mean,
                        const float* invstd, float* dx, bool overwrite_dx, float* dgamma,
                        float* dbeta,
                        const BatchNormShape& shape, bool batch_statistics);

}  // namespace ww::ops
