// ww-eval: a trained model's accuracy on test data: per-neuron correlation and fraction of
// variance explained (FEV when the responses are noise-free), with means, as a table and JSON;
// with the trials' image ids, the metrics of repeated images too (correlation to the average over
// repeats, oracle correlation, fraction of oracle, explainable variance, FEVE).
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>

#include "io/atomic_file.hpp"
#include "io/npy.hpp"
#include "io/recording.hpp"
#include "nn/metrics.hpp"
#include "ops/parallel.hpp"
#include "tools/cli.hpp"
#include "tools/training.hpp"

namespace {

// Integer ids, or floats holding integers (as ww-simulate and NumPy's default dtype write them).
std::vector<std::int64_t> read_image_ids(const std::string& path) {
  const ww::io::NpyArray array = ww::io::read_npy(path);
  if (array.dtype != ww::io::DType::f4 && array.dtype != ww::io::DType::f8) return array.to_integers();
  std::vector<std::int64_t> ids;
  for (const float value : array.to_tensor().to_vector()) {
    if (!(std::round(value) == value)) throw std::runtime_error(path + ": image ids must be integers, found " + std::to_string(value));
    ids.push_back(static_cast<std::int64_t>(value));
  }
  return ids;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ww-eval: evaluate a trained model on test images and responses"};
  std::string checkpoint_path, images_path, responses_path, json_path;
  int threads = 0;
  app.add_option("--checkpoint", checkpoint_path, "checkpoint.wwc written by ww-train")->required()->check(CLI::ExistingFile);
  std::string recording_path;
  auto* images = app.add_option("--images", images_path, "test images .npy, or an .npz with 'images' and 'responses'")->check(CLI::ExistingFile);
  app.add_option("--responses", responses_path, "test responses .npy [n, neurons] (noise-free for FEV)")->check(CLI::ExistingFile);
  app.add_option("--json", json_path, "also write every metric, per neuron too, to this JSON file");
  std::string ids_path;
  app.add_option("--image-ids", ids_path, "image id of each test trial .npy [n] (repeats share an id): metrics over repeats")
      ->check(CLI::ExistingFile);
  app.add_option("--data", recording_path, "a recording (as ww-train --data): its 'test' tier, with the metrics over repeats")
      ->check(CLI::ExistingPath)
      ->excludes(images);
  std::string data_key;
  app.add_option("--data-key", data_key,
                 "a model of several recordings: the readout to evaluate (default: the one named like the --data recording)");
  app.add_option("--threads", threads, "worker threads (0: all cores)")->check(CLI::NonNegativeNumber);
  CLI11_PARSE(app, argc, argv);
  if (images_path.empty() && recording_path.empty()) {
    std::fprintf(stderr, "ww-eval: give the test data: --images (and --responses) or --data\n");
    return int{ww::tools::bad_input};
  }
  return ww::tools::run_tool("ww-eval", [&] {
    ww::ops::set_num_threads(threads);
    const ww::io::Checkpoint checkpoint = ww::io::load_checkpoint(checkpoint_path);
    auto model = ww::training::load_model(checkpoint);
    if (data_key.empty() && !recording_path.empty() && model->recording_count() > 1) data_key = ww::io::recording_name(recording_path);
    const std::size_t recording = ww::training::recording_index(*model, data_key);
    ww::io::Dataset data;
    std::vector<std::int64_t> ids;
    if (recording_path.empty()) {
      data = ww::io::load_dataset(images_path, responses_path);
      if (!ids_path.empty()) ids = read_image_ids(ids_path);
    } else {
      ww::io::Recording recording = ww::io::load_recording(recording_path);
      data = std::move(recording.test);
      ids = std::move(recording.test_image_ids);
    }
    if (data.responses.shape()[1] != model->neurons(recording)) {
      throw std::runtime_error((!recording_path.empty() ? recording_path : responses_path.empty() ? images_path : responses_path) + ": responses have " +
                               std::to_string(data.responses.shape()[1]) + " neurons, the model predicts " +
                               std::to_string(model->neurons(recording)));
    }
    const ww::ad::Tensor prediction = model->predict(data.images, 256, recording);
    const std::vector<double> correlation = ww::nn::correlation_per_neuron(prediction, data.responses);
    const std::vector<double> fev = ww::nn::fev_per_neuron(prediction, data.responses);
    double loss = 0;
    {
      ww::ad::NoGradGuard no_grad;
      loss = model->loss(ww::ad::Var::constant(prediction), ww::ad::Var::constant(data.responses), recording).value().item();
    }
    const double mean_correlation = ww::nn::finite_mean(correlation), mean_fev = ww::nn::finite_mean(fev);
    std::printf("%-28s %10s\n", "metric", "value");
    std::printf("%-28s %10lld\n", "images", static_cast<long long>(prediction.shape()[0]));
    std::printf("%-28s %10lld\n", "neurons", static_cast<long long>(prediction.shape()[1]));
    std::printf("%-28s %10.4f\n", ("loss (" + ww::nn::to_string(model->config().loss) + ")").c_str(), loss);
    std::printf("%-28s %10.4f\n", "mean correlation", mean_correlation);
    std::printf("%-28s %10.4f\n", "mean FEV", mean_fev);
    auto finite_or_null = [](const std::vector<double>& values) {
      nlohmann::json list = nlohmann::json::array();
      for (double v : values) list.push_back(std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr));
      return list;
    };
    nlohmann::json repeats;
    if (!ids.empty()) {
      if (static_cast<std::int64_t>(ids.size()) != prediction.shape()[0]) {
        throw std::runtime_error(ids_path + ": " + std::to_string(ids.size()) + " image ids for " +
                                 std::to_string(prediction.shape()[0]) + " test trials");
      }
      const ww::nn::RepeatMetrics m = ww::nn::repeat_metrics(prediction, data.responses, ids);
      const std::pair<const char*, const std::vector<double>*> rows[] = {
          {"correlation_to_average", &m.correlation_to_average}, {"single_trial_correlation", &m.single_trial_correlation},
          {"oracle_correlation", &m.oracle_correlation},         {"explainable_variance", &m.explainable_variance},
          {"feve", &m.feve}};
      for (const auto& [name, values] : rows) {
        std::printf("%-28s %10.4f\n", ("mean " + std::string(name)).c_str(), ww::nn::finite_mean(*values));
        repeats["mean_" + std::string(name)] = ww::nn::finite_mean(*values);
        repeats[name] = finite_or_null(*values);
      }
      std::printf("%-28s %10.4f\n", "fraction of oracle", m.fraction_of_oracle);
      repeats["fraction_of_oracle"] = m.fraction_of_oracle;
    }
    if (!json_path.empty()) {
      nlohmann::json report = {{"checkpoint", checkpoint_path},
                                     {"data_key", model->data_key(recording)},
                                     {"images", prediction.shape()[0]},
                                     {"neurons", prediction.shape()[1]},
                                     {"loss", loss},
                                     {"mean_correlation", mean_correlation},
                                     {"mean_fev", mean_fev},
                                     {"correlation", finite_or_null(correlation)},
                                     {"fev", finite_or_null(fev)}};
      if (!repeats.is_null()) report["repeats"] = repeats;
      ww::io::write_file_atomically(json_path, report.dump(2) + "\n");
    }
    return int{ww::tools::ok};
  });
}
