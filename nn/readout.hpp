#pragma once
// Readouts: core output [B, K, H, W] -> responses [B, N].
//
// factorized: per neuron a spatial mask m[n, h*w] and feature weights w[k, n], computed as two
//   contractions (mask first, [B*K, N], then features), never an [N, K, H, W] tensor.
// fixed_mask: the same with a frozen one-hot mask at each neuron's location.
// fully_connected: W[n, k*h*w].
// gaussian: each neuron reads the core by bilinear interpolation at mu_n (+ Sigma_n eps in
//   training), then weights the K features.
// Every readout ends with output(raw + bias_n), output the configured nonlinearity.
#include <memory>
#include <random>

#include "autodiff/functions.hpp"
#include "nn/config.hpp"
#include "nn/module.hpp"

namespace ww::nn {

class Readout : public Module {
 public:
  // features [B, K, H, W] -> [B, N]; rng drives the Gaussian readout's position samples.
  virtual ad::Var forward(const ad::Var& features, std::mt19937_64& rng) = 0;
  // The readout's penalties for the configured strengths (prediction: this batch's output).
  virtual ad::Var penalty(const PenaltyConfig& penalties, const ad::Var& prediction) const = 0;
  // Parameters per neuron (shared parameters excluded).
  virtual std::int64_t parameters_per_neuron() const = 0;
  // Spatial masks / positions initialised at these flat locations (h * W + w of the core output),
  // with mask value `scale[n]`; readouts without locations ignore it.
  virtual void init_locations(const std::vector<std::int64_t>& locations, const std::vector<float>& scale) = 0;
  // Each neuron's feature weights 1 on channel[n] and 0 elsewhere (a start that knows the cell
  // types); only the factorized readout has per-neuron feature weights, the others ignore it.
  virtual void init_feature_channels(const std::vector<std::int64_t>& /*channel*/) {}
  // Each neuron whose responses are fitted clearly better by least squares on the features of
  // another 2x2 window of core_output [B, K, H, W] than where it reads now moves there (Gaussian:
  // its position; factorized: its mask). Returns how many moved; the fixed-mask, fully connected
  // and |m| |w| factorized readouts move none.
  virtual std::int64_t search_locations(const ad::Tensor& /*core_output*/, const ad::Tensor& /*responses*/) { return 0; }
  // Where each neuron reads: [N, 2] (row, col) in pixels of the core output (factorized: the
  // mask's largest |entry|; Gaussian: mu). std::invalid_argument for the fully connected readout.
  virtual ad::Tensor locations() const;
  // The retinotopic readout's cortical coordinates of every neuron, [N, >= coordinate_dimensions]
  // (recordings: meta/neurons/cell_motor_coordinates); std::invalid_argument for other readouts.
  virtual void set_coordinates(const ad::Tensor& cortical);
  // bias_n = output^-1(mean response of n).
  void init_bias(const std::vector<float>& mean_response);

 protected:
  Readout(const ReadoutConfig& config, std::int64_t neurons);
  // output(raw + bias)
  ad::Var finish(const ad::Var& raw) const;
  ReadoutConfig config_;
  std::int64_t neurons_;
  ad::Var bias_;
};

std::unique_ptr<Readout> make_readout(const ReadoutConfig& config, std::int64_t neurons, std::int64_t channels,
                                      std::int64_t height, std::int64_t width, std::mt19937_64& rng);

}  // namespace ww::nn
