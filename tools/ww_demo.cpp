// ww-demo: the engine end to end on data it makes itself. A random "teacher" network (a shared
// convolutional core, each neuron at a random place) responds to white-noise images with noise
// added; a fresh model with a factorized readout is trained on those responses with the paper's
// schedule and scored on fresh images against the teacher's noise-free responses.
#include <CLI/CLI.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>

#include "io/teacher.hpp"
#include "nn/metrics.hpp"
#include "ops/isa.hpp"
#include "ops/parallel.hpp"
#include "tools/cli.hpp"
#include "tools/training.hpp"

int main(int argc, char** argv) {
  CLI::App app{"ww-demo: fit a CNN with a factorized readout to simulated neurons"};
  int neurons = 50, images = 4000, threads = 0;
  unsigned seed = 1;
  float noise = 0.3f;
  app.add_option("--neurons", neurons, "simulated neurons")->check(CLI::Range(1, 100000));
  app.add_option("--images", images, "training images (20% of them validate)")->check(CLI::Range(20, 1 << 20));
  app.add_option("--noise", noise, "noise SD as a fraction of each neuron's response SD")->check(CLI::NonNegativeNumber);
  app.add_option("--seed", seed, "random seed");
  app.add_option("--threads", threads, "worker threads (0: all cores)")->check(CLI::NonNegativeNumber);
  CLI11_PARSE(app, argc, argv);

  return ww::tools::run_tool("ww-demo", [&] {
    ww::ops::set_num_threads(threads);
    ww::io::Config config = ww::io::parse_config(R"({
      "model": {"core": {"layers": [{"channels": 4, "kernel": 5, "nonlinearity": "softplus"}]},
                "readout": {"kind": "factorized"}, "penalties": {"mask_l1": 0.01}},
      "training": {"learning_rate": 0.01, "batch_size": 64,
                   "schedule": {"eval_every": 100, "patience": 3, "max_decays": 2, "max_steps": 6000}}})", "ww-demo");
    config.model.input_height = config.model.input_width = 20;
    config.model.neurons = neurons;
    config.training.seed = seed;
    const ww::io::TeacherData data = ww::io::make_teacher_data(config.model, images, 1000, noise, seed);
    std::printf("ww-demo: %d simulated neurons, %d noisy training images of 20x20, %s, %d threads\n", neurons, images,
                ww::ops::isa_name(ww::ops::current_isa()), ww::ops::num_threads());
    std::printf("%6s %12s %12s %12s\n", "step", "train_loss", "val_loss", "val_corr");
    ww::training::Trainer trainer(config, data.train);
    const auto start = std::chrono::steady_clock::now();
    std::atomic<bool> never{false};
    trainer.run(never, [](const ww::training::Progress& p) {
      if (p.evaluated && p.step % 500 == 0) {
        std::printf("%6lld %12.4f %12.4f %12.4f\n", static_cast<long long>(p.step), p.train_loss, p.validation_loss,
                    p.validation_correlation);
      }
    }, [] {});
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double fev = ww::nn::finite_mean(ww::nn::fev_per_neuron(trainer.model().predict(data.test_images), data.test_truth));
    std::printf("stopped at step %lld after %.1f s (%.2f ms per step); FEV on 1000 fresh images: %.3f\n",
                static_cast<long long>(trainer.step()), seconds, 1e3 * seconds / static_cast<double>(trainer.step()), fev);
    return fev > 0.5 ? int{ww::tools::ok} : int{ww::tools::failure};
  });
}
