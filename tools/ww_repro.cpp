// ww-repro: the paper's experiments on simulated populations, end to end. Each experiment
// simulates its populations, fits the factorized CNN (strengths by grid search on validation
// loss) and the per-neuron regression baselines, and writes DIR/summary.json with every number
// and PNG figures. `mini` is the paper in miniature (the README's main job).
#include <CLI/CLI.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <numeric>
#include <nlohmann/json.hpp>

#include "io/atomic_file.hpp"
#include "io/figures.hpp"
#include "io/nonlinear_populations.hpp"
#include "io/npy.hpp"
#include "ops/isa.hpp"
#include "ops/parallel.hpp"
#include "tools/cli.hpp"
#include "tools/experiments.hpp"

namespace {

using ww::experiments::Result;

struct Plan {
  bool two_types = false;      // SPEC 4.2 (Fig. 4): K = 2 and feature weights penalised too
  bool cnn = true;             // fit the factorized CNN
  std::vector<std::int64_t> neurons, samples;
  // mask_l1 = factor / N: the loss averages over neurons, so a neuron's share of the penalty
  // stays the same for any population size. With one channel the feature weight is only a scale
  // and is not penalised.
  std::vector<float> strength_factors;
  std::vector<float> smoothness;  // kernel smoothness tried at the chosen strengths (fit_factorized_cnn)
  std::int64_t test_samples = 10000;
  std::vector<std::string> regressions;
  std::int64_t regression_neurons = 20;  // each is fitted alone: more only average more
};

Plan plan_for(const std::string& experiment, bool quick) {
  Plan plan;
  if (experiment == "fig4") {
    plan.two_types = true;
    plan.neurons = {1000};
    plan.samples = {8192};
    // Both penalties at factor / N: with two channels an unpenalised feature weight would let the
    // masks shrink for free; factor 0.1 already shrinks everything to zero (measured).
    plan.strength_factors = quick ? std::vector<float>{0.01f} : std::vector<float>{0.003f, 0.01f, 0.03f};
  } else if (experiment == "mini") {
    plan.neurons = {100};
    plan.samples = {1024};
    plan.strength_factors = {0.1f};
    plan.test_samples = 5000;
    plan.regressions = {"ridge"};
  } else if (quick) {
    plan.neurons = {10, 100, 1000};
    plan.samples = {256, 1024, 4096};
    plan.strength_factors = {0.03f, 0.1f, 0.3f};
    plan.smoothness = {3e-3f};
    plan.regressions = {"ridge", "lasso", "ols"};
  } else {
    plan.neurons = {1, 10, 100, 1000};
    plan.samples = {64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384};
    plan.strength_factors = {0.01f, 0.03f, 0.1f, 0.3f};
    // Up to 1: with 64 samples the validation loss chose the strongest of 1e-3..1e-2 for every N,
    // and 10 neurons' FEV went from -1.83 to -0.31 with 1 (ridge: -0.36).
    plan.smoothness = {1e-3f, 1e-2f, 1e-1f, 1.f};
    plan.regressions = {"ridge", "lasso", "ols"};
    plan.regression_neurons = 50;
  }
  return plan;
}

// Fig. 5 (SPEC 4.3): nonlinear populations, the factorized readout against the fixed mask, the
// fully connected readout and the GLM.
struct NonlinearPlan {
  std::vector<std::int64_t> types, samples;
  std::int64_t units_per_type = 250;
  std::vector<ww::nn::ReadoutKind> readouts{ww::nn::ReadoutKind::factorized, ww::nn::ReadoutKind::fixed_mask,
                                            ww::nn::ReadoutKind::fully_connected};
  bool glm = true;
  std::vector<float> strength_factors;  // penalties = factor / N (see nonlinear_model_config)
  // The factorized readout's; the fixed mask is the STA's peak by definition (Batty et al.).
  ww::nn::LocationInit location_init = ww::nn::LocationInit::sta;
  std::int64_t test_samples = 4096;
  // The paper's schedule; --quick evaluates twice as often, waits 2 evaluations, decays once and
  // stops after 800 steps (the validation loss gains most of its way by then: measured on the
  // V1 population at 4,096 samples), so its FEVs are slight underestimates.
  ww::optim::ScheduleConfig schedule{100, 3, 0.1f, 2, 100000};
};

NonlinearPlan nonlinear_plan_for(const std::string& experiment, bool quick) {
  NonlinearPlan plan;
  plan.strength_factors = quick ? std::vector<float>{0.01f} : std::vector<float>{0.003f, 0.01f, 0.03f};
  if (quick) {
    plan.test_samples = 2048;
    plan.schedule = {50, 2, 0.1f, 1, 800};
  }
  if (experiment == "fig5e") {
    plan.types = {4, 8, 16};
    plan.units_per_type = 64;
    plan.samples = {4096};
    plan.glm = false;
    // Fig. 5e's claim compares the factorized and the fully connected readout; --quick leaves
    // the fixed mask to the full run and stops each fit at 600 steps to stay within 15 minutes
    // (six fits of 800 steps took 16 min).
    if (quick) {
      plan.readouts = {ww::nn::ReadoutKind::factorized, ww::nn::ReadoutKind::fully_connected};
      plan.schedule.max_steps = 600;
    }
  } else {
    plan.types = {4};
    plan.samples = quick ? std::vector<std::int64_t>{1024, 4096} : std::vector<std::int64_t>{512, 1024, 2048, 4096, 8192, 16384};
  }
  return plan;
}

std::string readout_model_name(ww::nn::ReadoutKind kind) {
  switch (kind) {
    case ww::nn::ReadoutKind::factorized: return "cnn";
    case ww::nn::ReadoutKind::fixed_mask: return "fixed_mask";
    case ww::nn::ReadoutKind::fully_connected: return "fully_connected";
    case ww::nn::ReadoutKind::gaussian: return "gaussian";
    case ww::nn::ReadoutKind::retinotopic: return "retinotopic";
  }
  return "?";
}

// The factorized CNN's first-layer kernels, one example neuron's location mask per type, and
// every neuron's feature-weight barcode, grouped and coloured by true type.
void write_nonlinear_figures(const std::string& out, const Result& cnn, const ww::io::Population& p, std::vector<std::string>& written) {
  const std::string kernels = out + "/kernels.png";
  ww::io::write_tile_grid_png(kernels, cnn.kernels, 8, 8);
  written.push_back(kernels);
  const std::int64_t neurons = p.types.shape()[0], types = cnn.features.shape()[0];
  const std::int64_t pixels = cnn.masks.shape()[1], side = static_cast<std::int64_t>(std::lround(std::sqrt(static_cast<double>(pixels))));
  ww::ad::Tensor masks = ww::ad::Tensor::zeros({types, side, side});
  for (std::int64_t t = 0, n = 0; t < types && n < neurons; ++t) {
    while (n < neurons && static_cast<std::int64_t>(p.types.data()[n]) != t) ++n;
    if (n < neurons) std::copy_n(cnn.masks.data() + n * pixels, pixels, masks.data() + t * side * side);
  }
  const std::string mask_file = out + "/masks.png";
  ww::io::write_tile_grid_png(mask_file, masks, static_cast<int>(types), 4);
  written.push_back(mask_file);
  const std::string weight_file = out + "/feature_weights.png";
  ww::io::write_barcodes_png(weight_file, cnn.features, p.types,
                             "|feature weights| per neuron (white: its largest), grouped by true type (colour)");
  written.push_back(weight_file);
}

nlohmann::json to_json(const Result& r) {
  nlohmann::json j = {{"model", r.model}, {"neurons", r.neurons}, {"samples", r.samples}, {r.metric, r.score}, {"seconds", r.seconds},
                      {"chosen", r.chosen}};
  if (!r.score_by_type.empty()) j[r.metric + "_by_type"] = r.score_by_type;
  if (std::isfinite(r.validation_loss)) j["validation_loss"] = r.validation_loss;
  if (!r.factors_tried.empty()) {
    j["factor"] = r.factor;
    j["factors_tried"] = r.factors_tried;
  }
  if (r.type_accuracy >= 0) j["type_accuracy"] = r.type_accuracy;
  if (r.type_ari >= -1) j["type_ari"] = r.type_ari;
  if (r.kernel_similarity >= 0) j["kernel_similarity"] = r.kernel_similarity;
  if (r.kernels.defined() || r.features.defined() || r.masks.defined()) j["tensors"] = true;  // kept in fits/
  return j;
}

// What a run has finished, kept in DIR as each fit ends: summary.json (marked unfinished) and each
// fit's tensors in DIR/fits/; a search in progress keeps its candidates' training state in
// DIR/fits/<fit>.in-progress/. Full grids run for hours: --resume takes the kept fits back instead
// of refitting them and continues the search in progress from its last checkpoint.
class KeptResults {
 public:
  // `run` names what makes results comparable (experiment, --quick, seed, ...); --resume requires
  // the kept summary's to be the same.
  KeptResults(std::string out, nlohmann::json run, bool resume)
      : out_(std::move(out)), run_(std::move(run)), resume_(resume), start_(std::chrono::steady_clock::now()) {
    if (resume_) load();
  }

  // The kept result of `model` with `neurons` and `samples`, or else fit(progress folder)'s, kept:
  // a search keeps its candidates' training state in that folder (experiments::fit_cnn) until
  // its result is kept. A kept result that `unfinished` says its search would go on from (kept
  // by a version that searched less) is handed to fit(progress folder, kept result) to finish.
  using Fit = std::function<Result(const std::string& progress, const Result* kept)>;
  Result obtain(const std::string& model, std::int64_t neurons, std::int64_t samples, const Fit& fit,
                const std::function<bool(const Result&)>& unfinished = {}) {
    const auto kept = earlier_.find(key(model, neurons, samples));
    if (kept != earlier_.end() && !(unfinished && unfinished(kept->second))) {
      print(kept->second, " [kept]");
      results_.push_back(std::move(kept->second));
      earlier_.erase(kept);
      return results_.back();
    }
    const std::string progress = fit_file(model, neurons, samples, ".in-progress");
    if (!resume_) std::filesystem::remove_all(progress);  // a fresh run fits afresh
    if (kept == earlier_.end()) {
      add(fit(progress, nullptr));
    } else {
      // The kept result stays in the summary until the search it goes on with has finished.
      print(kept->second, " [kept, its search goes on]");
      Result finished = fit(progress, &kept->second);
      earlier_.erase(kept);
      add(std::move(finished));
    }
    std::filesystem::remove_all(progress);
    return results_.back();
  }

  // Prints a result as it arrives (fits take minutes) and keeps it.
  void add(Result r) {
    print(r, "");
    std::vector<std::pair<std::string, ww::ad::Tensor>> tensors;
    for (const auto& [name, tensor] : tensor_fields(r))
      if (tensor->defined()) tensors.emplace_back(name, *tensor);
    if (!tensors.empty()) {
      std::filesystem::create_directories(out_ + "/fits");
      ww::io::write_npz(fit_file(r.model, r.neurons, r.samples, ".npz"), tensors);
    }
    results_.push_back(std::move(r));
    save(false, {});
  }

  const std::vector<Result>& all() const { return results_; }

  // The finished summary: this run's results, then kept ones outside this run's grid.
  void finish(const std::vector<std::string>& figures) {
    for (auto& [k, r] : earlier_) results_.push_back(std::move(r));
    earlier_.clear();
    save(true, figures);
  }

  double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }

 private:
  // A result's tensors as they are named in its fits/ file.
  static std::array<std::pair<const char*, ww::ad::Tensor*>, 3> tensor_fields(Result& r) {
    return {{{"kernels", &r.kernels}, {"features", &r.features}, {"masks", &r.masks}}};
  }

  static std::string key(const std::string& model, std::int64_t neurons, std::int64_t samples) {
    return model + "/" + std::to_string(neurons) + "/" + std::to_string(samples);
  }

  // A fit's file (or folder) in DIR/fits/, named by its model, neuron count and samples.
  std::string fit_file(std::string model, std::int64_t neurons, std::int64_t samples, const char* suffix) const {
    for (char& c : model)
      if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
    return out_ + "/fits/" + model + "-N" + std::to_string(neurons) + "-D" + std::to_string(samples) + suffix;
  }

  static void print(const Result& r, const char* note) {
    std::printf("  %-15s N=%-5lld D=%-6lld %s %6.3f  (%s) %.1f s", r.model.c_str(), static_cast<long long>(r.neurons),
                static_cast<long long>(r.samples), r.metric == "fev" ? "FEV" : r.metric.c_str(), r.score, r.chosen.c_str(), r.seconds);
    if (!r.score_by_type.empty()) {
      std::printf("; by type");
      for (const double score : r.score_by_type) std::printf(" %.3f", score);
    }
    if (r.type_accuracy >= 0) std::printf("; %.1f%% of cells typed right by their largest feature weight", 100 * r.type_accuracy);
    if (r.type_ari >= -1) std::printf("; k-means of the barcodes: ARI %.3f", r.type_ari);
    if (r.kernel_similarity >= 0) std::printf("; kernels vs the types' averages: correlation %.3f", r.kernel_similarity);
    std::printf("%s\n", note);
  }

  void save(bool finished, const std::vector<std::string>& figures) const {
    nlohmann::json summary = run_;
    double fit_seconds = 0.0;
    summary["results"] = nlohmann::json::array();
    // Kept results this run has not reached yet are kept too: a run cut off must not lose them.
    const auto write = [&](const Result& r) {
      summary["results"].push_back(to_json(r));
      fit_seconds += r.seconds;
    };
    for (const Result& r : results_) write(r);
    for (const auto& [key, r] : earlier_) write(r);
    summary["finished"] = finished;
    summary["threads"] = ww::ops::num_threads();
    summary["seconds"] = seconds();
    summary["fit_seconds"] = fit_seconds;  // every result's, kept ones' included: the grid's cost
    summary["figures"] = figures;
    ww::io::write_file_atomically(out_ + "/summary.json", summary.dump(2) + "\n");
  }

  // The results (and tensors) of an earlier run of the same experiment in this folder.
  void load() {
    const std::string path = out_ + "/summary.json";
    if (!std::filesystem::exists(path)) {
      std::printf("--resume: no %s yet, starting from the beginning\n", path.c_str());
      return;
    }
    std::ifstream in(path);
    const nlohmann::json kept = nlohmann::json::parse(in, nullptr, false);
    if (kept.is_discarded() || !kept.is_object() || !kept.contains("results") || !kept["results"].is_array())
      throw std::runtime_error(path + ": not a ww-repro summary (expected a JSON object with a 'results' list)");
    for (const auto& [field, value] : run_.items()) {
      if (kept.value(field, nlohmann::json()) != value)
        throw std::runtime_error(path + ": field '" + field + "' is " + kept.value(field, nlohmann::json()).dump() + ", this run's is " +
                                 value.dump() + " (--resume continues the same experiment; choose another --out)");
    }
    for (const nlohmann::json& j : kept["results"]) {
      try {
        Result r;
        r.model = j.at("model").get<std::string>();
        r.neurons = j.at("neurons").get<std::int64_t>();
        r.samples = j.at("samples").get<std::int64_t>();
        r.metric = j.contains("fev") ? "fev" : "correlation_to_average";
        r.score = j.at(r.metric).get<double>();
        for (const nlohmann::json& type_score : j.value(r.metric + "_by_type", nlohmann::json::array()))  // JSON writes NaN as null
          r.score_by_type.push_back(type_score.is_number() ? type_score.get<double>() : std::nan(""));
        r.seconds = j.at("seconds").get<double>();
        r.chosen = j.at("chosen").get<std::string>();
        r.validation_loss = j.value("validation_loss", r.validation_loss);
        r.factor = j.value("factor", r.factor);
        r.factors_tried = j.value("factors_tried", r.factors_tried);
        r.type_accuracy = j.value("type_accuracy", r.type_accuracy);
        r.type_ari = j.value("type_ari", r.type_ari);
        r.kernel_similarity = j.value("kernel_similarity", r.kernel_similarity);
        if (j.value("tensors", false)) {
          const std::string tensors = fit_file(r.model, r.neurons, r.samples, ".npz");
          if (!std::filesystem::exists(tensors)) {
            // The figures need them: fit it again rather than draw it without.
            std::printf("--resume: %s is missing, so %s N=%lld D=%lld is fitted again\n", tensors.c_str(), r.model.c_str(),
                        static_cast<long long>(r.neurons), static_cast<long long>(r.samples));
            continue;
          }
          std::map<std::string, ww::io::NpyArray> arrays = ww::io::read_npz(tensors);
          for (const auto& [name, tensor] : tensor_fields(r))
            if (arrays.count(name)) *tensor = arrays.at(name).to_tensor();
        }
        earlier_.emplace(key(r.model, r.neurons, r.samples), std::move(r));
      } catch (const nlohmann::json::exception& e) {
        throw std::runtime_error(path + ": result " + j.dump() + " lacks a field or has the wrong type (" + e.what() + ")");
      }
    }
    std::printf("--resume: %zu results kept in %s\n", earlier_.size(), path.c_str());
  }

  std::string out_;
  nlohmann::json run_;
  bool resume_;
  std::chrono::steady_clock::time_point start_;
  std::vector<Result> results_;
  std::map<std::string, Result> earlier_;  // kept by an earlier run and not yet taken back
};

// Fig. 4: the two learned kernels beside each type's average true kernel, and each neuron's two
// feature weights coloured by its true type.
void write_type_figures(const std::string& out, const Result& cnn, const ww::io::Population& p, std::vector<std::string>& written) {
  const std::int64_t size = p.kernels.shape()[1], neurons = p.kernels.shape()[0];
  ww::ad::Tensor tiles = ww::ad::Tensor::zeros({4, size, size});
  std::copy_n(cnn.kernels.data(), std::min<std::size_t>(cnn.kernels.numel(), 2 * size * size), tiles.data());
  for (std::int64_t n = 0; n < neurons; ++n) {
    const auto type = static_cast<std::int64_t>(p.types.data()[n]);
    for (std::int64_t i = 0; i < size * size; ++i) tiles.data()[(2 + type) * size * size + i] += p.kernels.data()[n * size * size + i];
  }
  const std::string kernels = out + "/kernels.png";
  ww::io::write_tile_grid_png(kernels, tiles, 4, 6);
  written.push_back(kernels);
  std::vector<ww::io::Series> series(2);
  double largest = 0.0;
  for (std::int64_t n = 0; n < neurons; ++n) {
    ww::io::Series& s = series[static_cast<std::size_t>(p.types.data()[n])];
    s.x.push_back(std::fabs(cnn.features.data()[n]));
    s.y.push_back(std::fabs(cnn.features.data()[neurons + n]));
    largest = std::max({largest, s.x.back(), s.y.back()});
  }
  series[0].label = "small RF";
  series[1].label = "large RF";
  series[0].colour = ww::io::palette(0);
  series[1].colour = ww::io::palette(1);
  const std::string scatter = out + "/feature_weights.png";
  ww::io::write_scatter_png(scatter, series, {"fig4: feature weights by true type", "|w channel 1|", "|w channel 2|", false, 0.0, largest},
                            0.0, largest);
  written.push_back(scatter);
}

// One line per name(result) of FEV against x(result), in order of first appearance.
template <class Name, class X>
std::vector<ww::io::Series> fev_lines(const std::vector<Result>& results, Name name, X x) {
  std::map<std::string, ww::io::Series> by_name;
  std::vector<std::string> order;
  for (const Result& r : results) {
    const std::string label = name(r);
    if (!by_name.count(label)) order.push_back(label);
    ww::io::Series& s = by_name[label];
    s.label = label;
    s.x.push_back(x(r));
    s.y.push_back(r.score);
  }
  std::vector<ww::io::Series> series;
  for (std::size_t i = 0; i < order.size(); ++i) {
    // In order of x: kept results of a resumed run may come after the run's own.
    const ww::io::Series& unsorted = by_name[order[i]];
    std::vector<std::size_t> by_x(unsorted.x.size());
    std::iota(by_x.begin(), by_x.end(), std::size_t{0});
    std::stable_sort(by_x.begin(), by_x.end(), [&](std::size_t a, std::size_t b) { return unsorted.x[a] < unsorted.x[b]; });
    ww::io::Series s{unsorted.label, {}, {}, ww::io::palette(i)};
    for (const std::size_t j : by_x) {
      s.x.push_back(unsorted.x[j]);
      s.y.push_back(unsorted.y[j]);
    }
    series.push_back(std::move(s));
  }
  return series;
}

double samples_of(const Result& r) { return static_cast<double>(r.samples); }

void write_fev_vs_samples(const std::string& out, const std::string& experiment, const std::vector<ww::io::Series>& series,
                          std::vector<std::string>& written) {
  const std::string plot = out + "/fev_vs_samples.png";
  ww::io::write_line_plot_png(plot, series, {experiment + ": FEV vs training samples (below 0 drawn at 0)", "samples", "FEV", true, 0.0, 1.0});
  written.push_back(plot);
}

void write_figures(const std::string& out, const std::string& experiment, const std::vector<Result>& results,
                   const ww::io::Population& largest, const Plan& plan, std::vector<std::string>& written) {
  if (plan.samples.size() > 1) {
    const auto name = [](const Result& r) { return r.model == "cnn" ? "CNN " + std::to_string(r.neurons) : r.model; };
    write_fev_vs_samples(out, experiment, fev_lines(results, name, samples_of), written);
  }
  // Row 1: the true kernel, then the CNN's (largest population) per sample size; row 2: ridge's
  // weights for one neuron per sample size.
  const std::int64_t size = largest.kernels.shape()[1], columns = 1 + static_cast<std::int64_t>(plan.samples.size());
  ww::ad::Tensor tiles = ww::ad::Tensor::zeros({2 * columns, size, size});
  std::copy_n(largest.kernels.data(), size * size, tiles.data());
  for (const Result& r : results) {
    const auto at = std::find(plan.samples.begin(), plan.samples.end(), r.samples) - plan.samples.begin();
    const bool top = r.model == "cnn" && r.neurons == plan.neurons.back();
    if ((top || r.model == "ridge") && r.kernels.numel() >= static_cast<std::size_t>(size * size)) {
      std::copy_n(r.kernels.data(), size * size, tiles.data() + ((top ? 0 : columns) + 1 + at) * size * size);
    }
  }
  const std::string kernels = out + "/kernels.png";
  ww::io::write_tile_grid_png(kernels, tiles, static_cast<int>(columns), 6);
  written.push_back(kernels);
}

// The factorized CNN of a linear population, its mask (and, with two types, feature) strengths
// factor / N.
Result fit_linear_cnn(const Plan& plan, const ww::io::Population& p, std::uint64_t seed, const std::string& progress_folder) {
  const std::int64_t neurons = p.train.responses.shape()[1];
  std::vector<ww::experiments::Strengths> grid;
  for (const float factor : plan.strength_factors) {
    const float strength = factor / static_cast<float>(neurons);
    grid.push_back({strength, plan.two_types ? strength : 0.f});
  }
  Result cnn = ww::experiments::fit_factorized_cnn(p, plan.two_types ? 2 : 1, grid, plan.smoothness, seed, progress_folder);
  if (plan.two_types) {
    cnn.type_accuracy = ww::experiments::type_accuracy(cnn.features, p.types);
    cnn.type_ari = ww::experiments::type_clustering_ari(cnn.features, p.types, seed);
    cnn.kernel_similarity = ww::experiments::kernel_similarity(cnn.kernels, p.kernels, p.types);
  }
  return cnn;
}

void run_linear(const std::string& experiment, const Plan& plan, std::uint64_t seed, const std::string& out,
                KeptResults& results, std::vector<std::string>& figures) {
  ww::io::Population largest;
  for (const std::int64_t samples : plan.samples) {
    for (const std::int64_t neurons : plan.neurons) {
      ww::io::PopulationConfig population;
      population.neurons = neurons;
      population.train_samples = samples;
      population.test_samples = plan.test_samples;
      population.seed = seed;
      population.two_types = plan.two_types;
      ww::io::Population p = ww::io::make_population(population);
      if (plan.cnn) results.obtain("cnn", neurons, samples, [&](const std::string& progress, const Result*) { return fit_linear_cnn(plan, p, seed, progress); });
      if (neurons != plan.neurons.back()) continue;
      for (const std::string& kind : plan.regressions) {
        const std::int64_t fitted = std::min(neurons, plan.regression_neurons);
        results.obtain(kind, fitted, samples, [&](const std::string&, const Result*) { return ww::experiments::fit_regression(p, kind, fitted); });
      }
      largest = std::move(p);
    }
  }
  if (plan.two_types) {
    if (!results.all().empty()) write_type_figures(out, results.all().front(), largest, figures);
  } else {
    write_figures(out, experiment, results.all(), largest, plan, figures);
  }
}

void run_nonlinear(const std::string& experiment, const NonlinearPlan& plan, const std::string& teacher, const std::string& photos,
                   std::uint64_t seed, const std::string& out, KeptResults& results, std::vector<std::string>& figures) {
  Result last_cnn;
  ww::io::Population last_population;
  for (const std::int64_t types : plan.types) {
    for (const std::int64_t samples : plan.samples) {
      ww::io::NonlinearPopulationConfig config;
      config.teacher = teacher == "v1" ? ww::io::Teacher::v1 : ww::io::Teacher::random_cnn;
      config.types = types;
      config.units_per_type = plan.units_per_type;
      config.train_samples = samples;
      config.test_samples = plan.test_samples;
      config.photos = photos;
      config.seed = seed;
      ww::io::Population p = ww::io::make_nonlinear_population(config);
      const std::int64_t neurons = types * plan.units_per_type;
      for (const ww::nn::ReadoutKind readout : plan.readouts) {
        ww::experiments::StrengthSearch search;
        search.factors = plan.strength_factors;
        search.candidate_at = [&](float factor) {
          char description[48];
          std::snprintf(description, sizeof description, "penalties %g / N", static_cast<double>(factor));
          ww::io::Config model = ww::experiments::nonlinear_model_config(types, readout, factor, neurons, seed);
          model.training.schedule = plan.schedule;
          if (readout == ww::nn::ReadoutKind::factorized) model.model.readout.location_init = plan.location_init;
          return ww::experiments::Candidate{model, description, nullptr};
        };
        const auto fit = [&](const std::string& progress, const Result* kept) {
          Result fitted = ww::experiments::fit_strength_search(p, readout_model_name(readout), search, progress, kept);
          // Matching channels to types tries every permutation: affordable up to 8 types.
          if (fitted.features.defined() && types <= 8) fitted.type_accuracy = ww::experiments::type_accuracy(fitted.features, p.types);
          if (fitted.features.defined()) fitted.type_ari = ww::experiments::type_clustering_ari(fitted.features, p.types, seed);
          return fitted;
        };
        const Result r = results.obtain(readout_model_name(readout), neurons, samples, fit, [&](const Result& kept) {
          return ww::experiments::next_strength_factor(search, kept) > 0.f;
        });
        if (readout == ww::nn::ReadoutKind::factorized) last_cnn = r;
      }
      if (plan.glm) results.obtain("glm", neurons, samples, [&](const std::string&, const Result*) { return ww::experiments::fit_glm_baseline(p, seed); });
      last_population = std::move(p);
    }
  }
  if (plan.samples.size() > 1) write_fev_vs_samples(out, experiment, fev_lines(results.all(), [](const Result& r) { return r.model; }, samples_of), figures);
  if (plan.types.size() > 1) {
    const std::string plot = out + "/fev_vs_types.png";
    const auto types_of = [&](const Result& r) { return static_cast<double>(r.neurons / plan.units_per_type); };
    ww::io::write_line_plot_png(plot, fev_lines(results.all(), [](const Result& r) { return r.model; }, types_of),
                                {experiment + ": FEV vs cell types at " + std::to_string(plan.samples.back()) + " samples", "cell types", "FEV", true, 0.0, 1.0});
    figures.push_back(plot);
  }
  if (last_cnn.masks.defined()) write_nonlinear_figures(out, last_cnn, last_population, figures);
}

// Score against training images per readout, a line per model (sources left out).
void plot_efficiency(const std::vector<Result>& results, const std::string& metric, const std::string& source, const std::string& plot,
                     std::vector<std::string>& figures) {
  std::vector<Result> curves;
  for (const Result& r : results)
    if (r.model.find("source") == std::string::npos) curves.push_back(r);
  ww::io::write_line_plot_png(plot, fev_lines(curves, [](const Result& r) { return r.model; }, samples_of),
                              {"efficiency: " + metric + " vs images (+core: " + source + ")", "images", metric, true, 0.0, 1.0});
  figures.push_back(plot);
}

// Data efficiency (issue 7): a core fitted to one population, frozen and transferred to another
// population of the same cell type, against training there from scratch, for growing numbers of
// images, with the factorized and the Gaussian readout (each transferring a core fitted with it).
void run_efficiency(bool quick, std::uint64_t seed, const std::string& out, KeptResults& results, std::vector<std::string>& figures) {
  constexpr std::int64_t neurons = 100;
  const float mask_l1 = 0.1f / static_cast<float>(neurons);
  ww::io::PopulationConfig source_population;
  source_population.neurons = neurons;
  source_population.train_samples = 2048;
  source_population.test_samples = 2000;
  source_population.seed = seed;
  const ww::io::Population source = ww::io::make_population(source_population);
  const std::vector<std::int64_t> samples = quick ? std::vector<std::int64_t>{128, 512} : std::vector<std::int64_t>{64, 128, 256, 512, 1024};
  for (const ww::nn::ReadoutKind readout : {ww::nn::ReadoutKind::factorized, ww::nn::ReadoutKind::gaussian}) {
    ww::io::Config config = ww::experiments::linear_model_config(1, mask_l1, 0.f, seed);
    config.model.readout.kind = readout;
    // Both readouts get the least-squares location search; the Gaussian one the step size and
    // initial width of configs/gaussian.json (with the linear model's it reached FEV 0.07 at 512 images).
    config.training.search_locations = true;
    if (readout == ww::nn::ReadoutKind::gaussian) {
      config.training.learning_rate = 0.005f;
      config.model.readout.init_sigma = 0.3f;
    }
    const std::string kind = readout_model_name(readout) == "cnn" ? "factorized" : "gaussian";
    const Result core = ww::experiments::fit_cnn(source, kind + " source", {{config, "2048 images", nullptr}});
    results.add(core);
    for (const std::int64_t d : samples) {
      ww::io::PopulationConfig target = source_population;
      target.train_samples = d;
      target.seed = seed + 1;  // other neurons at other places, the same cell type
      const ww::io::Population p = ww::io::make_population(target);
      config.training.freeze_core = false;
      results.add(ww::experiments::fit_cnn(p, kind, {{config, "from scratch", nullptr}}));
      config.training.freeze_core = true;
      results.add(ww::experiments::fit_cnn(p, kind + "+core", {{config, "frozen source core", core.checkpoint}}));
    }
  }
  plot_efficiency(results.all(), "FEV", "frozen core of a 2048-image source", out + "/fev_vs_images.png", figures);
}

// Data efficiency on two recordings: the configured model trained on all of `source_path`, its
// core frozen and transferred to growing numbers of `target_path`'s training images, against
// training there from scratch; factorized and Gaussian readouts; scored by the test correlation
// to the average over repeats.
void run_efficiency_on_recordings(const std::string& source_path, const std::string& target_path, const ww::io::Config& base, bool quick,
                                  const std::string& out, KeptResults& results, std::vector<std::string>& figures) {
  const ww::io::Recording source = ww::io::load_recording(source_path), target = ww::io::load_recording(target_path);
  const std::int64_t available = target.train.images.shape()[0];
  std::vector<std::int64_t> images;
  for (const std::int64_t share : quick ? std::vector<std::int64_t>{4, 1} : std::vector<std::int64_t>{16, 8, 4, 2, 1})
    if (available / share >= 2) images.push_back(available / share);
  for (const ww::nn::ReadoutKind readout : {ww::nn::ReadoutKind::factorized, ww::nn::ReadoutKind::gaussian}) {
    ww::io::Config config = base;
    config.model.readout.kind = readout;
    const std::string kind = readout_model_name(readout) == "cnn" ? "factorized" : "gaussian";
    Result core = ww::experiments::fit_recording(source, ww::io::training_split(source), kind + " source", {config, "all images", nullptr});
    results.add(core);
    for (const std::int64_t d : images) {
      const ww::io::TrainingSplit split = ww::experiments::first_training_images(target, d);
      config.training.freeze_core = false;
      results.add(ww::experiments::fit_recording(target, split, kind, {config, "from scratch", nullptr}));
      config.training.freeze_core = true;
      results.add(ww::experiments::fit_recording(target, split, kind + "+core", {config, "frozen source core", core.checkpoint}));
    }
  }
  plot_efficiency(results.all(), "test correlation", "frozen core of " + ww::io::recording_name(source_path), out + "/correlation_vs_images.png",
                  figures);
}

bool named(const std::vector<std::string>& models, const std::string& name) {
  return std::find(models.begin(), models.end(), name) != models.end();
}

// --models: a name the experiment does not fit is an error naming the ones it does.
void check_model_names(const std::vector<std::string>& models, const std::vector<std::string>& known) {
  for (const std::string& name : models) {
    if (named(known, name)) continue;
    std::string list;
    for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
    throw std::invalid_argument("--models: '" + name + "' is not a model of this experiment (" + list + ")");
  }
}

// --models: keeps the plan's models named in `models`.
void select_models(const std::vector<std::string>& models, Plan& plan) {
  std::vector<std::string> known{"cnn"};
  known.insert(known.end(), plan.regressions.begin(), plan.regressions.end());
  check_model_names(models, known);
  plan.cnn = named(models, "cnn");
  const auto unnamed = [&](const std::string& kind) { return !named(models, kind); };
  plan.regressions.erase(std::remove_if(plan.regressions.begin(), plan.regressions.end(), unnamed), plan.regressions.end());
}

void select_models(const std::vector<std::string>& models, NonlinearPlan& plan) {
  std::vector<std::string> known;
  for (const ww::nn::ReadoutKind kind : plan.readouts) known.push_back(readout_model_name(kind));
  if (plan.glm) known.push_back("glm");
  check_model_names(models, known);
  const auto unnamed = [&](ww::nn::ReadoutKind kind) { return !named(models, readout_model_name(kind)); };
  plan.readouts.erase(std::remove_if(plan.readouts.begin(), plan.readouts.end(), unnamed), plan.readouts.end());
  plan.glm = plan.glm && named(models, "glm");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ww-repro: the paper's simulations, fitted and plotted (summary.json + PNG figures)"};
  std::string experiment = "mini", out;
  bool quick = false;
  int threads = 0;
  std::uint64_t seed = 1;
  app.add_option("experiment", experiment,
                 "mini (the paper in miniature, ~1 min), fig3 (linear population, Fig. 3), fig4 (two cell types, Fig. 4), "
                 "fig5b (nonlinear population: FEV vs samples, Fig. 5B), fig5e (4/8/16 cell types, Fig. 5E) or "
                 "efficiency (a transferred core against training from scratch)")
      ->check(CLI::IsMember({"mini", "fig3", "fig4", "fig5b", "fig5e", "efficiency"}));
  app.add_option("--out", out, "output folder (default results/<experiment>)");
  app.add_flag("--quick", quick, "a smaller grid (fig3: N 10/100/1000 x 256/1024/4096 samples, < 15 min on 2 cores)");
  app.add_option("--seed", seed, "populations and training seed");
  std::string teacher = "v1", photos;
  app.add_option("--teacher", teacher, "fig5b, fig5e: v1 (Gabor simple and complex cells) or random-cnn")
      ->check(CLI::IsMember({"v1", "random-cnn"}));
  app.add_option("--photos", photos, "fig5b, fig5e: folder of photographs to crop (default: dead-leaves images)");
  std::string location_init_name = "sta";
  std::vector<std::string> location_init_names;
  for (const auto& choice : ww::nn::location_init_names) location_init_names.emplace_back(choice.name);
  app.add_option("--location-init", location_init_name,
                 "fig5b, fig5e: where the factorized readout starts each neuron: sta (the paper's: its smoothed STA's peak) or "
                 "sta_and_energy (where its STA and its contrast energy map stand out most together, which places complex cells)")
      ->check(CLI::IsMember(location_init_names));
  std::vector<std::string> recordings;
  std::string config_path;
  app.add_option("--data", recordings,
                 "efficiency: two recordings (as ww-train --data), the source of the core and the target, instead of simulated populations")
      ->check(CLI::ExistingPath);
  app.add_option("--config", config_path, "efficiency --data: the model and training configuration (default: ww-train's defaults)")
      ->check(CLI::ExistingFile);
  app.add_option("--threads", threads, "worker threads (0: all cores)")->check(CLI::NonNegativeNumber);
  std::vector<std::int64_t> samples;
  std::vector<std::string> models;
  app.add_option("--samples", samples, "training sample sizes instead of the experiment's (e.g. one point of a full grid)")
      ->check(CLI::Range(std::int64_t{8}, std::int64_t{1} << 24));
  std::vector<std::int64_t> types;
  app.add_option("--types", types, "fig5b, fig5e: numbers of cell types instead of the experiment's (e.g. one point of fig5e)")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{64}));
  app.add_option("--models", models,
                 "fit only these models: fig3, fig4, mini: cnn ridge lasso ols; fig5b, fig5e: cnn fixed_mask fully_connected glm");
  bool resume = false;
  app.add_flag("--resume", resume,
               "take back the fits an earlier, interrupted run of the same experiment kept in --out (its summary.json and fits/) "
               "instead of fitting them again");
  CLI11_PARSE(app, argc, argv);
  if (out.empty()) out = "results/" + experiment;
  if (!recordings.empty() && (experiment != "efficiency" || recordings.size() != 2)) {
    std::fprintf(stderr, "ww-repro: --data takes two recordings (source, target), for the efficiency experiment only\n");
    return int{ww::tools::bad_input};
  }
  if ((!types.empty() || location_init_name != "sta") && experiment != "fig5b" && experiment != "fig5e") {
    std::fprintf(stderr, "ww-repro: --types and --location-init are for fig5b and fig5e\n");
    return int{ww::tools::bad_input};
  }
  if (experiment == "efficiency" && !(samples.empty() && models.empty() && !resume)) {
    std::fprintf(stderr, "ww-repro: --samples, --models and --resume are for fig3, fig4, fig5b, fig5e and mini, not for efficiency\n");
    return int{ww::tools::bad_input};
  }

  return ww::tools::run_tool("ww-repro", [&] {
    ww::ops::set_num_threads(threads);
    std::filesystem::create_directories(out);
    const bool nonlinear = experiment == "fig5b" || experiment == "fig5e";
    const char* population_kind = nonlinear ? (teacher == "v1" ? "V1-like nonlinear population (SPEC 4.3)" : "random-CNN nonlinear population (SPEC 4.3)")
                                  : experiment == "fig4"       ? "two-type DoG population (SPEC 4.2)"
                                  : experiment == "efficiency" ? (recordings.empty() ? "two linear DoG populations of one cell type" : "two recordings")
                                                               : "linear DoG population (SPEC 4.1)";
    std::printf("ww-repro %s%s: %s, %s, %d threads, results in %s\n", experiment.c_str(), quick ? " --quick" : "", population_kind,
                ww::ops::isa_name(ww::ops::current_isa()), ww::ops::num_threads(), out.c_str());
    // --samples, --types and --models only choose points: a kept point is the same fit whichever run made it.
    nlohmann::json run = {{"experiment", experiment}, {"quick", quick}, {"seed", seed}, {"teacher", teacher}, {"photos", photos}};
    // Named only when it is not the paper's, so that runs kept before the option resume as they were.
    if (location_init_name != "sta") run["location_init"] = location_init_name;
    KeptResults results(out, run, resume);
    std::vector<std::string> figures;
    if (nonlinear) {
      NonlinearPlan plan = nonlinear_plan_for(experiment, quick);
      for (const auto& choice : ww::nn::location_init_names)
        if (location_init_name == choice.name) plan.location_init = choice.value;
      if (!samples.empty()) plan.samples = samples;
      if (!types.empty()) plan.types = types;
      if (!models.empty()) select_models(models, plan);
      run_nonlinear(experiment, plan, teacher, photos, seed, out, results, figures);
    } else if (experiment == "efficiency" && !recordings.empty()) {
      const ww::io::Config config = config_path.empty() ? ww::io::parse_config("{}", "(defaults)") : ww::io::read_config(config_path);
      run_efficiency_on_recordings(recordings[0], recordings[1], config, quick, out, results, figures);
    } else if (experiment == "efficiency") {
      run_efficiency(quick, seed, out, results, figures);
    } else {
      Plan plan = plan_for(experiment, quick);
      if (!samples.empty()) plan.samples = samples;
      if (!models.empty()) select_models(models, plan);
      run_linear(experiment, plan, seed, out, results, figures);
    }
    results.finish(figures);
    std::printf("done in %.0f s: %s/summary.json", results.seconds(), out.c_str());
    for (const std::string& f : figures) std::printf(", %s", f.c_str());
    std::printf("\n");
    return int{ww::tools::ok};
  });
}
