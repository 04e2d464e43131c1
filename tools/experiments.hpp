#pragma once
// The paper's experiments as functions (ww-repro and the demo run them): each fits the models of
// a figure to simulated populations and returns one row per (model, population size, samples).
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "io/checkpoint.hpp"
#include "io/config.hpp"
#include "nn/config.hpp"
#include "io/populations.hpp"
#include "io/recording.hpp"

namespace ww::experiments {

struct Result {
  std::string model;       // "cnn" (factorized readout), "fixed_mask", "fully_connected", "glm", "ridge", "lasso", "ols"
  std::int64_t neurons = 0, samples = 0;
  double score = 0.0;       // mean over the neurons fitted of `metric`
  std::vector<double> score_by_type;  // the mean over each true type's neurons (type 0, 1, ...), where a population has several
  std::string metric = "fev";  // "fev" (noise-free test responses) or "correlation_to_average" (a recording's repeats)
  double seconds = 0.0;    // fitting time, all strengths of its grid search included
  std::string chosen;      // the regularisation chosen on validation data, readable
  ad::Tensor kernels;      // [K, k, k]: the CNN's first-layer kernels, or [1, k, k] the first neuron's regression weights
  ad::Tensor features;     // [K, N]: the CNN's feature weights (factorized and fixed-mask readouts)
  ad::Tensor masks;        // [N, H*W]: the factorized readout's location masks
  double type_accuracy = -1.0;  // cell-type classification by feature weights, where types are known
  std::shared_ptr<const io::Checkpoint> checkpoint;  // the chosen CNN, e.g. to transfer its core
  double type_ari = -2.0;       // adjusted Rand index of k-means clusters of the barcodes vs the true types (ARI >= -1)
  double kernel_similarity = -1.0;  // learned kernels against the true types' average kernels (0..1), where known
  double validation_loss = std::numeric_limits<double>::infinity();  // of the chosen CNN
  std::size_t candidate = 0;    // fit_cnn: the index of the chosen candidate
  float factor = 0.f;           // fit_strength_search: the chosen strength factor
  std::vector<float> factors_tried;  // fit_strength_search: every factor tried, in order
};

struct Strengths {
  float mask_l1 = 0.f, feature_l1 = 0.f;
};

// A model configuration to try, and how to name its regularisation in reports.
struct Candidate {
  io::Config config;
  std::string description;
  std::shared_ptr<const io::Checkpoint> core_from;  // a core to start from (Trainer::transfer_core), or none
};

// Trains every candidate on the population's training data by its schedule; the one with the
// lowest validation loss is tested. Returns its mean test FEV, first-layer kernels and (factorized
// and fixed-mask readouts) feature weights, named `model`.
// With a `progress_folder`, each candidate's training state is kept there (candidate_checkpoint)
// every few minutes and when it finishes, and a candidate whose checkpoint is there continues from
// it: a search interrupted after hours loses minutes, with the result of an uninterrupted one.
Result fit_cnn(const io::Population& population, const std::string& model, const std::vector<Candidate>& candidates,
               const std::string& progress_folder = "");
std::string candidate_checkpoint(const std::string& progress_folder, std::size_t candidate);

// A grid search along one strength factor: candidates at `factors` (ascending, a constant ratio
// apart). A grid's edges are a guess: when the candidate with the lowest validation loss is the
// weakest or the strongest tried, the best strength may lie beyond, so a candidate one ratio
// further that way is tried, up to `widen_steps` times.
struct StrengthSearch {
  std::vector<float> factors;
  std::function<Candidate(float factor)> candidate_at;
  std::size_t widen_steps = 2;
};

// fit_cnn over the search's candidates, widened at an edge as above (candidates' checkpoints
// numbered in the order tried). `earlier`: a result of this search kept before it was finished
// (e.g. by a version that did not widen); its choice stands for the factors it tried, and only
// the candidates beyond are trained, with the result of a search run whole.
Result fit_strength_search(const io::Population& population, const std::string& model, const StrengthSearch& search,
                           const std::string& progress_folder = "", const Result* earlier = nullptr);

// The factor a search with this result so far tries next, or 0 when it is finished.
float next_strength_factor(const StrengthSearch& search, const Result& result);

// A recording's first `images` training images and its whole validation tier, as ww-train splits them.
io::TrainingSplit first_training_images(const io::Recording& recording, std::int64_t images);

// The candidate trained on `split` (normalised, as ww-train --data), scored on the recording's test
// tier by the mean correlation to the average over repeats (metric "correlation_to_average").
Result fit_recording(const io::Recording& recording, const io::TrainingSplit& split, const std::string& model, const Candidate& candidate);

// The paper's linear model (one 17x17 conv, K channels, BN, identity; factorized readout) over a
// grid of strengths, then at the chosen strengths with each of `smoothness` (the kernel's
// normalised Laplacian penalty); the lowest validation loss of all is kept.
// progress_folder: as fit_cnn's.
Result fit_factorized_cnn(const io::Population& population, std::int64_t channels, const std::vector<Strengths>& grid,
                          const std::vector<float>& smoothness, std::uint64_t seed, const std::string& progress_folder = "");

// The paper's Fig. 5 model: three 5x5 conv layers with 32, 64 and `types` channels, BN + ReLU,
// batch 64, with the given readout. Its penalties are factor / N (the loss averages over the N
// neurons): factorized: mask and feature L1; fixed mask: feature L1; fully connected: L1 on the
// predicted responses and L2 on the readout tensor at 300 x factor / N.
io::Config nonlinear_model_config(std::int64_t types, nn::ReadoutKind readout, float factor, std::int64_t neurons, std::uint64_t seed);

// The ridge-regularised GLM with a ReLU and an offset (Fig. 5's baseline) on the whole flattened
// image, each neuron's strength chosen on the last 20% of the training samples.
Result fit_glm_baseline(const io::Population& population, std::uint64_t seed);

// The share of neurons whose largest |feature weight| [K, N] names their true type [N] (0..K-1),
// under the best matching of channels to types (the model's channel order is arbitrary).
double type_accuracy(const ad::Tensor& features, const ad::Tensor& types);

// k-means (k = the number of true types) of the normalised feature weights [K, N] against the
// true types [N]: the adjusted Rand index.
double type_clustering_ari(const ad::Tensor& features, const ad::Tensor& types, std::uint64_t seed);

// How well learned kernels [K, k, k] resemble each true type's average kernel (true_kernels
// [N, k, k], types [N]): per type, the absolute correlation of its learned kernel with the average,
// at the best shift of up to `max_shift` pixels (a kernel and its masks may trade a shift, and a
// kernel and its feature weights a sign); the worst type's, under the best matching of kernels to
// types.
double kernel_similarity(const ad::Tensor& kernels, const ad::Tensor& true_kernels, const ad::Tensor& types,
                         std::int64_t max_shift = 3);

// Ridge, lasso or OLS per neuron on the 17x17 stimulus crop at its true location (as the paper's
// baselines), strength chosen on the last 20% of the training samples; `neurons` of the population
// (the first ones) are fitted.
Result fit_regression(const io::Population& population, const std::string& kind, std::int64_t neurons);

// Training configuration of the linear model with the given strengths.
io::Config linear_model_config(std::int64_t channels, float mask_l1, float feature_l1, std::uint64_t seed);

}  // namespace ww::experiments
