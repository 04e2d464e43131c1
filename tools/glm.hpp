#pragma once
// Generalised linear models of a whole population sharing one design (e.g. flattened images):
// each neuron n predicts f(x . w_n + b_n) + c_n. Two output stages:
// - relu: the paper's Fig. 5 baseline, a ridge-regularised GLM with a ReLU and an offset c after it,
//   fitted by mean squared error;
// - exp: the LNP model (c = 0), fitted by the Poisson negative log-likelihood.
// Fitted by Adam on mini-batches for each ridge strength; for every neuron the (strength, epoch)
// with the lowest validation loss is kept (neurons are independent, so each gets its own choice),
// the start (no weights: the mean response) included.
#include <cstdint>
#include <vector>

#include "autodiff/tensor.hpp"

namespace ww::training {

enum class GlmOutput { relu, exp };

struct GlmFit {
  GlmOutput output = GlmOutput::relu;
  ad::Tensor weights;          // [D, N]
  ad::Tensor bias, offset;     // [N]
  std::vector<float> strength; // [N]: the ridge strength chosen for each neuron
};

struct GlmOptions {
  std::vector<float> strengths = {0.01f, 0.1f, 1.f, 10.f};  // penalty strength * |w_n|^2 added to neuron n's mean loss
  int max_epochs = 40;
  int patience = 3;            // epochs without any neuron improving before a strength is done
  std::int64_t batch_size = 256;
  float learning_rate = 1e-3f;
  std::uint64_t seed = 1;
};

// x [B, D], y [B, N] and the validation pair. Throws std::invalid_argument on mismatched shapes.
GlmFit fit_glm(const ad::Tensor& x, const ad::Tensor& y, const ad::Tensor& x_validation, const ad::Tensor& y_validation,
               GlmOutput output, const GlmOptions& options = {});

// [B, N] predictions for x [B, D].
ad::Tensor predict_glm(const GlmFit& fit, const ad::Tensor& x);

}  // namespace ww::training
