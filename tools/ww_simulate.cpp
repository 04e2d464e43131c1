// ww-simulate: a ground-truth population of the paper's simulations as NumPy files ww-train,
// ww-eval and Python can read: training images and noisy responses (ww-train validates on the
// last 20%), fresh test images with noise-free responses, and each neuron's location, type and
// kernel.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>

#include "io/npy.hpp"
#include "io/populations.hpp"
#include "ops/parallel.hpp"
#include "tools/cli.hpp"

int main(int argc, char** argv) {
  CLI::App app{"ww-simulate: write a simulated population (SPEC 4.1 linear, 4.2 two types) as .npy files"};
  std::string population = "linear", out;
  ww::io::PopulationConfig config;
  int threads = 0;
  app.add_option("population", population, "linear (one DoG kernel, Fig. 3) or two-types (small and large DoGs, Fig. 4)")
      ->check(CLI::IsMember({"linear", "two-types"}));
  app.add_option("--out", out, "output folder")->required();
  app.add_option("--neurons", config.neurons, "neurons")->check(CLI::Range(1, 1000000));
  app.add_option("--samples", config.train_samples, "training images, the last 20% for validation")->check(CLI::Range(2, 1 << 24));
  app.add_option("--test-samples", config.test_samples, "test images (noise-free responses)")->check(CLI::Range(1, 1 << 24));
  app.add_option("--seed", config.seed, "random seed: the same seed gives the same files");
  app.add_option("--threads", threads, "worker threads (0: all cores)")->check(CLI::NonNegativeNumber);
  CLI11_PARSE(app, argc, argv);
  config.two_types = population == "two-types";

  return ww::tools::run_tool("ww-simulate", [&] {
    ww::ops::set_num_threads(threads);
    std::filesystem::create_directories(out);
    const ww::io::Population p = ww::io::make_population(config);
    const std::pair<const char*, const ww::ad::Tensor*> files[] = {
        {"images.npy", &p.train.images},     {"responses.npy", &p.train.responses}, {"test_images.npy", &p.test_images},
        {"test_responses.npy", &p.test_truth}, {"locations.npy", &p.locations},     {"types.npy", &p.types},
        {"kernels.npy", &p.kernels}};
    for (const auto& [name, tensor] : files) ww::io::write_npy(out + "/" + name, *tensor);
    std::printf("ww-simulate: %s population of %lld neurons, %lld training and %lld test images of %lldx%lld in %s\n",
                population.c_str(), static_cast<long long>(config.neurons), static_cast<long long>(config.train_samples),
                static_cast<long long>(config.test_samples), static_cast<long long>(config.image_size),
                static_cast<long long>(config.image_size), out.c_str());
    std::printf("train: ww-train --config configs/linear.json --images %s/images.npy --responses %s/responses.npy --out RUN\n",
                out.c_str(), out.c_str());
    std::printf("score: ww-eval --checkpoint RUN/checkpoint.wwc --images %s/test_images.npy --responses %s/test_responses.npy\n",
                out.c_str(), out.c_str());
    return int{ww::tools::ok};
  });
}
