// ww-simulate: a ground-truth population of the paper's simulations as NumPy files ww-train,
// ww-eval and Python can read: training images and noisy responses (ww-train validates on the
// last 20%), fresh test images with noise-free responses, and each neuron's location, type and
// kernel (the linear ones' own kernels; the V1 teacher's even Gabor per type).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>

#include "io/nonlinear_populations.hpp"
#include "io/npy.hpp"
#include "io/populations.hpp"
#include "io/recording.hpp"
#include "ops/parallel.hpp"
#include "tools/cli.hpp"

int main(int argc, char** argv) {
  CLI::App app{"ww-simulate: write a simulated population (SPEC 4.1 linear, 4.2 two types, 4.3 nonlinear) as .npy files"};
  std::string population = "linear", out;
  ww::io::PopulationConfig config;
  ww::io::NonlinearPopulationConfig nonlinear;
  int threads = 0;
  app.add_option("population", population,
                 "linear (one DoG kernel, Fig. 3), two-types (small and large DoGs, Fig. 4), v1 (Gabor simple and "
                 "complex cells on natural images, Fig. 5) or random-cnn (units of a fixed random CNN)")
      ->check(CLI::IsMember({"linear", "two-types", "v1", "random-cnn"}));
  app.add_option("--out", out, "output folder")->required();
  app.add_option("--neurons", config.neurons, "neurons")->check(CLI::Range(1, 1000000));
  app.add_option("--samples", config.train_samples, "training images, the last 20% for validation")->check(CLI::Range(2, 1 << 24));
  app.add_option("--test-samples", config.test_samples, "test images (noise-free responses)")->check(CLI::Range(1, 1 << 24));
  app.add_option("--types", nonlinear.types, "v1, random-cnn: cell types")->check(CLI::Range(1, 1024));
  app.add_option("--units-per-type", nonlinear.units_per_type, "v1, random-cnn: units of each type")->check(CLI::Range(1, 1000000));
  app.add_option("--photos", nonlinear.photos, "v1, random-cnn: folder of photographs to crop (default: dead-leaves images)");
  app.add_flag("--divisive-normalization", nonlinear.divisive_normalization, "v1: divide by the local energy of all types");
  std::string layout = "npy";
  std::int64_t repeats = 10;
  app.add_option("--layout", layout, "npy (separate arrays), tree (a neuralpredictors folder with tiers and repeated test "
                                     "images) or npz (the same packed)")
      ->check(CLI::IsMember({"npy", "tree", "npz"}));
  app.add_option("--repeats", repeats, "tree, npz: presentations of each test image, each with its own noise")->check(CLI::Range(2, 1000));
  app.add_option("--seed", config.seed, "random seed: the same seed gives the same files");
  app.add_option("--threads", threads, "worker threads (0: all cores)")->check(CLI::NonNegativeNumber);
  CLI11_PARSE(app, argc, argv);
  config.two_types = population == "two-types";
  const bool is_nonlinear = population == "v1" || population == "random-cnn";
  if (is_nonlinear && app.count("--neurons") > 0) {
    std::fprintf(stderr, "ww-simulate: %s populations have --types x --units-per-type neurons; --neurons is for linear ones\n", population.c_str());
    return int{ww::tools::bad_input};
  }
  nonlinear.teacher = population == "v1" ? ww::io::Teacher::v1 : ww::io::Teacher::random_cnn;
  nonlinear.train_samples = config.train_samples;
  nonlinear.test_samples = config.test_samples;
  nonlinear.seed = config.seed;

  return ww::tools::run_tool("ww-simulate", [&] {
    ww::ops::set_num_threads(threads);
    std::filesystem::create_directories(out);
    const ww::io::Population p = is_nonlinear ? ww::io::make_nonlinear_population(nonlinear) : ww::io::make_population(config);
    const std::int64_t image_size = is_nonlinear ? nonlinear.image_size : config.image_size;
    const std::pair<const char*, const ww::ad::Tensor*> files[] = {
        {"images.npy", &p.train.images},     {"responses.npy", &p.train.responses}, {"test_images.npy", &p.test_images},
        {"test_responses.npy", &p.test_truth}, {"locations.npy", &p.locations},     {"types.npy", &p.types},
        {"kernels.npy", &p.kernels}};
    if (layout != "npy") {
      // The recording, and the ground truth beside it (test_responses: noise-free, one row per image).
      const ww::io::Recording recording = ww::io::simulated_recording(p, repeats, config.seed + 1);
      if (layout == "tree") {
        ww::io::write_recording_tree(recording, out);
      } else {
        ww::io::write_recording_npz(recording, out + "/recording.npz");
      }
      std::filesystem::create_directories(out + "/truth");
      for (const auto& [name, tensor] : files)
        if (tensor->defined() && std::string(name).find("images") == std::string::npos && std::string(name) != "responses.npy")
          ww::io::write_npy(out + "/truth/" + name, *tensor);
      const std::string data = layout == "tree" ? out : out + "/recording.npz";
      std::printf("ww-simulate: %s population of %lld neurons as a %s recording in %s (%lld test images x %lld repeats); truth in %s/truth\n",
                  population.c_str(), static_cast<long long>(p.train.responses.shape()[1]), layout.c_str(), data.c_str(),
                  static_cast<long long>(config.test_samples), static_cast<long long>(repeats), out.c_str());
      std::printf("train: ww-train --config configs/%s.json --data %s --out RUN\n", is_nonlinear ? "nonlinear" : "linear", data.c_str());
      std::printf("score: ww-eval --checkpoint RUN/checkpoint.wwc --data %s\n", data.c_str());
      return int{ww::tools::ok};
    }
    for (const auto& [name, tensor] : files)
      if (tensor->defined()) ww::io::write_npy(out + "/" + name, *tensor);  // the random CNN has no kernel to write
    std::printf("ww-simulate: %s population of %lld neurons, %lld training and %lld test images of %lldx%lld in %s\n",
                population.c_str(), static_cast<long long>(p.train.responses.shape()[1]), static_cast<long long>(config.train_samples),
                static_cast<long long>(config.test_samples), static_cast<long long>(image_size),
                static_cast<long long>(image_size), out.c_str());
    std::printf("train: ww-train --config configs/%s.json --images %s/images.npy --responses %s/responses.npy --out RUN\n",
                is_nonlinear ? "nonlinear" : "linear", out.c_str(), out.c_str());
    std::printf("score: ww-eval --checkpoint RUN/checkpoint.wwc --images %s/test_images.npy --responses %s/test_responses.npy\n",
                out.c_str(), out.c_str());
    return int{ww::tools::ok};
  });
}
