// ww-train: trains a model on images and responses, writing a resumable checkpoint, the complete
// configuration and a metrics log into an output folder.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "io/atomic_file.hpp"
#include "io/recording.hpp"
#include "ops/isa.hpp"
#include "ops/parallel.hpp"
#include "tools/cli.hpp"
#include "tools/training.hpp"

namespace {

std::atomic<bool> interrupt_requested{false};
extern "C" void request_interrupt(int) { interrupt_requested.store(true); }

std::string format_duration(double seconds) {
  const long s = static_cast<long>(seconds);
  char text[32];
  if (s >= 3600) std::snprintf(text, sizeof text, "%ldh%02ldm", s / 3600, s / 60 % 60);
  else std::snprintf(text, sizeof text, "%ldm%02lds", s / 60, s % 60);
  return text;
}

// Keeps the metrics log's lines up to `step` (a resumed run rewrites what follows).
void truncate_log(const std::string& path, std::int64_t step) {
  std::ifstream in(path);
  std::string kept, line;
  while (std::getline(in, line)) {
    const auto at = line.find("\"step\": ");
    if (at != std::string::npos && std::stoll(line.substr(at + 8)) > step) break;
    kept += line + "\n";
  }
  ww::io::write_file_atomically(path, kept);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ww-train: fit a core + readout model to neural responses (early stopping on a held-out fraction)"};
  std::string config_path, images_path, responses_path, out_dir;
  bool resume = false, quiet = false;
  int threads = 0;
  app.add_option("--config", config_path, "JSON configuration (model + training); defaults for missing keys")->check(CLI::ExistingFile);
  std::vector<std::string> recording_paths;
  auto* images = app.add_option("--images", images_path, "images .npy [n,h,w] or [n,c,h,w], or an .npz with 'images' and 'responses'")
                     ->check(CLI::ExistingFile);
  app.add_option("--responses", responses_path, "responses .npy [n,neurons] (omit with an .npz)")->check(CLI::ExistingFile);
  app.add_option("--data", recording_paths,
                 "a recording with tiers instead of --images: a neuralpredictors folder (data/, meta/), its .npz packing "
                 "or an Antolik region folder; trains on 'train', validates on 'validation'. Repeat for several "
                 "recordings on one core, one readout each, keyed by their file or folder names")
      ->check(CLI::ExistingPath)
      ->excludes(images);
  app.add_option("--out", out_dir, "output folder: checkpoint.wwc, config.json, metrics.jsonl")->required();
  app.add_flag("--resume", resume, "continue from OUT/checkpoint.wwc (its configuration is used)");
  app.add_option("--threads", threads, "worker threads (0: all cores)")->check(CLI::NonNegativeNumber);
  app.add_flag("--quiet", quiet, "print only the final summary");
  std::string core_from;
  bool freeze_core = false;
  auto* core_option = app.add_option("--core-from", core_from, "start from the core of this checkpoint (same core configuration)")
                          ->check(CLI::ExistingFile);
  app.add_flag("--freeze-core", freeze_core, "with --core-from: train the readout only")->needs(core_option);
  CLI11_PARSE(app, argc, argv);
  if (images_path.empty() && recording_paths.empty()) {
    std::fprintf(stderr, "ww-train: give the data: --images (and --responses) or --data\n");
    return int{ww::tools::bad_input};
  }

  return ww::tools::run_tool("ww-train", [&]() -> int {
    // One recording's part has no key (the model of one recording); several are keyed by name.
    // --images data holds out the configured fraction, recordings their validation tiers.
    const auto load_data = [&](float images_validation_fraction) {
      std::vector<ww::training::TrainingPart> parts;
      if (recording_paths.empty()) {
        parts.push_back({"", {ww::io::load_dataset(images_path, responses_path), images_validation_fraction}});
        return parts;
      }
      const std::vector<std::string> names = ww::io::distinct_recording_names(recording_paths);
      for (std::size_t r = 0; r < recording_paths.size(); ++r) {
        parts.push_back({recording_paths.size() == 1 ? "" : names[r], ww::io::training_split(ww::io::load_recording(recording_paths[r]))});
      }
      return parts;
    };
    ww::ops::set_num_threads(threads);
    std::filesystem::create_directories(out_dir);
    const std::string checkpoint_path = out_dir + "/checkpoint.wwc";
    const std::string log_path = out_dir + "/metrics.jsonl";
    std::unique_ptr<ww::training::Trainer> trainer;
    if (resume) {
      if (!std::filesystem::exists(checkpoint_path)) throw std::runtime_error(checkpoint_path + ": no checkpoint to resume from");
      const ww::io::Checkpoint checkpoint = ww::io::load_checkpoint(checkpoint_path);
      const float fraction = ww::io::parse_config(checkpoint.text("config"), checkpoint_path).training.validation_fraction;
      trainer = std::make_unique<ww::training::Trainer>(checkpoint, load_data(fraction));
      truncate_log(log_path, trainer->step());
      if (!quiet) std::printf("ww-train: resuming %s at step %lld\n", checkpoint_path.c_str(), static_cast<long long>(trainer->step()));
    } else {
      if (std::filesystem::exists(checkpoint_path)) {
        throw std::runtime_error(checkpoint_path + " exists: pass --resume to continue that run, or choose another --out");
      }
      ww::io::Config config = config_path.empty() ? ww::io::parse_config("{}", "(defaults)") : ww::io::read_config(config_path);
      std::vector<ww::training::TrainingPart> parts = load_data(config.training.validation_fraction);
      if (!recording_paths.empty()) {  // recordings are normalised by their training tiers
        config.training.validation_fraction = parts.front().split.validation_fraction;
        config.training.normalize = true;
      }
      if (freeze_core) config.training.freeze_core = true;
      trainer = std::make_unique<ww::training::Trainer>(config, std::move(parts));
      if (!core_from.empty()) trainer->transfer_core(ww::io::load_checkpoint(core_from));
      ww::io::write_file_atomically(log_path, "");
    }
    ww::io::write_file_atomically(out_dir + "/config.json", ww::io::config_to_json(trainer->config()));

    const auto& model = trainer->model();
    if (!trainer->notice().empty()) std::printf("ww-train: %s\n", trainer->notice().c_str());
    if (!quiet) {
      std::int64_t neurons = 0;
      for (std::size_t r = 0; r < model.recording_count(); ++r) neurons += model.neurons(r);
      std::printf("ww-train: images %s, %lld neurons in %zu recording(s), %s readout, %zu parameters, %s, %d threads\n",
                  ww::ad::shape_string(trainer->images_shape()).c_str(), static_cast<long long>(neurons), model.recording_count(),
                  ww::nn::to_string(model.config().readout.kind).c_str(),
                  model.parameter_count(), ww::ops::isa_name(ww::ops::current_isa()), ww::ops::num_threads());
    }
    std::signal(SIGINT, request_interrupt);
    std::signal(SIGTERM, request_interrupt);
    const bool terminal = isatty(STDOUT_FILENO) && !quiet;
    const auto start = std::chrono::steady_clock::now();
    const std::int64_t first_step = trainer->step();
    std::ofstream log(log_path, std::ios::app);
    auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };

    auto on_progress = [&](const ww::training::Progress& p) {
      const double seconds = elapsed();
      const double per_step = seconds / static_cast<double>(std::max<std::int64_t>(1, p.step - first_step));
      if (p.evaluated) {
        log << "{\"step\": " << p.step << ", \"train_loss\": " << p.train_loss << ", \"validation_loss\": " << p.validation_loss
            << ", \"validation_correlation\": " << p.validation_correlation << ", \"best_validation_loss\": "
            << p.best_validation_loss << ", \"learning_rate\": " << p.learning_rate << ", \"decays\": " << p.decays
            << ", \"relocated\": " << p.relocated << ", \"seconds\": " << seconds << "}\n";
        log.flush();
      }
      if (terminal) {
        std::printf("\r\033[Kstep %lld | loss %.4g | val %.4g (r %.3f) | lr %.2g | %.1f ms/step | at most %s left",
                    static_cast<long long>(p.step), p.train_loss, p.validation_loss, p.validation_correlation,
                    p.learning_rate, per_step * 1e3,
                    format_duration(per_step * static_cast<double>(p.max_steps - p.step)).c_str());
        std::fflush(stdout);
      } else if (p.evaluated && !quiet) {
        std::printf("step %lld loss %.5g val_loss %.5g val_corr %.4f lr %.3g decays %lld %.1f ms/step\n",
                    static_cast<long long>(p.step), p.train_loss, p.validation_loss, p.validation_correlation,
                    p.learning_rate, static_cast<long long>(p.decays), per_step * 1e3);
      }
    };
    auto save = [&] { ww::io::save_checkpoint(checkpoint_path, trainer->checkpoint()); };

    const ww::training::Outcome outcome = trainer->run(interrupt_requested, on_progress, save);
    if (terminal) std::printf("\n");
    switch (outcome) {
      case ww::training::Outcome::interrupted:
        save();
        std::printf("ww-train: interrupted at step %lld; checkpoint written, continue with --resume\n",
                    static_cast<long long>(trainer->step()));
        return ww::tools::interrupted;
      case ww::training::Outcome::diverged:
        std::fprintf(stderr,
                     "ww-train: diverged: %s. The last good checkpoint is kept in %s; try a lower learning rate or "
                     "check the data.\n",
                     trainer->divergence().c_str(), checkpoint_path.c_str());
        return ww::tools::diverged;
      case ww::training::Outcome::finished: break;
    }
    const ww::io::Checkpoint final_state = trainer->checkpoint();
    std::printf("ww-train: finished at step %lld in %s: best validation loss %.5g, validation correlation %.4f -> %s\n",
                static_cast<long long>(trainer->step()), format_duration(elapsed()).c_str(), final_state.real("best_loss"),
                final_state.real("validation_correlation"), checkpoint_path.c_str());
    return ww::tools::ok;
  });
}
