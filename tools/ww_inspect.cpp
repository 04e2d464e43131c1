// ww-inspect: what a checkpoint holds (layers, shapes, parameter counts, training state), an
// export of its parameters as .npy and of kernels, masks and feature weights as PNG pictures,
// functional cell types (k-means of the neurons' normalised feature weights) and where each
// neuron reads.
#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "io/atomic_file.hpp"
#include "io/figures.hpp"
#include "io/npy.hpp"
#include "nn/clustering.hpp"
#include "tools/cli.hpp"
#include "tools/training.hpp"

namespace {

using ww::ad::Tensor;

// [out, in, k, k] -> [out*in, k, k] tiles.
Tensor kernel_tiles(const Tensor& kernel) {
  const auto& s = kernel.shape();
  return kernel.reshaped({s[0] * s[1], s[2], s[3]});
}

// k-means of the barcodes (k given, or by BIC up to 16), per neuron labels to `path`; with true
// types, their adjusted Rand index.
void write_cell_types(const ww::nn::Model& model, std::size_t recording, std::int64_t clusters, const std::string& true_types_path,
                      const std::string& path) {
  Tensor features;
  for (const auto& [name, var] : model.named_parameters())
    if (name == model.readout_prefix(recording) + "features") features = var.value();
  if (!features.defined()) {
    throw std::runtime_error("--cell-types: the " + ww::nn::to_string(model.config().readout.kind) +
                             " readout has no feature weights to cluster (factorized, fixed mask and Gaussian readouts do)");
  }
  const ww::nn::ReadoutKind kind = model.config().readout.kind;
  if (kind == ww::nn::ReadoutKind::gaussian || kind == ww::nn::ReadoutKind::retinotopic) {  // stored [N, K]: make it [K, N]
    const std::int64_t neurons = features.shape()[0], channels = features.shape()[1];
    Tensor transposed({channels, neurons});
    for (std::int64_t n = 0; n < neurons; ++n)
      for (std::int64_t k = 0; k < channels; ++k) transposed.data()[k * neurons + n] = features.data()[n * channels + k];
    features = transposed;
  }
  const Tensor barcodes = ww::nn::feature_barcodes(features);
  const ww::nn::Clustering clustering = clusters > 0 ? ww::nn::kmeans(barcodes, clusters) : ww::nn::kmeans_bic(barcodes, 16);
  const auto k = clustering.centroids.shape()[0];
  nlohmann::json out = {{"clusters", k}, {"chosen_by", clusters > 0 ? "given" : "BIC"}, {"bic", clustering.bic}, {"labels", clustering.labels}};
  std::printf("\ncell types   %lld clusters (%s) of %lld neurons' normalised feature weights", static_cast<long long>(k),
              clusters > 0 ? "given" : "BIC", static_cast<long long>(barcodes.shape()[0]));
  if (!true_types_path.empty()) {
    const Tensor truth = ww::io::read_npy(true_types_path).to_tensor();
    if (truth.numel() != clustering.labels.size()) {
      throw std::runtime_error(true_types_path + ": " + std::to_string(truth.numel()) + " types for " +
                               std::to_string(clustering.labels.size()) + " neurons");
    }
    std::vector<std::int64_t> types;
    for (std::size_t i = 0; i < truth.numel(); ++i) types.push_back(std::llround(truth.data()[i]));
    const double ari = ww::nn::adjusted_rand_index(clustering.labels, types);
    out["adjusted_rand_index"] = ari;
    std::printf(", adjusted Rand index %.3f against %s", ari, true_types_path.c_str());
  }
  ww::io::write_file_atomically(path, out.dump(1) + "\n");
  std::printf(" -> %s\n", path.c_str());
}

// Every neuron's (row, col) in pixels of the core output to `path` (.npy [N, 2]); with true
// locations, the mean distance to them in pixels.
void write_locations(ww::nn::Model& model, std::size_t recording, const std::string& true_locations_path, const std::string& path) {
  const Tensor where = model.readout(recording).locations();
  ww::io::write_npy(path, where);
  std::printf("\nlocations    %lld neurons -> %s", static_cast<long long>(where.shape()[0]), path.c_str());
  if (!true_locations_path.empty()) {
    const Tensor truth = ww::io::read_npy(true_locations_path).to_tensor();
    if (truth.shape() != where.shape()) {
      throw ww::io::FormatError(true_locations_path + ": shape " + ww::ad::shape_string(truth.shape()) + ", expected " +
                                ww::ad::shape_string(where.shape()) + " (row, col per neuron)");
    }
    // A shift shared by all neurons is not identifiable (the core's kernels can absorb it), so
    // the error is reported with and without it.
    const std::int64_t neurons = where.shape()[0];
    double shift[2] = {0.0, 0.0};
    for (std::int64_t n = 0; n < neurons; ++n)
      for (int a = 0; a < 2; ++a) shift[a] += (where.data()[n * 2 + a] - truth.data()[n * 2 + a]) / static_cast<double>(neurons);
    double total = 0.0, unshifted = 0.0;
    for (std::int64_t n = 0; n < neurons; ++n) {
      const double dr = where.data()[n * 2] - truth.data()[n * 2], dc = where.data()[n * 2 + 1] - truth.data()[n * 2 + 1];
      total += std::hypot(dr, dc);
      unshifted += std::hypot(dr - shift[0], dc - shift[1]);
    }
    std::printf(", mean distance to %s: %.3f pixels (%.3f without the common shift of %.2f, %.2f)", true_locations_path.c_str(),
                total / static_cast<double>(neurons), unshifted / static_cast<double>(neurons), shift[0], shift[1]);
  }
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ww-inspect: summarise a checkpoint and export its parameters"};
  std::string checkpoint_path, export_dir;
  int max_neurons = 64;
  app.add_option("--checkpoint", checkpoint_path, "checkpoint.wwc written by ww-train")->required()->check(CLI::ExistingFile);
  app.add_option("--export", export_dir, "folder for <parameter>.npy files and kernels/masks/features PNGs");
  app.add_option("--max-neurons", max_neurons, "neurons shown in the masks picture")->check(CLI::PositiveNumber);
  std::string cell_types, true_types;
  std::int64_t clusters = 0;
  app.add_option("--cell-types", cell_types, "write each neuron's functional cell type (k-means of its normalised feature weights) to this JSON file");
  app.add_option("--clusters", clusters, "cell types to find (default: chosen by BIC, up to 16)")->check(CLI::PositiveNumber);
  app.add_option("--true-types", true_types, "ground-truth types .npy [neurons] (e.g. ww-simulate's types.npy): report the adjusted Rand index")
      ->check(CLI::ExistingFile);
  std::string locations, true_locations;
  app.add_option("--locations", locations, "write each neuron's (row, col) in pixels of the core output to this .npy [neurons, 2]");
  app.add_option("--true-locations", true_locations,
                 "with --locations: true (row, col) .npy [neurons, 2] (e.g. ww-simulate's locations.npy): report the mean distance in pixels")
      ->check(CLI::ExistingFile);
  std::string data_key;
  app.add_option("--data-key", data_key, "a model of several recordings: the readout to cluster, locate and picture");
  CLI11_PARSE(app, argc, argv);
  return ww::tools::run_tool("ww-inspect", [&] {
    const ww::io::Checkpoint checkpoint = ww::io::load_checkpoint(checkpoint_path);
    auto model = ww::training::load_model(checkpoint);
    const ww::nn::ModelConfig& c = model->config();
    std::printf("checkpoint   %s (step %lld%s, best validation loss %.5g)\n", checkpoint_path.c_str(),
                static_cast<long long>(checkpoint.integer("step")), checkpoint.integer("finished") ? ", finished" : "",
                checkpoint.real("best_loss"));
    std::printf("input        [%lld,%lld,%lld]\n", static_cast<long long>(c.core.input_channels),
                static_cast<long long>(c.input_height), static_cast<long long>(c.input_width));
    ww::nn::ModelConfig partial = c;
    for (std::size_t i = 0; i < c.core.layers.size(); ++i) {
      const auto& l = c.core.layers[i];
      partial.core.layers.assign(c.core.layers.begin(), c.core.layers.begin() + static_cast<std::ptrdiff_t>(i) + 1);
      const auto out = ww::nn::core_output_shape(partial);
      std::printf("core %zu       conv %lldx%lld %s -> [%lld,%lld,%lld]%s, %s\n", i, static_cast<long long>(l.kernel),
                  static_cast<long long>(l.kernel), l.padding == ww::ops::Padding::valid ? "valid" : "same",
                  static_cast<long long>(out.channels), static_cast<long long>(out.height), static_cast<long long>(out.width),
                  l.batch_norm ? " + batch norm" : "", ww::nn::to_string(l.nonlinearity).c_str());
    }
    for (std::size_t r = 0; r < model->recording_count(); ++r) {
      std::printf("readout      %s%s, %lld neurons, %lld parameters per neuron, output %s\n",
                  model->data_key(r).empty() ? "" : ("'" + model->data_key(r) + "': ").c_str(),
                  ww::nn::to_string(c.readout.kind).c_str(), static_cast<long long>(model->neurons(r)),
                  static_cast<long long>(model->readout(r).parameters_per_neuron()), ww::nn::to_string(c.readout.output).c_str());
    }
    std::printf("loss         %s\n", ww::nn::to_string(c.loss).c_str());
    std::printf("\n%-36s %-16s %10s\n", "parameter", "shape", "count");
    for (const auto& [name, var] : model->named_parameters()) {
      std::printf("%-36s %-16s %10zu\n", name.c_str(), ww::ad::shape_string(var.shape()).c_str(), var.numel());
    }
    std::printf("%-36s %-16s %10zu\n", "total", "", model->parameter_count());
    // The summary covers every recording; what concerns one readout needs its key when there are several.
    const bool readout_work = !cell_types.empty() || !locations.empty() || !export_dir.empty();
    const std::size_t recording = readout_work ? ww::training::recording_index(*model, data_key) : 0;
    if (!cell_types.empty()) write_cell_types(*model, recording, clusters, true_types, cell_types);
    if (!locations.empty()) write_locations(*model, recording, true_locations, locations);
    if (export_dir.empty()) return int{ww::tools::ok};

    std::filesystem::create_directories(export_dir);
    for (const auto& [name, var] : model->named_parameters()) ww::io::write_npy(export_dir + "/" + name + ".npy", var.value());
    for (const auto& [name, tensor] : model->named_buffers()) ww::io::write_npy(export_dir + "/" + name + ".npy", tensor);
    const auto kernels = model->core().kernels();
    for (std::size_t i = 0; i < kernels.size(); ++i) {
      const Tensor& k = kernels[i].value();
      ww::io::write_tile_grid_png(export_dir + "/kernels_layer" + std::to_string(i) + ".png", kernel_tiles(k),
                                  static_cast<int>(k.shape()[1] == 1 ? 8 : k.shape()[1]), k.shape()[2] >= 9 ? 4 : 8);
    }
    const auto features = ww::nn::core_output_shape(c);
    for (const auto& [name, var] : model->named_parameters()) {
      if (name == model->readout_prefix(recording) + "mask") {
        const auto shown = std::min<std::int64_t>(max_neurons, model->neurons(recording));
        Tensor masks({shown, features.height, features.width});
        std::copy(var.value().data(), var.value().data() + masks.numel(), masks.data());
        ww::io::write_tile_grid_png(export_dir + "/masks.png", masks, 8, 4);
      } else if (name == model->readout_prefix(recording) + "features") {
        // One row per feature channel, one column per neuron (or transposed for the Gaussian readout).
        const auto& s = var.shape();
        ww::io::write_tile_grid_png(export_dir + "/features.png", var.value().reshaped({1, s[0], s[1]}), 1, 4);
      }
    }
    std::printf("\nexported to %s\n", export_dir.c_str());
    return int{ww::tools::ok};
  });
}
