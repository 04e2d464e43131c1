#pragma once
// A core and a readout, with the configured loss and penalties.
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "nn/config.hpp"
#include "nn/core.hpp"
#include "nn/readout.hpp"

namespace ww::nn {

// With several recordings (ModelConfig::recordings) each has its own readout and normalisation
// on the one core; the methods below take the recording's index (0 for a single recording).
class Model : public Module {
 public:
  // Builds and randomly initialises the model; throws std::invalid_argument for an inconsistent
  // configuration (sizes, kernels that do not fit, recordings without neurons or with one key twice).
  Model(ModelConfig config, std::uint64_t seed);

  // images [B, C, H, W] -> predicted responses [B, N] of `recording`, in the units of the data
  // (see set_normalization).
  ad::Var forward(const ad::Var& images, std::size_t recording = 0);
  // Predictions for many images in evaluation mode, `batch` at a time, without gradients
  // (the training/evaluation mode is restored afterwards).
  ad::Tensor predict(const ad::Tensor& images, std::int64_t batch = 256, std::size_t recording = 0);
  // The data term of the configured loss (MSE, or Poisson averaged over the batch), on prediction
  // and responses both divided by each neuron's response SD when the model normalises.
  ad::Var loss(const ad::Var& prediction, const ad::Var& responses, std::size_t recording = 0) const;
  // Sum of the configured penalties of the core and this recording's readout (undefined Var when
  // every strength is 0); the activity penalty sees normalised predictions too.
  ad::Var penalty(const ad::Var& prediction, std::size_t recording = 0) const;

  // Normalisation computed on training data, kept with the model (buffers "normalization.*"):
  // the core sees (image - image_mean) / image_sd, and the readout predicts responses in units of
  // each neuron's SD (no mean subtracted), scaled back by forward(). Identity until set.
  void set_normalization(float image_mean, float image_sd, const std::vector<float>& response_sd, std::size_t recording = 0);
  bool normalizes(std::size_t recording = 0) const;

  // The retinotopic readout's cortical coordinates [N, >= coordinate_dimensions], kept with the
  // model (standardised); std::invalid_argument for other readouts or another shape.
  void set_neuron_coordinates(const ad::Tensor& coordinates, std::size_t recording = 0) {
    recordings_.at(recording).readout->set_coordinates(coordinates);
  }

  // SPEC 2.4: readout bias from mean responses; masks (or Gaussian positions) at the argmax of each
  // neuron's smoothed spike-triggered average, the mask entry set to the response's SD. For the
  // paper's linear models (linear_kernels) the kernels, each neuron's place and, with several
  // kernels, its type come from align_typed_kernels instead, the mask entry the least-squares
  // weight and the feature weights one-hot on the type.
  void initialize_from_data(const ad::Tensor& images, const ad::Tensor& responses, std::size_t recording = 0);

  // Re-seats each neuron where the core's features fit its responses best, where that is clearly
  // better than where it reads now (Readout::search_locations); returns how many moved.
  std::int64_t search_locations(const ad::Tensor& images, const ad::Tensor& responses, std::size_t recording = 0);

  const ModelConfig& config() const { return config_; }
  Core& core() { return *core_; }
  std::size_t recording_count() const { return recordings_.size(); }
  // The recording's data key ("" for a model of one recording) and neuron count.
  const std::string& data_key(std::size_t recording = 0) const { return recordings_.at(recording).key; }
  std::int64_t neurons(std::size_t recording = 0) const { return recordings_.at(recording).neurons; }
  Readout& readout(std::size_t recording = 0) { return *recordings_.at(recording).readout; }
  // The recording's readout parameters and buffers carry this name prefix ("readout." or "readout.<key>.").
  std::string readout_prefix(std::size_t recording = 0) const;
  // Randomness used during training (Gaussian readout samples); saved in checkpoints.
  std::mt19937_64& rng() { return rng_; }

 private:
  struct Recording {
    std::string key;
    std::int64_t neurons;
    std::unique_ptr<Readout> readout;
    ad::Tensor image_normalization;  // [2]: mean, SD
    ad::Tensor response_sd;          // [N]
  };
  static bool normalizes(const Recording& recording);
  // One valid conv layer on one input channel, no nonlinearity, factorized readout: the paper's
  // linear models (one kernel, or one per cell type), whose kernels initialize_from_data estimates
  // from the STAs.
  bool linear_kernels() const;
  // Throws std::invalid_argument unless images are [batch, C, H, W] of the configured size.
  void check_images(const ad::Shape& shape) const;
  // (images - image mean) / image SD of the recording: what the core sees.
  ad::Var core_input(const ad::Var& images, const Recording& recording) const;
  // responses [B, N] divided by each neuron's response SD (unchanged without normalisation).
  ad::Var in_response_units(const ad::Var& responses, const Recording& recording) const;
  ad::Tensor in_response_units(const ad::Tensor& responses, const Recording& recording) const;
  ModelConfig config_;
  std::mt19937_64 rng_;
  std::unique_ptr<Core> core_;
  std::vector<Recording> recordings_;
};

}  // namespace ww::nn
