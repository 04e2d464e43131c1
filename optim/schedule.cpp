#include "optim/schedule.hpp"

namespace ww::optim {

Decision EarlyStopping::observe(double validation_loss) {
  if (validation_loss < best_loss_) {
    best_loss_ = validation_loss;
    waiting_ = 0;
    return Decision::improved;
  }
  if (++waiting_ < config_.patience) return Decision::waiting;
  waiting_ = 0;
  if (decays_ >= config_.max_decays) return Decision::stop;
  ++decays_;
  return Decision::decay;
}

}  // namespace ww::optim
