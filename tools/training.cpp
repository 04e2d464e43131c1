#include "tools/training.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <sstream>

#include "nn/metrics.hpp"
#include "optim/adam.hpp"
#include "optim/sgd.hpp"

namespace ww::training {
namespace {

std::string rng_text(const std::mt19937_64& rng) {
  std::ostringstream out;
  out << rng;
  return out.str();
}

void rng_from_text(std::mt19937_64& rng, const std::string& text, const std::string& origin) {
  std::istringstream in(text);
  in >> rng;
  if (!in) throw io::FormatError(origin + ": a random generator state is corrupted");
}

// Copies the checkpoint's tensor `name` into `target`, which must have the same shape.
void copy_into(const io::Checkpoint& checkpoint, const std::string& name, ad::Tensor target) {
  const ad::Tensor& stored = checkpoint.tensor(name);
  if (stored.shape() != target.shape()) {
    throw io::FormatError(checkpoint.path + ": tensor '" + name + "' has shape " + ad::shape_string(stored.shape()) +
                          ", the model needs " + ad::shape_string(target.shape()));
  }
  std::memcpy(target.data(), stored.data(), stored.numel() * sizeof(float));
}

// A model's complete state, parameters then buffers, as tensors sharing the model's storage, with
// their checkpoint names ("param/<name>", "buffer/<name>").
struct ModelState {
  std::vector<std::string> names;
  std::vector<ad::Tensor> tensors;
};

ModelState state_of(const nn::Model& model) {
  ModelState state;
  for (const auto& [name, var] : model.named_parameters()) {
    state.names.push_back("param/" + name);
    state.tensors.push_back(var.value());
  }
  for (const auto& [name, tensor] : model.named_buffers()) {
    state.names.push_back("buffer/" + name);
    state.tensors.push_back(tensor);
  }
  return state;
}

// Copies values between same-shaped tensor lists (into `to`'s storage).
void copy_values(const std::vector<ad::Tensor>& from, std::vector<ad::Tensor> to) {
  for (std::size_t i = 0; i < from.size(); ++i) std::memcpy(to[i].data(), from[i].data(), from[i].numel() * sizeof(float));
}

// copy_into, except that checkpoints from before normalisation existed lack its buffers: the
// model's identity normalisation stays.
void copy_model_tensor(const io::Checkpoint& checkpoint, const std::string& name, ad::Tensor target) {
  if (name.find("buffer/normalization.") != std::string::npos && checkpoint.tensors.count(name) == 0) return;
  copy_into(checkpoint, name, std::move(target));
}

void load_model_state(const io::Checkpoint& checkpoint, const nn::Model& model) {
  const ModelState state = state_of(model);
  for (std::size_t i = 0; i < state.names.size(); ++i) copy_model_tensor(checkpoint, state.names[i], state.tensors[i]);
}

io::Config config_of(const io::Checkpoint& checkpoint) {
  return io::parse_config(checkpoint.text("config"), checkpoint.path + " (its configuration)");
}

}  // namespace

namespace {

std::vector<TrainingPart> one_part(io::Dataset data, float validation_fraction) {
  std::vector<TrainingPart> parts;
  parts.push_back({"", {std::move(data), validation_fraction}});
  return parts;
}

}  // namespace

Trainer::Trainer(io::Config config, io::Dataset data)
    : Trainer(config, one_part(std::move(data), config.training.validation_fraction)) {}

Trainer::Trainer(const io::Checkpoint& checkpoint, io::Dataset data)
    : Trainer(checkpoint, one_part(std::move(data), config_of(checkpoint).training.validation_fraction)) {}

Trainer::Trainer(io::Config config, std::vector<TrainingPart> parts) : config_(std::move(config)) {
  if (parts.empty()) throw std::invalid_argument("training: no data");
  for (TrainingPart& part : parts) parts_.push_back({part.key, std::move(part.split.data), part.split.validation_fraction});
  const ad::Shape& si = parts_.front().data.images.shape();
  config_.model.input_height = si[2];
  config_.model.input_width = si[3];
  config_.model.core.input_channels = si[1];
  config_.model.recordings.clear();
  if (parts_.size() == 1 && parts_.front().key.empty()) {
    config_.model.neurons = parts_.front().data.responses.shape()[1];
  } else {
    config_.model.neurons = 0;
    for (const Part& part : parts_) config_.model.recordings.push_back({part.key, part.data.responses.shape()[1]});
  }
  nn::ReadoutConfig& readout = config_.model.readout;
  for (const Part& part : parts_) {
    if (readout.kind != nn::ReadoutKind::retinotopic || part.data.neuron_coordinates.defined()) continue;
    readout.kind = nn::ReadoutKind::gaussian;
    notice_ = "the data" + (part.key.empty() ? std::string() : " of '" + part.key + "'") +
              " has no cortical coordinates (meta/neurons/cell_motor_coordinates.npy): the retinotopic readout falls back to "
              "the Gaussian readout, each neuron's position learned on its own";
  }
  build();
  check_parts_fit_model("training data");
  for (std::size_t r = 0; r < parts_.size(); ++r) {
    const Part& part = parts_[r];
    if (readout.kind == nn::ReadoutKind::retinotopic) model_->set_neuron_coordinates(part.data.neuron_coordinates, r);
    if (config_.training.normalize) normalize_from_training_part(r);
    if (config_.training.init_from_data) {
      model_->initialize_from_data(ad::slice_rows(part.data.images, 0, part.train_count),
                                   ad::slice_rows(part.data.responses, 0, part.train_count), r);
    }
  }
  snapshot_best();
}

Trainer::Trainer(const io::Checkpoint& checkpoint, std::vector<TrainingPart> parts) : config_(config_of(checkpoint)) {
  for (TrainingPart& part : parts) parts_.push_back({part.key, std::move(part.split.data), part.split.validation_fraction});
  build();
  check_parts_fit_model(checkpoint.path);
  load_model_state(checkpoint, *model_);
  for (const auto& [name, tensor] : optimizer_->state()) copy_into(checkpoint, "optimizer/" + name, tensor);
  optimizer_->set_steps_taken(checkpoint.integer("optimizer_steps"));
  optimizer_->set_learning_rate(static_cast<float>(checkpoint.real("learning_rate")));
  schedule_->restore(checkpoint.real("best_loss"), checkpoint.integer("schedule_waiting"), checkpoint.integer("schedule_decays"));
  const std::vector<std::string> names = state_of(*model_).names;
  for (std::size_t i = 0; i < names.size(); ++i) copy_model_tensor(checkpoint, "best_" + names[i], best_[i]);
  // Checkpoints from before the start was kept have none: such a run ends on its best evaluation.
  if (checkpoint.reals.count("start_loss") != 0) {
    start_loss_ = checkpoint.real("start_loss");
    for (const std::string& name : names) start_.push_back(checkpoint.tensor("start_" + name).clone());
  }
  rng_from_text(model_->rng(), checkpoint.text("model_rng"), checkpoint.path);
  rng_from_text(sampler_, checkpoint.text("sampler_rng"), checkpoint.path);
  step_ = checkpoint.integer("step");
  finished_ = checkpoint.integer("finished") != 0;
  progress_.validation_loss = checkpoint.real("validation_loss");
  progress_.validation_correlation = checkpoint.real("validation_correlation");
}

void Trainer::check_parts_fit_model(const std::string& origin) const {
  const nn::ModelConfig& m = config_.model;
  if (parts_.size() != model_->recording_count()) {
    throw io::FormatError(origin + ": the model has " + std::to_string(model_->recording_count()) + " recordings, the data " +
                          std::to_string(parts_.size()));
  }
  for (std::size_t r = 0; r < parts_.size(); ++r) {
    const Part& part = parts_[r];
    const ad::Shape& si = part.data.images.shape();
    const std::string which = part.key.empty() ? "this data" : "recording '" + part.key + "'";
    if (part.key != model_->data_key(r)) {
      throw io::FormatError(origin + ": recording " + std::to_string(r) + " is '" + model_->data_key(r) + "' in the model, '" +
                            part.key + "' in the data");
    }
    if (si[1] != m.core.input_channels || si[2] != m.input_height || si[3] != m.input_width ||
        part.data.responses.shape()[1] != model_->neurons(r)) {
      throw io::FormatError(origin + ": the model takes images [" + std::to_string(m.core.input_channels) + "," +
                            std::to_string(m.input_height) + "," + std::to_string(m.input_width) + "] and predicts " +
                            std::to_string(model_->neurons(r)) + " neurons; " + which + " has images " + ad::shape_string(si) +
                            " and responses " + ad::shape_string(part.data.responses.shape()));
    }
  }
}

void Trainer::build() {
  for (Part& part : parts_) {
    const std::int64_t n = part.data.images.shape()[0];
    const auto validation = static_cast<std::int64_t>(std::llround(static_cast<double>(n) * part.validation_fraction));
    part.train_count = n - validation;
    if (validation < 2 || part.train_count < 2) {
      throw io::FormatError("training data" + (part.key.empty() ? std::string() : " '" + part.key + "'") + ": " + std::to_string(n) +
                            " samples are too few to hold out a validation fraction of " + std::to_string(part.validation_fraction));
    }
  }
  model_ = std::make_unique<nn::Model>(config_.model, config_.training.seed);
  sampler_.seed(config_.training.seed + 1);
  const optim::TrainConfig& t = config_.training;
  std::vector<ad::Var> trained = model_->parameters();
  if (t.freeze_core) {
    trained.clear();
    for (std::size_t r = 0; r < model_->recording_count(); ++r) {
      const std::vector<ad::Var> readout = model_->readout(r).parameters();
      trained.insert(trained.end(), readout.begin(), readout.end());
    }
  }
  if (t.optimizer == optim::OptimizerKind::adam) {
    optimizer_ = std::make_unique<optim::Adam>(trained, optim::AdamOptions{t.learning_rate});
  } else {
    optimizer_ = std::make_unique<optim::Sgd>(trained, t.learning_rate, t.momentum);
  }
  schedule_ = std::make_unique<optim::EarlyStopping>(t.schedule);
  best_.clear();
  for (const ad::Tensor& tensor : state_of(*model_).tensors) best_.push_back(ad::Tensor(tensor.shape()));
}

void Trainer::normalize_from_training_part(std::size_t r) {
  const Part& part = parts_[r];
  const ad::Tensor images = ad::slice_rows(part.data.images, 0, part.train_count);
  const ad::Tensor responses = ad::slice_rows(part.data.responses, 0, part.train_count);
  double sum = 0.0, squares = 0.0;
  for (std::size_t i = 0; i < images.numel(); ++i) {
    sum += images.data()[i];
    squares += static_cast<double>(images.data()[i]) * images.data()[i];
  }
  const double pixels = static_cast<double>(images.numel()), mean = sum / pixels;
  const double image_sd = std::sqrt(std::max(squares / pixels - mean * mean, 0.0));
  if (!(image_sd > 0)) throw io::FormatError("training data: every image pixel has the same value; images cannot be normalised");
  const std::vector<double> sd = nn::column_moments(responses).sd;
  const std::vector<float> response_sd(sd.begin(), sd.end());
  model_->set_normalization(static_cast<float>(mean), static_cast<float>(image_sd), response_sd, r);
}

void Trainer::transfer_core(const io::Checkpoint& source) {
  const ModelState state = state_of(*model_);
  for (std::size_t i = 0; i < state.names.size(); ++i) {
    const std::string& name = state.names[i];
    if (name.rfind("param/core.", 0) != 0 && name.rfind("buffer/core.", 0) != 0) continue;
    if (source.tensors.count(name) == 0) {
      throw io::FormatError(source.path + ": has no '" + name + "': its core differs from this model's (compare the model.core configurations)");
    }
    copy_into(source, name, state.tensors[i]);
  }
  snapshot_best();
}

double Trainer::best_validation_loss() const { return schedule_->best_loss(); }

void Trainer::snapshot_best() { copy_values(state_of(*model_).tensors, best_); }

void Trainer::restore_best() { copy_values(best_, state_of(*model_).tensors); }

void Trainer::finish() {
  if (!start_.empty() && start_loss_ < schedule_->best_loss()) {
    copy_values(start_, best_);
    schedule_->restore(start_loss_, schedule_->evaluations_without_improvement(), schedule_->decays());
  }
  restore_best();
  finished_ = true;
}

void Trainer::search_locations() {
  // At most this many training images: the search holds their core output in memory.
  constexpr std::int64_t max_images = 4096;
  progress_.relocated = 0;
  for (std::size_t r = 0; r < parts_.size(); ++r) {
    const Part& part = parts_[r];
    const std::int64_t images = std::min(part.train_count, max_images);
    progress_.relocated +=
        model_->search_locations(ad::slice_rows(part.data.images, 0, images), ad::slice_rows(part.data.responses, 0, images), r);
  }
  if (progress_.relocated == 0) return;
  // The moved model is kept as the best one when validation agrees that it is better.
  double correlation = 0.0;
  const double loss = evaluate(&correlation);
  if (loss < schedule_->best_loss()) {
    snapshot_best();
    schedule_->restore(loss, 0, schedule_->decays());
    progress_.validation_loss = loss;
    progress_.validation_correlation = correlation;
  }
}

// The validation loss averaged over recordings; the correlation over all their neurons.
double Trainer::evaluate(double* mean_correlation) {
  double loss = 0.0;
  std::vector<double> correlations;
  for (std::size_t r = 0; r < parts_.size(); ++r) {
    const Part& part = parts_[r];
    const std::int64_t n = part.data.images.shape()[0];
    const ad::Tensor prediction = model_->predict(ad::slice_rows(part.data.images, part.train_count, n), 256, r);
    const ad::Tensor target = ad::slice_rows(part.data.responses, part.train_count, n);
    const std::vector<double> c = nn::correlation_per_neuron(prediction, target);
    correlations.insert(correlations.end(), c.begin(), c.end());
    ad::NoGradGuard no_grad;
    loss += model_->loss(ad::Var::constant(prediction), ad::Var::constant(target), r).value().item() / static_cast<double>(parts_.size());
  }
  *mean_correlation = nn::finite_mean(correlations);
  return loss;
}

Outcome Trainer::run(const std::atomic<bool>& interrupt, const std::function<void(const Progress&)>& on_progress,
                     const std::function<void()>& on_evaluation) {
  const optim::ScheduleConfig& schedule = config_.training.schedule;
  progress_.max_steps = schedule.max_steps;
  // The starting point is kept as the fallback of the run (an initialisation from the data can be
  // better than anything the steps reach); it does not enter the schedule, whose patience would
  // otherwise run out during an early rise of the validation loss.
  if (step_ == 0 && start_.empty()) {
    start_loss_ = evaluate(&progress_.validation_correlation);
    for (const ad::Tensor& tensor : state_of(*model_).tensors) start_.push_back(tensor.clone());
  }
  std::vector<std::int64_t> order;
  while (!finished_) {
    if (interrupt.load()) return Outcome::interrupted;
    if (step_ >= schedule.max_steps) {
      finish();
      on_evaluation();
      break;
    }
    ++step_;
    // The recordings take turns, one batch each, drawn without replacement; the sampler is the
    // only state this needs.
    const std::size_t r = static_cast<std::size_t>(step_ - 1) % parts_.size();
    const Part& part = parts_[r];
    const std::int64_t batch = std::min<std::int64_t>(config_.training.batch_size, part.train_count);
    order.resize(static_cast<std::size_t>(part.train_count));
    std::iota(order.begin(), order.end(), 0);
    for (std::int64_t i = 0; i < batch; ++i) {
      std::uniform_int_distribution<std::int64_t> pick(i, part.train_count - 1);
      std::swap(order[static_cast<std::size_t>(i)], order[static_cast<std::size_t>(pick(sampler_))]);
    }
    const std::vector<std::int64_t> rows(order.begin(), order.begin() + batch);
    model_->train();
    if (config_.training.freeze_core) model_->core().eval();  // its batch norm keeps the source's statistics
    optimizer_->zero_grad();
    const ad::Var prediction = model_->forward(ad::Var::constant(ad::gather_rows(part.data.images, rows)), r);
    const ad::Var loss = model_->loss(prediction, ad::Var::constant(ad::gather_rows(part.data.responses, rows)), r);
    const ad::Var penalty = model_->penalty(prediction, r);
    const ad::Var total = penalty.defined() ? ad::add(loss, penalty) : loss;
    progress_.train_loss = loss.value().item();
    if (!std::isfinite(total.value().item())) {
      ad::clear_tape();
      divergence_ = "the training loss became " + std::to_string(total.value().item()) + " at step " + std::to_string(step_);
      return Outcome::diverged;
    }
    ad::backward(total);
    optimizer_->step();
    progress_.step = step_;
    progress_.learning_rate = optimizer_->learning_rate();
    progress_.evaluated = step_ % schedule.eval_every == 0;
    if (progress_.evaluated) {
      progress_.relocated = 0;
      progress_.validation_loss = evaluate(&progress_.validation_correlation);
      if (!std::isfinite(progress_.validation_loss)) {
        divergence_ = "the validation loss became " + std::to_string(progress_.validation_loss) + " at step " + std::to_string(step_);
        return Outcome::diverged;
      }
      switch (schedule_->observe(progress_.validation_loss)) {
        case optim::Decision::improved: snapshot_best(); break;
        case optim::Decision::waiting: break;
        case optim::Decision::decay:
          restore_best();
          optimizer_->set_learning_rate(optimizer_->learning_rate() * schedule.decay);
          if (config_.training.search_locations) search_locations();
          break;
        case optim::Decision::stop:
          finish();
          break;
      }
      progress_.best_validation_loss = schedule_->best_loss();
      progress_.decays = schedule_->decays();
      progress_.learning_rate = optimizer_->learning_rate();
    }
    on_progress(progress_);
    if (progress_.evaluated) on_evaluation();
  }
  return Outcome::finished;
}

io::Checkpoint Trainer::checkpoint() const {
  io::Checkpoint c;
  c.texts["config"] = io::config_to_json(config_);
  c.texts["model_rng"] = rng_text(model_->rng());
  c.texts["sampler_rng"] = rng_text(sampler_);
  const ModelState state = state_of(*model_);
  for (std::size_t i = 0; i < state.names.size(); ++i) {
    c.tensors[state.names[i]] = state.tensors[i].clone();
    c.tensors["best_" + state.names[i]] = best_[i].clone();
    if (!start_.empty()) c.tensors["start_" + state.names[i]] = start_[i].clone();
  }
  for (const auto& [name, tensor] : optimizer_->state()) c.tensors["optimizer/" + name] = tensor.clone();
  c.integers["step"] = step_;
  c.integers["finished"] = finished_ ? 1 : 0;
  c.integers["optimizer_steps"] = optimizer_->steps_taken();
  c.integers["schedule_waiting"] = schedule_->evaluations_without_improvement();
  c.integers["schedule_decays"] = schedule_->decays();
  c.reals["learning_rate"] = optimizer_->learning_rate();
  c.reals["best_loss"] = schedule_->best_loss();
  if (!start_.empty()) c.reals["start_loss"] = start_loss_;
  c.reals["validation_loss"] = progress_.validation_loss;
  c.reals["validation_correlation"] = progress_.validation_correlation;
  return c;
}

std::unique_ptr<nn::Model> load_model(const io::Checkpoint& checkpoint) {
  const io::Config config = config_of(checkpoint);
  auto model = std::make_unique<nn::Model>(config.model, config.training.seed);
  load_model_state(checkpoint, *model);
  model->eval();
  return model;
}

std::size_t recording_index(const nn::Model& model, const std::string& key) {
  std::string keys;
  for (std::size_t r = 0; r < model.recording_count(); ++r) {
    if (model.data_key(r) == key || (key.empty() && model.recording_count() == 1)) return r;
    keys += (keys.empty() ? "'" : ", '") + model.data_key(r) + "'";
  }
  throw std::invalid_argument(model.data_key(0).empty() ? "the model has one recording without a data key; leave --data-key out"
                                                        : "the model's recordings are " + keys + "; choose one with --data-key");
}

}  // namespace ww::training
