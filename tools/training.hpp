#pragma once
// The training loop shared by ww-train and by programs that embed the engine: minibatch steps,
// validation every E steps with the paper's early-stopping schedule, and complete, resumable
// checkpoints (parameters, buffers, optimizer state, schedule state, random generators, step).
#include <atomic>
#include <functional>
#include <memory>
#include <random>

#include "io/checkpoint.hpp"
#include "io/config.hpp"
#include "io/dataset.hpp"
#include "io/recording.hpp"
#include "nn/model.hpp"
#include "optim/optimizer.hpp"

namespace ww::training {

struct Progress {
  std::int64_t step = 0, max_steps = 0;
  double train_loss = 0;                    // this step's data loss
  double validation_loss = 0;               // at the last evaluation
  double validation_correlation = 0;        // mean over neurons, at the last evaluation
  double best_validation_loss = 0;
  float learning_rate = 0;
  std::int64_t decays = 0;
  bool evaluated = false;                   // this report follows an evaluation
  std::int64_t relocated = 0;               // neurons moved by this evaluation's location search
};

enum class Outcome { finished, interrupted, diverged };

// One recording's data for a model of several: its data key and its training/validation split.
struct TrainingPart {
  std::string key;
  io::TrainingSplit split;
};

class Trainer {
 public:
  // A fresh run on `data` (split: the last validation_fraction of it validates). The model's
  // input size and neuron count come from the data.
  Trainer(io::Config config, io::Dataset data);
  // Several recordings (distinct keys, images of one size) on one core, one readout each; steps
  // cycle through them, one recording's batch per step. A single part with an empty key is the
  // one-recording model.
  Trainer(io::Config config, std::vector<TrainingPart> parts);
  // Continues a run from its checkpoint; throws io::FormatError if it does not fit this data.
  Trainer(const io::Checkpoint& checkpoint, io::Dataset data);
  Trainer(const io::Checkpoint& checkpoint, std::vector<TrainingPart> parts);

  // Trains until the schedule stops (best parameters restored), `interrupt` becomes true, or a
  // loss is not finite (parameters left at the last evaluation's state is up to the caller's
  // checkpoint). A fresh run's starting point is the first candidate for the best parameters.
  // on_progress is called after every step; on_evaluation after every evaluation.
  Outcome run(const std::atomic<bool>& interrupt, const std::function<void(const Progress&)>& on_progress,
              const std::function<void()>& on_evaluation);

  io::Checkpoint checkpoint() const;
  // Before training: the core's parameters and buffers from another model's checkpoint (the same
  // core configuration; FormatError naming the tensor otherwise). The readout stays as initialised.
  void transfer_core(const io::Checkpoint& source);
  nn::Model& model() { return *model_; }
  const io::Config& config() const { return config_; }
  std::int64_t step() const { return step_; }
  double best_validation_loss() const;
  const ad::Shape& images_shape() const { return parts_.front().data.images.shape(); }
  const std::string& divergence() const { return divergence_; }
  // What the trainer changed in the configuration and why (empty when nothing): a retinotopic
  // readout without cortical coordinates in the data becomes a Gaussian one.
  const std::string& notice() const { return notice_; }

 private:
  // Image mean/SD and response SDs of a recording's training part, set in the model (config "normalize").
  void normalize_from_training_part(std::size_t recording);
  void build();
  double evaluate(double* mean_correlation);
  void search_locations();
  void snapshot_best();
  void restore_best();
  // Ends the run on the best parameters seen, the starting point included.
  void finish();

  // A recording's data: the first train_count samples train, the rest validate.
  struct Part {
    std::string key;
    io::Dataset data;
    float validation_fraction;
    std::int64_t train_count = 0;
  };
  void check_parts_fit_model(const std::string& origin) const;

  io::Config config_;
  std::vector<Part> parts_;
  std::unique_ptr<nn::Model> model_;
  std::unique_ptr<optim::Optimizer> optimizer_;
  std::unique_ptr<optim::EarlyStopping> schedule_;
  std::mt19937_64 sampler_;
  std::vector<ad::Tensor> best_;  // parameters then buffers at the best validation loss
  std::vector<ad::Tensor> start_;  // the same at the start of the run, and its validation loss
  double start_loss_ = 0.0;
  std::int64_t step_ = 0;
  bool finished_ = false;
  Progress progress_;
  std::string divergence_;
  std::string notice_;
};

// A trained model from a checkpoint, in evaluation mode.
std::unique_ptr<nn::Model> load_model(const io::Checkpoint& checkpoint);

// The index of the model's recording with data key `key`; an empty key names the only recording
// of a model of one. std::invalid_argument listing the model's keys otherwise.
std::size_t recording_index(const nn::Model& model, const std::string& key);

}  // namespace ww::training
