// ww-bench: times the engine's ops on the project's workloads (float32, NCHW) and the op table.
// Speed claims of the project come from here, never from tests.
#include <CLI/CLI.hpp>
#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include "autodiff/allocator.hpp"
#include "autodiff/functions.hpp"
#include "io/config.hpp"
#include "nn/model.hpp"
#include "nn/readout.hpp"
#include "ops/optimizer.hpp"
#include "optim/adam.hpp"
#include "ops/isa.hpp"
#include "ops/parallel.hpp"
#include "tests/op_cases.hpp"

namespace {

using ww::ad::Shape;
using ww::ad::Tensor;
using ww::ad::Var;

struct Workload {
  std::string name;
  double flops;                              // per run; 0 where not meaningful
  std::function<std::function<void()>()> setup;  // prepares inputs, returns the timed body
  double bytes = 0;  // per run, where memory traffic is the limit: what each op of the timed graph must read and write at least
};

Tensor random_tensor(const Shape& shape, unsigned seed) {
  Tensor t(shape);
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.f, 1.f);
  for (std::size_t i = 0; i < t.numel(); ++i) t.data()[i] = dist(rng);
  return t;
}

// Forward only, or forward + backward through the tape from f(inputs) seeded with a fixed random
// cotangent r (the gradient of sum(f(inputs) * r), without timing that product and sum).
std::function<void()> timed_pass(std::vector<Var> inputs, std::function<Var(const std::vector<Var>&)> f,
                                 bool with_backward) {
  Tensor cotangent;
  if (with_backward) {
    ww::ad::NoGradGuard no_grad;
    cotangent = random_tensor(f(inputs).shape(), 99);
  }
  return [inputs, f, with_backward, cotangent] {
    if (!with_backward) {
      ww::ad::NoGradGuard no_grad;
      f(inputs);
      return;
    }
    // As compare_torch.py (t.grad = None) and the optimizers: every pass starts without gradients.
    for (const Var& v : inputs) const_cast<Var&>(v).clear_grad();
    ww::ad::backward(f(inputs), cotangent);
  };
}

// For ops that memory traffic limits: passes over a tensor of `tensor_bytes` that the op must make
// at least, forward and backward.
struct Traffic {
  double tensor_bytes = 0;
  int forward_passes = 0, backward_passes = 0;
};

void add_pair(std::vector<Workload>& out, const std::string& name, double forward_flops,
              std::function<std::vector<Var>()> make_inputs, std::function<Var(const std::vector<Var>&)> f,
              const Traffic& traffic = {}) {
  for (bool backward : {false, true}) {
    // Backward of a linear op costs two forward passes (input and weight gradients).
    const int passes = traffic.forward_passes + (backward ? traffic.backward_passes : 0);
    out.push_back({name + (backward ? "_fwdbwd" : "_fwd"), forward_flops * (backward ? 3 : 1),
                   [=] { return timed_pass(make_inputs(), f, backward); }, traffic.tensor_bytes * passes});
  }
}

std::vector<Workload> workloads() {
  std::vector<Workload> list;
  struct Conv {
    const char* name;
    std::int64_t batch, in, out, kernel, side;
  };
  for (const Conv& c : {Conv{"conv_nl1", 64, 1, 32, 5, 44}, Conv{"conv_nl2", 64, 32, 64, 5, 40},
                        Conv{"conv_nl3", 64, 64, 4, 5, 36}, Conv{"conv_v1_1", 256, 1, 48, 13, 31},
                        Conv{"conv_v1_2", 256, 48, 48, 3, 19}, Conv{"conv_lin", 256, 1, 1, 17, 48}}) {
    const std::int64_t out_side = c.side - c.kernel + 1;
    const double flops = 2.0 * c.batch * c.out * out_side * out_side * c.in * c.kernel * c.kernel;
    add_pair(list, c.name, flops,
             [c] {
               return std::vector<Var>{Var::parameter(random_tensor({c.batch, c.in, c.side, c.side}, 1)),
                                       Var::parameter(random_tensor({c.out, c.in, c.kernel, c.kernel}, 2))};
             },
             [](const std::vector<Var>& in) { return ww::ad::conv2d(in[0], in[1]); });
  }
  const Shape activation{64, 32, 40, 40};
  auto one_input = [activation] { return std::vector<Var>{Var::parameter(random_tensor(activation, 3))}; };
  // A nonlinearity reads x and writes y; its backward reads x and dy and writes dx. Batch norm
  // also reads x for its statistics, and its backward first reads x and dy for its sums.
  const double activation_bytes = 4.0 * activation[0] * activation[1] * activation[2] * activation[3];
  const Traffic nonlinearity{activation_bytes, 2, 3}, normalisation{activation_bytes, 3, 5};
  add_pair(list, "softplus", 0, one_input, [](const std::vector<Var>& in) { return ww::ad::softplus(in[0]); }, nonlinearity);
  add_pair(list, "relu", 0, one_input, [](const std::vector<Var>& in) { return ww::ad::relu(in[0]); }, nonlinearity);
  auto state = std::make_shared<ww::ad::BatchNormState>(ww::ad::BatchNormState::init(32));
  add_pair(list, "batchnorm",
           0,
           [activation] {
             return std::vector<Var>{Var::parameter(random_tensor(activation, 4)),
                                     Var::parameter(Tensor::full({32}, 1.f)), Var::parameter(Tensor::zeros({32}))};
           },
           [state](const std::vector<Var>& in) { return ww::ad::batchnorm2d(in[0], in[1], in[2], *state, true); },
           normalisation);
  // Readouts on a core output [B, K, H, W]: forward, and forward + backward into the core output
  // and the readout's parameters.
  struct ReadoutWorkload {
    const char* name;
    ww::nn::ReadoutKind kind;
    std::int64_t batch, channels, height, width, neurons;
  };
  for (const ReadoutWorkload& r : {ReadoutWorkload{"readout_nl", ww::nn::ReadoutKind::factorized, 64, 4, 32, 32, 1000},
                                   ReadoutWorkload{"readout_v1", ww::nn::ReadoutKind::factorized, 256, 48, 15, 15, 103},
                                   ReadoutWorkload{"readout_big", ww::nn::ReadoutKind::factorized, 64, 64, 18, 32, 5000},
                                   ReadoutWorkload{"gaussian_big", ww::nn::ReadoutKind::gaussian, 64, 64, 18, 32, 5000}}) {
    for (bool backward : {false, true}) {
      list.push_back({std::string(r.name) + (backward ? "_fwdbwd" : "_fwd"), 0, [r, backward] {
                        ww::nn::ReadoutConfig config;
                        config.kind = r.kind;
                        std::mt19937_64 rng(7);
                        std::shared_ptr<ww::nn::Readout> readout =
                            ww::nn::make_readout(config, r.neurons, r.channels, r.height, r.width, rng);
                        auto samples = std::make_shared<std::mt19937_64>(8);
                        return timed_pass({Var::parameter(random_tensor({r.batch, r.channels, r.height, r.width}, 9))},
                                          [readout, samples](const std::vector<Var>& in) { return readout->forward(in[0], *samples); },
                                          backward);
                      }});
    }
  }
  // One training step (forward, loss, penalties, backward, Adam) of the paper's three models.
  struct Step {
    const char* name;
    const char* config;
    std::int64_t batch, side, neurons;
  };
  for (const Step& st : {Step{"step_linear", R"({"model": {"core": {"layers": [{"channels": 1, "kernel": 17, "nonlinearity": "identity"}]},
                               "penalties": {"mask_l1": 0.01, "feature_l1": 0.01}}})", 256, 48, 1000},
                          Step{"step_nonlinear", R"({"model": {"core": {"layers": [{"channels": 32, "kernel": 5}, {"channels": 64, "kernel": 5},
                               {"channels": 4, "kernel": 5}]}, "penalties": {"mask_l1": 0.01, "feature_l1": 0.01}}})", 64, 44, 1000},
                          Step{"step_v1", R"({"model": {"core": {"layers": [{"channels": 48, "kernel": 13, "nonlinearity": "softplus"},
                               {"channels": 48, "kernel": 3, "nonlinearity": "softplus"}, {"channels": 48, "kernel": 3, "nonlinearity": "identity"}]},
                               "readout": {"positive": true, "output": "softplus"}, "loss": "poisson",
                               "penalties": {"smoothness": 0.01, "smoothness_normalized": true, "group_sparsity": 0.01,
                               "readout_product": 0.01}}})", 256, 31, 103}}) {
    list.push_back({st.name, 0, [st] {
                      ww::io::Config config = ww::io::parse_config(st.config, st.name);
                      config.model.input_height = config.model.input_width = st.side;
                      config.model.neurons = st.neurons;
                      auto model = std::make_shared<ww::nn::Model>(config.model, 1);
                      auto adam = std::make_shared<ww::optim::Adam>(model->parameters());
                      const Var images = Var::constant(random_tensor({st.batch, 1, st.side, st.side}, 5));
                      Tensor responses = random_tensor({st.batch, st.neurons}, 6);
                      for (std::size_t i = 0; i < responses.numel(); ++i) responses.data()[i] = std::abs(responses.data()[i]);
                      const Var targets = Var::constant(responses);
                      return std::function<void()>([model, adam, images, targets] {
                        adam->zero_grad();
                        const Var prediction = model->forward(images);
                        ww::ad::backward(ww::ad::add(model->loss(prediction, targets), model->penalty(prediction)));
                        adam->step();
                      });
                    }});
  }
  // Every case of the op table (small shapes: dispatch and tape overheads).
  for (const auto& c : ww::testing::op_cases()) {
    list.push_back({"op/" + c.name + "_fwdbwd", 0, [&c] {
                      std::vector<Var> vars;
                      const auto tensors = ww::testing::make_inputs(c, 1);
                      for (std::size_t i = 0; i < tensors.size(); ++i)
                        vars.push_back(c.inputs[i].differentiable ? Var::parameter(tensors[i]) : Var::constant(tensors[i]));
                      return timed_pass(vars, c.run, true);
                    }});
  }
  return list;
}

// The process's peak resident set: VmHWM, which starts afresh at exec (getrusage's ru_maxrss
// keeps the parent's size across fork and exec: 547 MB under compare_torch.py's Python for a
// 45 MB workload).
double peak_rss_mb() {
  if (std::FILE* status = std::fopen("/proc/self/status", "r")) {
    char line[256];
    long kb = -1;
    while (std::fgets(line, sizeof line, status) != nullptr)
      if (std::sscanf(line, "VmHWM: %ld kB", &kb) == 1) break;
    std::fclose(status);
    if (kb >= 0) return static_cast<double>(kb) / 1024.0;
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // kB on Linux
}

struct Result {
  std::string name;
  int threads;
  double median_ms, min_ms, gflops, peak_rss_mb;
  int repeats;
  double fma_peak_gflops;  // measured around this workload's timing at its thread count; 0 where gflops is not defined
  double peak_fraction;    // gflops / fma_peak_gflops
  double gbps;  // bytes / median; 0 where bytes is not defined
  double bandwidth_fraction;  // of the measured memory bandwidth
  double speedup;  // over the first thread count given: the median of the same round's ratios
};

// Starts VmHWM afresh from the current resident set.
void reset_peak_rss() {
  if (std::FILE* refs = std::fopen("/proc/self/clear_refs", "w")) {
    std::fputs("5", refs);
    std::fclose(refs);
  }
}

// The machine's memory bandwidth on `threads` threads: memcpy of 128 MB in 1 MB chunks, read plus
// written bytes over the best of 5 runs, in GB/s.
double measure_copy_bandwidth_gbps(int threads) {
  constexpr std::size_t floats = std::size_t{32} << 20, chunk = std::size_t{1} << 18;
  double best = 0.0;
  {
    std::vector<float> from(floats, 1.f), to(floats, 0.f);
    ww::ops::set_num_threads(threads);
    for (int run = 0; run < 5; ++run) {
      const auto start = std::chrono::steady_clock::now();
      ww::ops::parallel_for(floats / chunk, 1, [&](std::size_t, std::size_t i, std::size_t) {
        std::memcpy(to.data() + i * chunk, from.data() + i * chunk, chunk * sizeof(float));
      });
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      best = std::max(best, 2.0 * floats * sizeof(float) / seconds * 1e-9);
    }
  }
  return best;
}

// Times one workload at each thread count in `threads`, in alternation: round r runs the body once
// per thread count, so a drift of the shared host's speed falls on every count alike, and the
// speedup is the median over rounds of the first count's time over each count's in the same round.
std::vector<Result> measure(const Workload& w, const std::vector<int>& threads, double min_seconds) {
  // Each workload's own peak memory: the tensors earlier workloads left in the allocator's cache
  // (sizes this one may never ask for) go back to the system first.
  ww::ad::empty_cache();
  reset_peak_rss();
  const std::function<void()> body = w.setup();
  // A shared machine's neighbours take a varying share of the FMA units: the peak a workload is
  // compared to is measured just before and just after its own timing, not once for the run.
  const auto fma_peak = [&](int t) { return w.flops > 0 ? ww::ops::measure_fma_peak_gflops(t, 0.1) : 0.0; };
  std::vector<double> peak_before;
  for (int t : threads) {
    ww::ops::set_num_threads(t);
    body();  // warm-up: caches, scratch buffers, allocator
    peak_before.push_back(fma_peak(t));
  }
  std::vector<std::vector<double>> times(threads.size());
  double total = 0.0;
  while (times[0].size() < 5 || (total < min_seconds * threads.size() && times[0].size() < 1000)) {
    for (std::size_t i = 0; i < threads.size(); ++i) {
      ww::ops::set_num_threads(threads[i]);
      const auto start = std::chrono::steady_clock::now();
      body();
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      times[i].push_back(seconds);
      total += seconds;
    }
  }
  const double rss = peak_rss_mb();
  std::vector<Result> results;
  for (std::size_t i = 0; i < threads.size(); ++i) {
    const double peak = (peak_before[i] + fma_peak(threads[i])) / 2;
    std::vector<double> speedups;
    for (std::size_t round = 0; round < times[i].size(); ++round) speedups.push_back(times[0][round] / times[i][round]);
    std::sort(speedups.begin(), speedups.end());
    std::vector<double> sorted = times[i];
    std::sort(sorted.begin(), sorted.end());
    const double median = sorted[sorted.size() / 2];
    const double gflops = w.flops > 0 ? w.flops / median * 1e-9 : 0.0;
    results.push_back({w.name, threads[i], median * 1e3, sorted.front() * 1e3, gflops, rss,
                       static_cast<int>(sorted.size()), peak, peak > 0 ? gflops / peak : 0.0,
                       w.bytes > 0 ? w.bytes / median * 1e-9 : 0.0, 0.0, speedups[speedups.size() / 2]});
  }
  return results;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ww-bench: time whatwhere's ops on the project's workloads"};
  std::string filter = "^conv|^softplus|^relu|^batchnorm|^readout|^gaussian|^step", format = "table";
  std::vector<int> threads{2};
  double min_seconds = 0.5;
  bool list_only = false;
  app.add_option("--filter", filter, "regular expression selecting workloads by name (ECMAScript, searched)");
  app.add_option("--threads", threads, "thread counts, timed in alternation, e.g. --threads 1 2 (speedups are over the first)")->check(CLI::PositiveNumber);
  app.add_option("--format", format, "table or json")->check(CLI::IsMember({"table", "json"}));
  app.add_option("--min-seconds", min_seconds, "time each workload at least this long times the number of thread counts")->check(CLI::PositiveNumber);
  app.add_flag("--list", list_only, "list the workload names and exit");
  CLI11_PARSE(app, argc, argv);

  std::regex pattern;
  try {
    pattern = std::regex(filter);
  } catch (const std::regex_error& e) {
    std::fprintf(stderr, "ww-bench: --filter '%s' is not a valid regular expression: %s\n", filter.c_str(), e.what());
    return 2;
  }
  std::vector<Workload> selected;
  for (Workload& w : workloads())
    if (std::regex_search(w.name, pattern)) selected.push_back(std::move(w));
  if (selected.empty()) {
    std::fprintf(stderr, "ww-bench: no workload matches --filter '%s' (see --list)\n", filter.c_str());
    return 2;
  }
  if (list_only) {
    for (const Workload& w : selected) std::printf("%s\n", w.name.c_str());
    return 0;
  }
  // The memory bandwidth per thread count, the ceiling of the workloads that memory traffic limits
  // (the FMA peak, the others', is measured around each workload).
  std::map<int, double> bandwidth;
  const bool any_bytes = std::any_of(selected.begin(), selected.end(), [](const Workload& w) { return w.bytes > 0; });
  for (int t : threads) {
    if (!any_bytes) continue;
    bandwidth[t] = measure_copy_bandwidth_gbps(t);
    if (format == "table") std::printf("measured memory bandwidth (memcpy), %d threads: %.1f GB/s\n", t, bandwidth[t]);
  }
  std::vector<Result> results;
  for (const Workload& w : selected) {
    for (Result& r : measure(w, threads, min_seconds)) {
      if (r.gbps > 0) r.bandwidth_fraction = r.gbps / bandwidth[r.threads];
      results.push_back(r);
      if (format == "table") {
        if (results.size() == 1) {
          std::printf("instruction set %s\n%-48s %7s %10s %10s %9s %9s %7s %7s %6s %9s %8s\n", ww::ops::isa_name(ww::ops::current_isa()),
                      "workload", "threads", "median_ms", "min_ms", "GFLOP/s", "FMA_peak", "%peak", "GB/s", "%bw", "rss_MB",
                      "speedup");
        }
        std::printf("%-48s %7d %10.3f %10.3f %9.1f %9.1f %7.1f %7.1f %6.1f %9.1f %8.2f\n", r.name.c_str(), r.threads, r.median_ms,
                    r.min_ms, r.gflops, r.fma_peak_gflops, 100.0 * r.peak_fraction, r.gbps, 100.0 * r.bandwidth_fraction,
                    r.peak_rss_mb, r.speedup);
        std::fflush(stdout);
      }
    }
  }
  if (format == "json") {
    std::printf("[");
    for (std::size_t i = 0; i < results.size(); ++i) {
      const Result& r = results[i];
      std::printf("%s\n  {\"name\": \"%s\", \"threads\": %d, \"median_ms\": %.6f, \"min_ms\": %.6f, \"gflops\": %s, "
                  "\"peak_fraction\": %s, \"fma_peak_gflops\": %s, \"gbps\": %s, \"bandwidth_fraction\": %s, "
                  "\"peak_rss_mb\": %.1f, \"repeats\": %d, \"speedup\": %.4f, \"isa\": \"%s\"}",
                  i == 0 ? "" : ",", r.name.c_str(), r.threads, r.median_ms, r.min_ms,
                  r.gflops > 0 ? std::to_string(r.gflops).c_str() : "null",
                  r.gflops > 0 ? std::to_string(r.peak_fraction).c_str() : "null",
                  r.gflops > 0 ? std::to_string(r.fma_peak_gflops).c_str() : "null",
                  r.gbps > 0 ? std::to_string(r.gbps).c_str() : "null",
                  r.gbps > 0 ? std::to_string(r.bandwidth_fraction).c_str() : "null", r.peak_rss_mb, r.repeats, r.speedup,
                  ww::ops::isa_name(ww::ops::current_isa()));
    }
    std::printf("\n]\n");
  }
  return 0;
}
