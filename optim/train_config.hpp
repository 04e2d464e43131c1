#pragma once
// How a model is trained (io/config reads and writes it as JSON).
#include <cstdint>
#include <string>

#include "optim/schedule.hpp"

namespace ww::optim {

enum class OptimizerKind { adam, sgd };

struct TrainConfig {
  OptimizerKind optimizer = OptimizerKind::adam;
  float learning_rate = 1e-3f;
  float momentum = 0.9f;             // SGD only
  std::int64_t batch_size = 64;
  float validation_fraction = 0.2f;  // held out of the training data, from its end
  std::uint64_t seed = 1;            // initialisation, batch order and readout samples
  bool init_from_data = true;        // SPEC 2.4: biases from mean responses, masks from STAs
  // Gaussian and factorized readouts: at each learning-rate decay, neurons whose location fits clearly
  // worse than another are moved there (nn::Model::search_locations).
  bool search_locations = false;
  // Normalise with statistics of the training part (not validation): images by their mean and SD,
  // responses by each neuron's SD; kept in the model (nn::Model::set_normalization).
  bool normalize = false;
  // Train the readout only: the core keeps its parameters and batch-norm statistics (a core
  // transferred from another recording, ww-train --core-from).
  bool freeze_core = false;
  ScheduleConfig schedule;
};

}  // namespace ww::optim
