#include "tools/experiments.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "nn/clustering.hpp"
#include "nn/metrics.hpp"
#include "nn/regression.hpp"
#include "tools/glm.hpp"
#include "tools/training.hpp"

namespace ww::experiments {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::vector<float> column(const ad::Tensor& t, std::int64_t n, std::int64_t begin, std::int64_t end) {
  std::vector<float> values;
  for (std::int64_t b = begin; b < end; ++b) values.push_back(t.data()[b * t.shape()[1] + n]);
  return values;
}

std::string format_strengths(float mask_l1, float feature_l1) {
  char text[96];
  std::snprintf(text, sizeof text, "mask_l1 %g, feature_l1 %g", static_cast<double>(mask_l1), static_cast<double>(feature_l1));
  return text;
}

// The per-neuron choices of a baseline, summarised.
std::string median_strength(std::vector<double> strengths) {
  std::sort(strengths.begin(), strengths.end());
  char text[64];
  std::snprintf(text, sizeof text, "median strength %g", strengths[strengths.size() / 2]);
  return text;
}

// The result's test FEV of `prediction` [T, N]: its mean, and each type's where the population
// has several (a mean alone hides a type the model cannot predict at all).
void score_fev(Result& result, const ad::Tensor& prediction, const io::Population& population) {
  const std::vector<double> fev = nn::fev_per_neuron(prediction, population.test_truth);
  result.score = nn::finite_mean(fev);
  result.score_by_type.clear();
  if (population.types.numel() != fev.size()) return;
  std::vector<std::vector<double>> by_type;
  for (std::size_t n = 0; n < fev.size(); ++n) {
    const auto type = static_cast<std::size_t>(population.types.data()[n]);
    if (type >= by_type.size()) by_type.resize(type + 1);
    by_type[type].push_back(fev[n]);
  }
  if (by_type.size() < 2) return;
  for (const std::vector<double>& type_fev : by_type) result.score_by_type.push_back(nn::finite_mean(type_fev));
}

}  // namespace

io::Config linear_model_config(std::int64_t channels, float mask_l1, float feature_l1, std::uint64_t seed) {
  io::Config config;
  nn::LayerSpec layer;
  layer.channels = channels;
  layer.kernel = 17;
  layer.nonlinearity = nn::Nonlinearity::identity;
  config.model.core.layers = {layer};
  config.model.readout.kind = nn::ReadoutKind::factorized;
  config.model.penalties.mask_l1 = mask_l1;
  config.model.penalties.feature_l1 = feature_l1;
  config.training.learning_rate = 1e-3f;
  config.training.batch_size = 256;
  config.training.seed = seed;
  config.training.schedule = {100, 3, 0.1f, 2, 100000};
  return config;
}

std::string candidate_checkpoint(const std::string& progress_folder, std::size_t candidate) {
  return progress_folder + "/candidate-" + std::to_string(candidate) + ".wwc";
}

namespace {

// A candidate's training, continued from its checkpoint in the progress folder when that was made
// with the same configuration (a candidate list changed since starts afresh).
struct CandidateRun {
  std::unique_ptr<training::Trainer> trainer;
  double earlier_seconds = 0.0;  // spent before the run this trainer continues
};

CandidateRun start_candidate(const io::Population& population, const Candidate& candidate, const std::string& checkpoint_path) {
  CandidateRun run{std::make_unique<training::Trainer>(candidate.config, population.train)};
  if (!checkpoint_path.empty() && std::filesystem::exists(checkpoint_path)) {
    const io::Checkpoint kept = io::load_checkpoint(checkpoint_path);
    if (kept.text("config") == io::config_to_json(run.trainer->config())) {
      run.trainer = std::make_unique<training::Trainer>(kept, population.train);
      run.earlier_seconds = kept.real("seconds");
      std::printf("  (%s: %s continues at step %lld)\n", checkpoint_path.c_str(), candidate.description.c_str(),
                  static_cast<long long>(run.trainer->step()));
      std::fflush(stdout);
      return run;
    }
    std::printf("  (%s was made with another configuration: %s starts afresh)\n", checkpoint_path.c_str(), candidate.description.c_str());
  }
  if (candidate.core_from) run.trainer->transfer_core(*candidate.core_from);
  return run;
}

// Trains `candidate` (as search's candidate `index`) and makes it `result`'s choice when it
// finishes with the lowest validation loss so far; returns whether it did.
bool try_candidate(const io::Population& population, const Candidate& candidate, std::size_t index, const std::string& progress_folder,
                   Result& result) {
  // Checkpoints of the largest models run to hundreds of MB: one every few minutes costs ~1%.
  constexpr double seconds_between_checkpoints = 300.0;
  const std::string checkpoint_path = progress_folder.empty() ? "" : candidate_checkpoint(progress_folder, index);
  const auto start = std::chrono::steady_clock::now();  // initialisation (STAs) is part of the fit
  CandidateRun run = start_candidate(population, candidate, checkpoint_path);
  training::Trainer& trainer = *run.trainer;
  auto last_saved = start;
  const auto keep = [&] {
    io::Checkpoint state = trainer.checkpoint();
    state.reals["seconds"] = run.earlier_seconds + seconds_since(start);
    io::save_checkpoint(checkpoint_path, state);
    last_saved = std::chrono::steady_clock::now();
  };
  const auto on_evaluation = [&] {
    if (!checkpoint_path.empty() && seconds_since(last_saved) >= seconds_between_checkpoints) keep();
  };
  std::atomic<bool> never{false};
  const training::Outcome outcome = trainer.run(never, [](const training::Progress&) {}, on_evaluation);
  if (!checkpoint_path.empty()) keep();
  result.seconds += run.earlier_seconds + seconds_since(start);
  if (outcome != training::Outcome::finished) return false;
  const double loss = trainer.best_validation_loss();
  if (loss >= result.validation_loss) return false;
  result.validation_loss = loss;
  result.candidate = index;
  nn::Model& model = trainer.model();
  score_fev(result, model.predict(population.test_images), population);
  result.chosen = candidate.description;
  result.checkpoint = std::make_shared<io::Checkpoint>(trainer.checkpoint());
  const ad::Tensor& weight = model.core().kernels().front().value();  // [K, C, k, k]
  result.kernels = weight.clone().reshaped({weight.shape()[0] * weight.shape()[1], weight.shape()[2], weight.shape()[3]});
  result.features = result.masks = ad::Tensor();
  for (const auto& [name, var] : model.named_parameters()) {
    if (name == "readout.features") result.features = var.value().clone();
    if (name == "readout.mask") result.masks = var.value().clone();
  }
  return true;
}

Result unfitted(const io::Population& population, const std::string& model_name) {
  Result result;
  result.model = model_name;
  result.neurons = population.train.responses.shape()[1];
  result.samples = population.train.responses.shape()[0];
  return result;
}

}  // namespace

Result fit_cnn(const io::Population& population, const std::string& model_name, const std::vector<Candidate>& candidates,
               const std::string& progress_folder) {
  if (!progress_folder.empty()) std::filesystem::create_directories(progress_folder);
  Result result = unfitted(population, model_name);
  for (std::size_t index = 0; index < candidates.size(); ++index) try_candidate(population, candidates[index], index, progress_folder, result);
  return result;
}

float next_strength_factor(const StrengthSearch& search, const Result& result) {
  const std::vector<float>& tried = result.factors_tried;
  // A result that does not say which factors it tried (kept by a version that did not) is taken as final.
  if (search.factors.size() < 2 || tried.empty() || !std::isfinite(result.validation_loss) ||
      tried.size() >= search.factors.size() + search.widen_steps)
    return 0.f;
  const float ratio = search.factors[1] / search.factors[0];
  const auto [weakest, strongest] = std::minmax_element(tried.begin(), tried.end());
  if (result.factor == *weakest) return *weakest / ratio;
  if (result.factor == *strongest) return *strongest * ratio;
  return 0.f;
}

Result fit_strength_search(const io::Population& population, const std::string& model_name, const StrengthSearch& search,
                           const std::string& progress_folder, const Result* earlier) {
  if (!progress_folder.empty()) std::filesystem::create_directories(progress_folder);
  Result result = earlier ? *earlier : unfitted(population, model_name);
  const auto try_factor = [&](float factor) {
    if (try_candidate(population, search.candidate_at(factor), result.factors_tried.size(), progress_folder, result)) result.factor = factor;
    result.factors_tried.push_back(factor);
  };
  if (!earlier)
    for (const float factor : search.factors) try_factor(factor);
  for (float factor = next_strength_factor(search, result); factor > 0.f; factor = next_strength_factor(search, result)) try_factor(factor);
  return result;
}

io::TrainingSplit first_training_images(const io::Recording& recording, std::int64_t images) {
  const std::int64_t available = recording.train.images.shape()[0], validation = recording.validation.images.shape()[0];
  if (images < 2 || images > available) {
    throw std::invalid_argument(recording.origin + ": " + std::to_string(images) + " training images asked for, the train tier has " +
                                std::to_string(available));
  }
  io::Dataset data{ad::concat_rows(ad::slice_rows(recording.train.images, 0, images), recording.validation.images),
                   ad::concat_rows(ad::slice_rows(recording.train.responses, 0, images), recording.validation.responses),
                   recording.cell_motor_coordinates};
  return {std::move(data), static_cast<float>(validation) / static_cast<float>(images + validation)};
}

Result fit_recording(const io::Recording& recording, const io::TrainingSplit& split, const std::string& model_name, const Candidate& candidate) {
  const auto start = std::chrono::steady_clock::now();
  io::Config config = candidate.config;
  config.training.validation_fraction = split.validation_fraction;
  config.training.normalize = true;
  training::Trainer trainer(config, split.data);
  if (candidate.core_from) trainer.transfer_core(*candidate.core_from);
  std::atomic<bool> never{false};
  Result result;
  result.model = model_name;
  result.metric = "correlation_to_average";
  result.neurons = split.data.responses.shape()[1];
  result.samples = split.data.images.shape()[0] - recording.validation.images.shape()[0];
  result.chosen = candidate.description;
  if (trainer.run(never, [](const training::Progress&) {}, [] {}) != training::Outcome::finished) {
    throw std::runtime_error(recording.origin + ": " + model_name + " diverged: " + trainer.divergence());
  }
  const ad::Tensor prediction = trainer.model().predict(recording.test.images);
  result.score = nn::finite_mean(nn::repeat_metrics(prediction, recording.test.responses, recording.test_image_ids).correlation_to_average);
  result.checkpoint = std::make_shared<io::Checkpoint>(trainer.checkpoint());
  result.seconds = seconds_since(start);
  return result;
}

Result fit_factorized_cnn(const io::Population& population, std::int64_t channels, const std::vector<Strengths>& grid,
                          const std::vector<float>& smoothness, std::uint64_t seed, const std::string& progress_folder) {
  std::vector<Candidate> candidates;
  for (const Strengths& strengths : grid)
    candidates.push_back({linear_model_config(channels, strengths.mask_l1, strengths.feature_l1, seed),
                          format_strengths(strengths.mask_l1, strengths.feature_l1), nullptr});
  Result result = fit_cnn(population, "cnn", candidates, progress_folder);
  if (smoothness.empty() || !std::isfinite(result.validation_loss)) return result;
  // With few neurons and few samples the shared kernel fits the noise (10 neurons, 256 samples:
  // test FEV below 0 at every mask strength). The paper's smoothness prior of its V1 model
  // (normalised by the kernel's norm, which batch norm leaves free) is tried at the chosen mask
  // strengths, a search one axis at a time rather than a full grid.
  std::vector<Candidate> smoothed;
  for (const float strength : smoothness) {
    Candidate candidate = candidates[result.candidate];
    candidate.config.model.penalties.smoothness = strength;
    candidate.config.model.penalties.smoothness_normalized = true;
    char text[48];
    std::snprintf(text, sizeof text, ", smoothness %g", static_cast<double>(strength));
    candidate.description += text;
    smoothed.push_back(std::move(candidate));
  }
  Result smooth = fit_cnn(population, "cnn", smoothed, progress_folder.empty() ? "" : progress_folder + "/smoothness");
  Result& best = smooth.validation_loss < result.validation_loss ? smooth : result;
  best.seconds = result.seconds + smooth.seconds;
  return best;
}

io::Config nonlinear_model_config(std::int64_t types, nn::ReadoutKind readout, float factor, std::int64_t neurons, std::uint64_t seed) {
  io::Config config;
  nn::LayerSpec layer;
  layer.kernel = 5;
  layer.nonlinearity = nn::Nonlinearity::relu;
  config.model.core.layers.clear();  // not after the default core's layer
  for (const std::int64_t channels : {std::int64_t{32}, std::int64_t{64}, types}) {
    layer.channels = channels;
    config.model.core.layers.push_back(layer);
  }
  config.model.readout.kind = readout;
  const float strength = factor / static_cast<float>(neurons);
  nn::PenaltyConfig& penalties = config.model.penalties;
  switch (readout) {
    case nn::ReadoutKind::factorized:
      penalties.mask_l1 = penalties.feature_l1 = strength;
      break;
    case nn::ReadoutKind::fixed_mask:
    case nn::ReadoutKind::gaussian:
    case nn::ReadoutKind::retinotopic:
      penalties.feature_l1 = strength;
      break;
    case nn::ReadoutKind::fully_connected:
      // Weight decay 300x the strength: at the factorized readout's strengths it barely acts on
      // 4,096 weights per neuron, and the readout overfits (V1 population, 4,096 samples, 1,000
      // neurons: decay 1e-5, 1e-3, 3e-3, 1e-2 gave validation losses 0.1200, 0.1122, 0.1105,
      // 0.1135; --quick's factor 0.01 is the 3e-3. Measured on a core with an extra first layer,
      // a bug since fixed).
      penalties.readout_l2 = 300.f * strength;
      penalties.activity_l1 = strength;
      break;
  }
  config.training.learning_rate = 1e-3f;
  config.training.batch_size = 64;
  config.training.seed = seed;
  config.training.schedule = {100, 3, 0.1f, 2, 100000};
  return config;
}

Result fit_glm_baseline(const io::Population& population, std::uint64_t seed) {
  const auto start = std::chrono::steady_clock::now();
  const ad::Tensor& images = population.train.images;
  const std::int64_t samples = images.shape()[0], pixels = images.numel() / static_cast<std::size_t>(samples);
  const std::int64_t fit_end = samples - static_cast<std::int64_t>(std::llround(0.2 * static_cast<double>(samples)));
  const ad::Tensor design = images.reshaped({samples, pixels});
  training::GlmOptions options;
  options.seed = seed;
  const training::GlmFit fit =
      training::fit_glm(ad::slice_rows(design, 0, fit_end), ad::slice_rows(population.train.responses, 0, fit_end),
                        ad::slice_rows(design, fit_end, samples), ad::slice_rows(population.train.responses, fit_end, samples),
                        training::GlmOutput::relu, options);
  const ad::Tensor& test = population.test_images;
  Result result;
  result.model = "glm";
  result.neurons = population.train.responses.shape()[1];
  result.samples = samples;
  score_fev(result, training::predict_glm(fit, test.reshaped({test.shape()[0], pixels})), population);
  result.chosen = median_strength(std::vector<double>(fit.strength.begin(), fit.strength.end()));
  result.seconds = seconds_since(start);
  return result;
}

namespace {

// The best score(matching) over every matching of `count` model channels to `count` types
// (matching[type] = channel): a model's channel order is arbitrary.
template <class Score>
double best_over_matchings(std::int64_t count, Score&& score) {
  std::vector<std::int64_t> matching(static_cast<std::size_t>(count));
  std::iota(matching.begin(), matching.end(), 0);
  double best = 0.0;
  do {
    best = std::max(best, score(matching));
  } while (std::next_permutation(matching.begin(), matching.end()));
  return best;
}

// |correlation| of a with b shifted by (dy, dx), over the k x k window (what leaves it is dropped).
double shifted_correlation(const float* a, const float* b, std::int64_t k, std::int64_t dy, std::int64_t dx) {
  double dot = 0.0, norm_a = 0.0, norm_b = 0.0;
  for (std::int64_t y = 0; y < k; ++y)
    for (std::int64_t x = 0; x < k; ++x) {
      norm_a += static_cast<double>(a[y * k + x]) * a[y * k + x];
      const std::int64_t by = y - dy, bx = x - dx;
      if (by < 0 || by >= k || bx < 0 || bx >= k) continue;
      dot += static_cast<double>(a[y * k + x]) * b[by * k + bx];
    }
  for (std::int64_t i = 0; i < k * k; ++i) norm_b += static_cast<double>(b[i]) * b[i];
  return norm_a > 0 && norm_b > 0 ? std::fabs(dot) / std::sqrt(norm_a * norm_b) : 0.0;
}

}  // namespace

double type_accuracy(const ad::Tensor& features, const ad::Tensor& types) {
  const std::int64_t channels = features.shape()[0], neurons = features.shape()[1];
  std::vector<std::int64_t> assigned(static_cast<std::size_t>(neurons));
  for (std::int64_t n = 0; n < neurons; ++n) {
    std::int64_t best = 0;
    for (std::int64_t k = 1; k < channels; ++k)
      if (std::fabs(features.data()[k * neurons + n]) > std::fabs(features.data()[best * neurons + n])) best = k;
    assigned[static_cast<std::size_t>(n)] = best;
  }
  return best_over_matchings(channels, [&](const std::vector<std::int64_t>& channel_of_type) {
    std::int64_t correct = 0;
    for (std::int64_t n = 0; n < neurons; ++n) {
      const auto type = static_cast<std::size_t>(types.data()[n]);
      correct += type < channel_of_type.size() && channel_of_type[type] == assigned[static_cast<std::size_t>(n)];
    }
    return static_cast<double>(correct) / static_cast<double>(neurons);
  });
}

double kernel_similarity(const ad::Tensor& kernels, const ad::Tensor& true_kernels, const ad::Tensor& types,
                         std::int64_t max_shift) {
  const std::int64_t count = kernels.shape()[0], k = kernels.shape()[1], neurons = true_kernels.shape()[0];
  if (true_kernels.shape()[1] != k || true_kernels.shape()[2] != k || kernels.shape()[2] != k)
    throw std::invalid_argument("kernel_similarity: learned kernels " + ad::shape_string(kernels.shape()) + " and true kernels " +
                                ad::shape_string(true_kernels.shape()) + " differ in size");
  std::vector<double> averages(static_cast<std::size_t>(count * k * k), 0.0);
  for (std::int64_t n = 0; n < neurons; ++n) {
    const auto type = static_cast<std::int64_t>(types.data()[n]);
    if (type < 0 || type >= count) continue;
    for (std::int64_t i = 0; i < k * k; ++i) averages[static_cast<std::size_t>(type * k * k + i)] += true_kernels.data()[n * k * k + i];
  }
  const std::vector<float> average_floats(averages.begin(), averages.end());  // the scale does not matter
  // similarity[kernel][type], each at its best shift.
  std::vector<double> similarity(static_cast<std::size_t>(count * count), 0.0);
  for (std::int64_t j = 0; j < count; ++j)
    for (std::int64_t t = 0; t < count; ++t)
      for (std::int64_t dy = -max_shift; dy <= max_shift; ++dy)
        for (std::int64_t dx = -max_shift; dx <= max_shift; ++dx) {
          double& entry = similarity[static_cast<std::size_t>(j * count + t)];
          entry = std::max(entry, shifted_correlation(kernels.data() + j * k * k, average_floats.data() + t * k * k, k, dy, dx));
        }
  return best_over_matchings(count, [&](const std::vector<std::int64_t>& kernel_of_type) {
    double worst = 1.0;
    for (std::int64_t t = 0; t < count; ++t)
      worst = std::min(worst, similarity[static_cast<std::size_t>(kernel_of_type[static_cast<std::size_t>(t)] * count + t)]);
    return worst;
  });
}

double type_clustering_ari(const ad::Tensor& features, const ad::Tensor& types, std::uint64_t seed) {
  std::vector<std::int64_t> truth;
  std::int64_t type_count = 0;
  for (std::size_t i = 0; i < types.numel(); ++i) {
    truth.push_back(std::llround(types.data()[i]));
    type_count = std::max(type_count, truth.back() + 1);
  }
  return nn::adjusted_rand_index(nn::kmeans(nn::feature_barcodes(features), type_count, 10, seed).labels, truth);
}

Result fit_regression(const io::Population& population, const std::string& kind, std::int64_t neurons) {
  const auto start = std::chrono::steady_clock::now();
  const std::int64_t samples = population.train.responses.shape()[0];
  const std::int64_t fit_end = samples - static_cast<std::int64_t>(std::llround(0.2 * static_cast<double>(samples)));
  const std::int64_t size = population.kernels.shape()[1];
  Result result;
  result.model = kind;
  result.neurons = neurons;
  result.samples = samples;
  std::vector<double> fevs, strengths;
  for (std::int64_t n = 0; n < neurons; ++n) {
    const auto row = static_cast<std::int64_t>(population.locations.data()[n * 2]);
    const auto col = static_cast<std::int64_t>(population.locations.data()[n * 2 + 1]);
    const ad::Tensor patches = io::crop_patches(population.train.images, row, col, size);
    const ad::Tensor x = ad::slice_rows(patches, 0, fit_end), x_validation = ad::slice_rows(patches, fit_end, samples);
    const std::vector<float> y = column(population.train.responses, n, 0, fit_end);
    const std::vector<float> y_validation = column(population.train.responses, n, fit_end, samples);
    nn::LinearFit fit;
    if (kind == "ridge") {
      fit = nn::fit_ridge(x, y, x_validation, y_validation, nn::log_spaced(1e-3, 1e3, 25));
    } else if (kind == "lasso") {
      fit = nn::fit_lasso(x, y, x_validation, y_validation, nn::log_spaced(1e-3, 1.0, 16));
    } else if (kind == "ols") {
      fit = nn::fit_ols(ad::slice_rows(patches, 0, samples), column(population.train.responses, n, 0, samples));
    } else {
      throw std::invalid_argument("fit_regression: unknown kind '" + kind + "' (ridge, lasso, ols)");
    }
    const std::vector<double> prediction = nn::predict_linear(fit, io::crop_patches(population.test_images, row, col, size));
    const std::int64_t tests = population.test_truth.shape()[0];
    ad::Tensor predicted({tests, 1}), truth({tests, 1});
    for (std::int64_t b = 0; b < tests; ++b) {
      predicted.data()[b] = static_cast<float>(prediction[static_cast<std::size_t>(b)]);
      truth.data()[b] = population.test_truth.data()[b * population.test_truth.shape()[1] + n];
    }
    fevs.push_back(nn::fev_per_neuron(predicted, truth)[0]);
    if (n == 0) {
      result.kernels = ad::Tensor({1, size, size});
      for (std::size_t j = 0; j < fit.weights.size(); ++j) result.kernels.data()[j] = static_cast<float>(fit.weights[j]);
    }
    strengths.push_back(fit.strength);
  }
  result.score = nn::finite_mean(fevs);
  if (kind != "ols") result.chosen = median_strength(strengths);
  result.seconds = seconds_since(start);
  return result;
}

}  // namespace ww::experiments
