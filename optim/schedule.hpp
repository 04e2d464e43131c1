#pragma once
// The paper's schedule: evaluate the validation loss every `eval_every` steps; after `patience`
// evaluations without improvement, go back to the best parameters and multiply the learning rate
// by `decay`; after `max_decays` decays stop, keeping the best parameters.
#include <cstdint>
#include <limits>

namespace ww::optim {

struct ScheduleConfig {
  std::int64_t eval_every = 100;
  std::int64_t patience = 3;
  float decay = 0.1f;
  std::int64_t max_decays = 3;
  std::int64_t max_steps = 100000;  // a hard stop regardless of progress
};

enum class Decision {
  improved,  // a new best: keep a copy of the parameters
  waiting,   // no improvement yet, patience left
  decay,     // restore the best parameters, multiply the learning rate by `decay`
  stop,      // restore the best parameters and finish
};

class EarlyStopping {
 public:
  explicit EarlyStopping(ScheduleConfig config) : config_(config) {}
  Decision observe(double validation_loss);

  double best_loss() const { return best_loss_; }
  std::int64_t evaluations_without_improvement() const { return waiting_; }
  std::int64_t decays() const { return decays_; }
  // For checkpoints: the complete state.
  void restore(double best_loss, std::int64_t waiting, std::int64_t decays) {
    best_loss_ = best_loss;
    waiting_ = waiting;
    decays_ = decays;
  }
  const ScheduleConfig& config() const { return config_; }

 private:
  ScheduleConfig config_;
  double best_loss_ = std::numeric_limits<double>::infinity();
  std::int64_t waiting_ = 0;
  std::int64_t decays_ = 0;
};

}  // namespace ww::optim
