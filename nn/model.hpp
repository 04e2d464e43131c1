#pragma once
// A core and a readout, with the configured loss and penalties.
#include <memory>
#include <random>

#include "nn/config.hpp"
#include "nn/core.hpp"
#include "nn/readout.hpp"

namespace ww::nn {

class Model : public Module {
 public:
  // Builds and randomly initialises the model; throws std::invalid_argument for an inconsistent
  // configuration (sizes, kernels that do not fit).
  Model(ModelConfig config, std::uint64_t seed);

  // images [B, C, H, W] -> predicted responses [B, N], in the units of the data (see set_normalization).
  ad::Var forward(const ad::Var& images);
  // Predictions for many images in evaluation mode, `batch` at a time, without gradients
  // (the training/evaluation mode is restored afterwards).
  ad::Tensor predict(const ad::Tensor& images, std::int64_t batch = 256);
  // The data term of the configured loss (MSE, or Poisson averaged over the batch), on prediction
  // and responses both divided by each neuron's response SD when the model normalises.
  ad::Var loss(const ad::Var& prediction, const ad::Var& responses) const;
  // Sum of the configured penalties (undefined Var when every strength is 0); the activity
  // penalty sees normalised predictions too.
  ad::Var penalty(const ad::Var& prediction) const;

  // Normalisation computed on training data, kept with the model (buffers "normalization.*"):
  // the core sees (image - image_mean) / image_sd, and the readout predicts responses in units of
  // each neuron's SD (no mean subtracted), scaled back by forward(). Identity until set.
  void set_normalization(float image_mean, float image_sd, const std::vector<float>& response_sd);
  bool normalizes() const;

  // The retinotopic readout's cortical coordinates [N, >= coordinate_dimensions], kept with the
  // model (standardised); std::invalid_argument for other readouts or another shape.
  void set_neuron_coordinates(const ad::Tensor& coordinates) { readout_->set_coordinates(coordinates); }

  // SPEC 2.4: readout bias from mean responses; masks (or Gaussian positions) at the argmax of each
  // neuron's smoothed spike-triggered average, the mask entry set to the response's SD.
  void initialize_from_data(const ad::Tensor& images, const ad::Tensor& responses);

  // Re-seats each neuron where the core's features fit its responses best, where that is clearly
  // better than where it reads now (Readout::search_locations); returns how many moved.
  std::int64_t search_locations(const ad::Tensor& images, const ad::Tensor& responses);

  const ModelConfig& config() const { return config_; }
  Core& core() { return *core_; }
  Readout& readout() { return *readout_; }
  // Randomness used during training (Gaussian readout samples); saved in checkpoints.
  std::mt19937_64& rng() { return rng_; }

 private:
  // Throws std::invalid_argument unless images are [batch, C, H, W] of the configured size.
  void check_images(const ad::Shape& shape) const;
  // (images - image mean) / image SD: what the core sees.
  ad::Var core_input(const ad::Var& images) const;
  // responses [B, N] divided by each neuron's response SD (unchanged without normalisation).
  ad::Var in_response_units(const ad::Var& responses) const;
  ad::Tensor in_response_units(const ad::Tensor& responses) const;
  ModelConfig config_;
  std::mt19937_64 rng_;
  ad::Tensor image_normalization_;  // [2]: mean, SD
  ad::Tensor response_sd_;          // [N]
  std::unique_ptr<Core> core_;
  std::unique_ptr<Readout> readout_;
};

}  // namespace ww::nn
