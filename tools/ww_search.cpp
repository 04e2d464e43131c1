// ww-search: a grid of models and regularisation strengths trained on one or more recordings,
// each model's point chosen by validation loss, scored on the test tier, and reported as a table
// like the paper's Table 1 (Markdown and JSON). Every point trains into its own folder with a
// resumable checkpoint: an interrupted search continues where it stopped, finished points are
// not trained again. Points run one after another, each on all cores (the kernels are parallel).
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>

#include "io/atomic_file.hpp"
#include "io/checkpoint.hpp"
#include "io/config.hpp"
#include "io/recording.hpp"
#include "nn/metrics.hpp"
#include "ops/parallel.hpp"
#include "tools/cli.hpp"
#include "tools/glm.hpp"
#include "tools/training.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::atomic<bool> interrupt_requested{false};
extern "C" void request_interrupt(int) { interrupt_requested.store(true); }

// One model of the grid file: a configuration and, per dotted key ("model.penalties.mask_l1"),
// the values to try; the points are every combination. Or a classical baseline ("baseline": "lnp"
// or "glm") fitted on the whole image, its ridge strength chosen per neuron on validation data.
struct GridModel {
  std::string name;
  json config;
  std::vector<std::pair<std::string, std::vector<json>>> axes;
  std::string baseline;
};

std::vector<GridModel> read_grid(const std::string& path) {
  json grid;
  try {
    std::ifstream in(path);
    grid = json::parse(in);
  } catch (const json::exception& e) {
    throw ww::io::FormatError(path + ": not valid JSON (" + e.what() + ")");
  }
  if (!grid.contains("models") || !grid["models"].is_array() || grid["models"].empty()) {
    throw ww::io::FormatError(path + ": needs \"models\": a non-empty list of {\"name\", \"config\", \"grid\"}");
  }
  std::vector<GridModel> models;
  for (const json& m : grid["models"]) {
    if (!m.contains("name") || !m["name"].is_string()) throw ww::io::FormatError(path + ": every model needs a \"name\"");
    GridModel model{m["name"].get<std::string>(), m.value("config", json::object()), {}, m.value("baseline", "")};
    if (!model.baseline.empty() && model.baseline != "lnp" && model.baseline != "glm") {
      throw ww::io::FormatError(path + ": model '" + model.name + "': baseline '" + model.baseline + "' (expected lnp or glm)");
    }
    const json axes = m.value("grid", json::object());
    for (const auto& [key, values] : axes.items()) {
      if (!values.is_array() || values.empty()) {
        throw ww::io::FormatError(path + ": model '" + model.name + "': grid key '" + key + "' needs a non-empty list of values");
      }
      model.axes.emplace_back(key, std::vector<json>(values.begin(), values.end()));
    }
    ww::io::parse_config(model.config.dump(), path + ": model '" + model.name + "'");  // fails early on typos
    models.push_back(std::move(model));
  }
  return models;
}

// Point `index` of a model's grid (mixed radix over its axes): the configuration and a label.
std::pair<json, std::string> grid_point(const GridModel& model, std::size_t index) {
  json config = model.config;
  std::string label;
  for (const auto& [key, values] : model.axes) {
    const json& value = values[index % values.size()];
    index /= values.size();
    std::string pointer = "/" + key;
    for (char& c : pointer) c = c == '.' ? '/' : c;
    config[json::json_pointer(pointer)] = value;
    label += (label.empty() ? "" : ", ") + key.substr(key.rfind('.') + 1) + " " + value.dump();
  }
  return {config, label.empty() ? "(no grid)" : label};
}

std::size_t point_count(const GridModel& model) {
  std::size_t count = 1;
  for (const auto& axis : model.axes) count *= axis.second.size();
  return count;
}

// Trains (or resumes, or skips when finished) one point; its best validation loss, NaN when it
// diverged, nothing when interrupted (its checkpoint saved).
std::optional<double> train_point(const std::string& folder, const json& config_json, const ww::io::TrainingSplit& split, const std::string& origin) {
  fs::create_directories(folder);
  const std::string checkpoint_path = folder + "/checkpoint.wwc";
  std::unique_ptr<ww::training::Trainer> trainer;
  if (fs::exists(checkpoint_path)) {
    const ww::io::Checkpoint checkpoint = ww::io::load_checkpoint(checkpoint_path);
    if (checkpoint.integer("finished") != 0) return checkpoint.real("best_loss");
    trainer = std::make_unique<ww::training::Trainer>(checkpoint, split.data);
  } else {
    ww::io::Config config = ww::io::parse_config(config_json.dump(), origin);
    config.training.validation_fraction = split.validation_fraction;
    config.training.normalize = true;
    trainer = std::make_unique<ww::training::Trainer>(config, split.data);
    if (!trainer->notice().empty()) std::printf("ww-search: %s: %s\n", folder.c_str(), trainer->notice().c_str());
    ww::io::write_file_atomically(folder + "/config.json", ww::io::config_to_json(trainer->config()));
  }
  const auto save = [&] { ww::io::save_checkpoint(checkpoint_path, trainer->checkpoint()); };
  const ww::training::Outcome outcome = trainer->run(interrupt_requested, [](const ww::training::Progress&) {}, save);
  save();
  if (outcome == ww::training::Outcome::interrupted) return std::nullopt;
  return outcome == ww::training::Outcome::diverged ? std::numeric_limits<double>::quiet_NaN() : trainer->best_validation_loss();
}

std::string format_number(double value) {
  if (!std::isfinite(value)) return "-";
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", value);
  return text;
}

// A model fitted to one recording: its test-tier predictions and how it was chosen.
struct Fitted {
  ww::ad::Tensor test_prediction;
  std::string chosen, run;
  double validation_loss;
};

// Every grid point trained (or resumed, or reused when finished); the one of lowest validation
// loss predicts the test tier. Nothing when interrupted.
std::optional<Fitted> fit_grid(const GridModel& model, const std::string& dataset, const ww::io::Recording& recording,
                               const std::string& grid_path, const std::string& out) {
  const ww::io::TrainingSplit split = ww::io::training_split(recording);
  Fitted best{{}, "", "", std::numeric_limits<double>::infinity()};
  for (std::size_t index = 0; index < point_count(model); ++index) {
    const auto [config, label] = grid_point(model, index);
    const std::string folder = out + "/" + dataset + "/" + model.name + "/point" + std::to_string(index);
    const std::optional<double> loss = train_point(folder, config, split, grid_path + ": model '" + model.name + "'");
    if (!loss) {
      std::printf("ww-search: interrupted in %s; run the same command again to continue\n", folder.c_str());
      return std::nullopt;
    }
    std::printf("  %-12s %-16s point %-3zu %-40s validation loss %s\n", dataset.c_str(), model.name.c_str(), index, label.c_str(),
                format_number(*loss).c_str());
    if (*loss < best.validation_loss) best.validation_loss = *loss, best.run = folder, best.chosen = label;
  }
  if (best.run.empty()) throw std::runtime_error("model '" + model.name + "' diverged at every grid point on " + recording.origin);
  best.test_prediction = ww::training::load_model(ww::io::load_checkpoint(best.run + "/checkpoint.wwc"))->predict(recording.test.images);
  return best;
}

// LNP (exp, Poisson) or GLM (ReLU + offset, MSE) on the flattened images, standardised by the
// training tier's pixel mean and SD.
Fitted fit_baseline(const GridModel& model, const ww::io::Recording& recording) {
  const ww::ad::Tensor& train = recording.train.images;
  const std::int64_t pixels = static_cast<std::int64_t>(train.numel()) / train.shape()[0];
  double sum = 0.0, squares = 0.0;
  for (const float v : train.to_vector()) sum += v, squares += static_cast<double>(v) * v;
  const double mean = sum / static_cast<double>(train.numel());
  const double sd = std::sqrt(std::max(squares / static_cast<double>(train.numel()) - mean * mean, 1e-12));
  const auto design = [&](const ww::ad::Tensor& images) {
    ww::ad::Tensor x = images.clone().reshaped({images.shape()[0], pixels});
    for (std::size_t i = 0; i < x.numel(); ++i) x.data()[i] = static_cast<float>((x.data()[i] - mean) / sd);
    return x;
  };
  const ww::training::GlmOutput output = model.baseline == "lnp" ? ww::training::GlmOutput::exp : ww::training::GlmOutput::relu;
  const ww::training::GlmFit fit = ww::training::fit_glm(design(train), recording.train.responses, design(recording.validation.images),
                                                         recording.validation.responses, output);
  std::vector<float> strengths = fit.strength;
  std::sort(strengths.begin(), strengths.end());
  const std::string chosen = "median strength " + format_number(strengths[strengths.size() / 2]);
  std::printf("  %-12s %-16s %s fitted, %s\n", recording.origin.c_str(), model.name.c_str(), model.baseline.c_str(), chosen.c_str());
  return {ww::training::predict_glm(fit, design(recording.test.images)), chosen, "", std::numeric_limits<double>::quiet_NaN()};
}


}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ww-search: grid search over models and regularisation on recordings, with a Table-1-style report"};
  std::string grid_path, out;
  std::vector<std::string> data_paths;
  int threads = 0;
  app.add_option("--grid", grid_path, "JSON: {\"models\": [{\"name\", \"config\", \"grid\": {\"model.penalties.mask_l1\": [...], ...}}]}")
      ->required()->check(CLI::ExistingFile);
  app.add_option("--data", data_paths, "recordings (as ww-train --data); repeat for several")->required()->check(CLI::ExistingPath);
  app.add_option("--out", out, "output folder: a run folder per point, report.md and report.json")->required();
  app.add_option("--threads", threads, "worker threads (0: all cores)")->check(CLI::NonNegativeNumber);
  CLI11_PARSE(app, argc, argv);

  return ww::tools::run_tool("ww-search", [&] {
    ww::ops::set_num_threads(threads);
    std::signal(SIGINT, request_interrupt);
    std::signal(SIGTERM, request_interrupt);
    const std::vector<GridModel> models = read_grid(grid_path);
    json report = {{"grid", grid_path}, {"results", json::array()}};
    // Distinct names: the runs of two recordings of one name would share folders.
    const std::vector<std::string> datasets = ww::io::distinct_recording_names(data_paths);
    std::map<std::pair<std::string, std::string>, double> correlation;  // (model, dataset) -> test correlation
    for (std::size_t d = 0; d < data_paths.size(); ++d) {
      const std::string& data_path = data_paths[d];
      const std::string& dataset = datasets[d];
      const ww::io::Recording recording = ww::io::load_recording(data_path);
      for (const GridModel& model : models) {
        std::optional<Fitted> fitted = model.baseline.empty() ? fit_grid(model, dataset, recording, grid_path, out) : fit_baseline(model, recording);
        if (!fitted) return int{ww::tools::interrupted};
        const ww::nn::RepeatMetrics m = ww::nn::repeat_metrics(fitted->test_prediction, recording.test.responses, recording.test_image_ids);
        const double test_correlation = ww::nn::finite_mean(m.correlation_to_average);
        correlation[{model.name, dataset}] = test_correlation;
        report["results"].push_back({{"model", model.name}, {"dataset", dataset}, {"chosen", fitted->chosen}, {"run", fitted->run},
                                     {"validation_loss", fitted->validation_loss}, {"test_correlation", test_correlation},
                                     {"single_trial_correlation", ww::nn::finite_mean(m.single_trial_correlation)},
                                     {"oracle_correlation", ww::nn::finite_mean(m.oracle_correlation)},
                                     {"fraction_of_oracle", m.fraction_of_oracle}, {"feve", ww::nn::finite_mean(m.feve)}});
      }
    }
    // Table 1: test correlation (to the average over repeats) per model and dataset, and their mean.
    std::string table = "| model |";
    for (const std::string& d : datasets) table += " " + d + " |";
    table += " average |\n|---|";
    for (std::size_t i = 0; i <= datasets.size(); ++i) table += "---|";
    table += "\n";
    for (const GridModel& model : models) {
      double sum = 0.0;
      table += "| " + model.name + " |";
      for (const std::string& d : datasets) {
        sum += correlation[{model.name, d}];
        table += " " + format_number(correlation[{model.name, d}]) + " |";
      }
      table += " " + format_number(sum / static_cast<double>(datasets.size())) + " |\n";
    }
    std::string details = "\n| model | dataset | chosen | validation loss | test correlation | single trial | oracle | fraction of oracle | FEVE |\n"
                          "|---|---|---|---|---|---|---|---|---|\n";
    for (const json& r : report["results"]) {
      details += "| " + r["model"].get<std::string>() + " | " + r["dataset"].get<std::string>() + " | " + r["chosen"].get<std::string>() + " | " +
                 format_number(r["validation_loss"]) + " | " + format_number(r["test_correlation"]) + " | " +
                 format_number(r["single_trial_correlation"]) + " | " + format_number(r["oracle_correlation"]) + " | " +
                 format_number(r["fraction_of_oracle"]) + " | " + format_number(r["feve"]) + " |\n";
    }
    const std::string markdown = "# ww-search\n\nTest correlation with the response averaged over repeats, each model at the grid point "
                                 "of lowest validation loss.\n\n" + table + details;
    ww::io::write_file_atomically(out + "/report.md", markdown);
    ww::io::write_file_atomically(out + "/report.json", report.dump(2) + "\n");
    std::printf("\n%s\nreport: %s/report.md, %s/report.json\n", table.c_str(), out.c_str(), out.c_str());
    return int{ww::tools::ok};
  });
}
