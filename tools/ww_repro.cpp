// ww-repro: the paper's experiments on simulated populations, end to end. Each experiment
// simulates its populations, fits the factorized CNN (strengths by grid search on validation
// loss) and the per-neuron regression baselines, and writes DIR/summary.json with every number
// and PNG figures. `mini` is the paper in miniature (the README's main job).
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "io/atomic_file.hpp"
#include "io/figures.hpp"
#include "ops/isa.hpp"
#include "ops/parallel.hpp"
#include "tools/cli.hpp"
#include "tools/experiments.hpp"

namespace {

using ww::experiments::Result;

struct Plan {
  bool two_types = false;      // SPEC 4.2 (Fig. 4): K = 2 and feature weights penalised too
  std::vector<std::int64_t> neurons, samples;
  // mask_l1 = factor / N: the loss averages over neurons, so a neuron's share of the penalty
  // stays the same for any population size. With one channel the feature weight is only a scale
  // and is not penalised.
  std::vector<float> strength_factors;
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
    plan.regressions = {"ridge", "lasso", "ols"};
  } else {
    plan.neurons = {1, 10, 100, 1000};
    plan.samples = {64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384};
    plan.strength_factors = {0.01f, 0.03f, 0.1f, 0.3f};
    plan.regressions = {"ridge", "lasso", "ols"};
    plan.regression_neurons = 50;
  }
  return plan;
}

nlohmann::json to_json(const Result& r) {
  nlohmann::json j = {{"model", r.model}, {"neurons", r.neurons}, {"samples", r.samples}, {"fev", r.fev}, {"seconds", r.seconds},
                      {"chosen", r.chosen}};
  if (r.type_accuracy >= 0) j["type_accuracy"] = r.type_accuracy;
  return j;
}

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

std::string series_name(const Result& r) { return r.model == "cnn" ? "CNN " + std::to_string(r.neurons) : r.model; }

void write_figures(const std::string& out, const std::string& experiment, const std::vector<Result>& results,
                   const ww::io::Population& largest, const Plan& plan, std::vector<std::string>& written) {
  std::map<std::string, ww::io::Series> by_name;
  std::vector<std::string> order;
  for (const Result& r : results) {
    const std::string name = series_name(r);
    if (!by_name.count(name)) order.push_back(name);
    ww::io::Series& s = by_name[name];
    s.label = name;
    s.x.push_back(static_cast<double>(r.samples));
    s.y.push_back(r.fev);
  }
  std::vector<ww::io::Series> series;
  for (std::size_t i = 0; i < order.size(); ++i) {
    series.push_back(by_name[order[i]]);
    series.back().colour = ww::io::palette(i);
  }
  if (plan.samples.size() > 1) {
    const std::string plot = out + "/fev_vs_samples.png";
    ww::io::write_line_plot_png(plot, series, {experiment + ": FEV vs training samples (below 0 drawn at 0)", "samples", "FEV", true, 0.0, 1.0});
    written.push_back(plot);
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

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ww-repro: the paper's simulations, fitted and plotted (summary.json + PNG figures)"};
  std::string experiment = "mini", out;
  bool quick = false;
  int threads = 0;
  std::uint64_t seed = 1;
  app.add_option("experiment", experiment,
                 "mini (the paper in miniature, ~1 min), fig3 (linear population, Fig. 3) or fig4 (two cell types, Fig. 4)")
      ->check(CLI::IsMember({"mini", "fig3", "fig4"}));
  app.add_option("--out", out, "output folder (default results/<experiment>)");
  app.add_flag("--quick", quick, "a smaller grid (fig3: N 10/100/1000 x 256/1024/4096 samples, < 15 min on 2 cores)");
  app.add_option("--seed", seed, "populations and training seed");
  app.add_option("--threads", threads, "worker threads (0: all cores)")->check(CLI::NonNegativeNumber);
  CLI11_PARSE(app, argc, argv);
  if (out.empty()) out = "results/" + experiment;

  return ww::tools::run_tool("ww-repro", [&] {
    ww::ops::set_num_threads(threads);
    std::filesystem::create_directories(out);
    const Plan plan = plan_for(experiment, quick);
    const auto start = std::chrono::steady_clock::now();
    std::printf("ww-repro %s%s: %s, %s, %d threads, results in %s\n", experiment.c_str(), quick ? " --quick" : "",
                plan.two_types ? "two-type DoG population (SPEC 4.2)" : "linear DoG population (SPEC 4.1)", ww::ops::isa_name(ww::ops::current_isa()), ww::ops::num_threads(), out.c_str());
    std::vector<Result> results;
    auto report = [&](const Result& r) {
      std::printf("  %-6s N=%-5lld D=%-6lld FEV %6.3f  (%s) %.1f s", r.model.c_str(), static_cast<long long>(r.neurons),
                  static_cast<long long>(r.samples), r.fev, r.chosen.c_str(), r.seconds);
      if (r.type_accuracy >= 0) std::printf("; %.1f%% of cells typed right by their largest feature weight", 100 * r.type_accuracy);
      std::printf("\n");
      std::fflush(stdout);
      results.push_back(r);
    };
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
        std::vector<ww::experiments::Strengths> grid;
        for (const float factor : plan.strength_factors) {
          const float strength = factor / static_cast<float>(neurons);
          grid.push_back({strength, plan.two_types ? strength : 0.f});
        }
        Result cnn = ww::experiments::fit_factorized_cnn(p, plan.two_types ? 2 : 1, grid, seed);
        if (plan.two_types) cnn.type_accuracy = ww::experiments::type_accuracy(cnn.features, p.types);
        report(cnn);
        if (neurons != plan.neurons.back()) continue;
        for (const std::string& kind : plan.regressions) {
          report(ww::experiments::fit_regression(p, kind, std::min(neurons, plan.regression_neurons)));
        }
        largest = std::move(p);
      }
    }
    std::vector<std::string> figures;
    if (plan.two_types) {
      write_type_figures(out, results.front(), largest, figures);
    } else {
      write_figures(out, experiment, results, largest, plan, figures);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    nlohmann::json summary = {{"experiment", experiment}, {"quick", quick}, {"seed", seed}, {"threads", ww::ops::num_threads()},
                              {"seconds", seconds}, {"results", nlohmann::json::array()}, {"figures", figures}};
    for (const Result& r : results) summary["results"].push_back(to_json(r));
    ww::io::write_file_atomically(out + "/summary.json", summary.dump(2) + "\n");
    std::printf("done in %.0f s: %s/summary.json", seconds, out.c_str());
    for (const std::string& f : figures) std::printf(", %s", f.c_str());
    std::printf("\n");
    return int{ww::tools::ok};
  });
}
