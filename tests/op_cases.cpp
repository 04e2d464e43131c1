#include "tests/op_cases.hpp"

#include <cmath>

namespace ww::testing {
namespace {

using ad::Shape;
using ad::Var;
using Draw = std::function<float(std::mt19937&)>;
using ref::Values;

Draw normal() {
  return [](std::mt19937& rng) { return std::normal_distribution<float>(0.f, 1.f)(rng); };
}
Draw uniform(float lo, float hi) {
  return [lo, hi](std::mt19937& rng) { return std::uniform_real_distribution<float>(lo, hi)(rng); };
}
// |x| in [0.1, 2], either sign: clear of the kinks of abs, relu and elu at 0.
Draw away_from_zero() {
  return [](std::mt19937& rng) {
    const float magnitude = std::uniform_real_distribution<float>(0.1f, 2.f)(rng);
    return std::bernoulli_distribution(0.5)(rng) ? magnitude : -magnitude;
  };
}
// Positions in [-1,1] coordinates of a map whose smaller side is `side` pixels, from one pixel
// outside the map to its far edge, clear of pixel centres (where bilinear sampling has kinks).
Draw position(long side) {
  return [side](std::mt19937& rng) {
    const long pixel = std::uniform_int_distribution<long>(-1, side - 1)(rng);
    const double at = static_cast<double>(pixel) + std::uniform_real_distribution<double>(0.2, 0.8)(rng);
    return static_cast<float>(at / static_cast<double>(side - 1) * 2.0 - 1.0);
  };
}

std::vector<OpCase> build() {
  std::vector<OpCase> cases;

  // Unary ops: odd sizes (SIMD tails) and one input spanning several parallel chunks.
  struct UnaryInfo {
    const char* op;
    Var (*fn)(const Var&);
    Draw draw;
  };
  const std::vector<UnaryInfo> unary_ops = {
      {"neg", ad::neg, normal()},         {"exp", ad::exp, normal()},
      {"log", ad::log, uniform(0.5f, 2.f)}, {"abs", ad::abs, away_from_zero()},
      {"sqrt", ad::sqrt, uniform(0.5f, 2.f)}, {"square", ad::square, normal()},
      {"relu", ad::relu, away_from_zero()}, {"softplus", ad::softplus, normal()},
      {"sigmoid", ad::sigmoid, normal()},     {"tanh", ad::tanh, normal()},
  };
  for (const auto& u : unary_ops) {
    for (const Shape& shape : {Shape{3, 5, 7}, Shape{1}, Shape{70001}}) {
      const std::string op = u.op;
      auto fn = u.fn;
      cases.push_back({op + "/" + ad::shape_string(shape), op, {{"x", shape, u.draw}},
                       [fn](const std::vector<Var>& in) { return fn(in[0]); },
                       [op](const std::vector<Values>& in) { return ref::unary(op.c_str(), in[0]); }});
    }
  }
  cases.push_back({"softplus/large_inputs", "softplus", {{"x", {4, 33}, uniform(-60.f, 60.f)}},
                   [](const std::vector<Var>& in) { return ad::softplus(in[0]); },
                   [](const std::vector<Values>& in) { return ref::unary("softplus", in[0]); }});
  cases.push_back({"sigmoid/large_inputs", "sigmoid", {{"x", {4, 33}, uniform(-60.f, 60.f)}},
                   [](const std::vector<Var>& in) { return ad::sigmoid(in[0]); },
                   [](const std::vector<Values>& in) { return ref::unary("sigmoid", in[0]); }});
  cases.push_back({"tanh/large_inputs", "tanh", {{"x", {4, 33}, uniform(-60.f, 60.f)}},
                   [](const std::vector<Var>& in) { return ad::tanh(in[0]); },
                   [](const std::vector<Values>& in) { return ref::unary("tanh", in[0]); }});
  for (const Shape& shape : {Shape{3, 5, 7}, Shape{70001}}) {
    cases.push_back({"elu/" + ad::shape_string(shape), "elu", {{"x", shape, away_from_zero()}},
                     [](const std::vector<Var>& in) { return ad::elu(in[0], 1.3f); },
                     [](const std::vector<Values>& in) { return ref::unary("elu", in[0], 1.3); }});
  }

  // Binary ops with each broadcast pattern.
  struct BinaryInfo {
    const char* op;
    Var (*fn)(const Var&, const Var&);
  };
  const std::vector<BinaryInfo> binary_ops = {{"add", ad::add}, {"sub", ad::sub}, {"mul", ad::mul}, {"div", ad::div}};
  const std::vector<std::pair<Shape, Shape>> broadcasts = {
      {{4, 3, 5, 7}, {4, 3, 5, 7}},  // same shape
      {{4, 3, 5, 7}, {}},            // scalar
      {{4, 3, 5, 7}, {3, 1, 1}},     // per channel
      {{4, 3, 5, 7}, {5, 7}},        // trailing
      {{6, 17}, {17}},               // per neuron
      {{70001}, {1}},                // scalar over several chunks
      {{8, 16, 33, 33}, {1, 16, 1, 1}},
      {{64, 1001}, {1001}},
      // Rows of many b entries: b's gradient is split over its entries, not over the rows.
      {{3, 8, 4100}, {8, 4100}},
      {{3, 40, 1000}, {40, 1}},
  };
  for (const auto& b : binary_ops) {
    for (const auto& shapes : broadcasts) {
      const std::string op = b.op;
      auto fn = b.fn;
      const Shape sa = shapes.first, sb = shapes.second;
      const Draw b_draw = op == "div" ? uniform(0.5f, 2.f) : normal();
      cases.push_back({op + "/" + ad::shape_string(sa) + "_by_" + ad::shape_string(sb), op,
                       {{"a", sa, normal()}, {"b", sb, b_draw}},
                       [fn](const std::vector<Var>& in) { return fn(in[0], in[1]); },
                       [op, sa, sb](const std::vector<Values>& in) {
                         return ref::binary(op.c_str(), in[0], sa, in[1], sb);
                       }});
    }
  }

  // Sums and means.
  const std::vector<std::pair<Shape, std::vector<int>>> reductions = {
      {{4, 3, 5, 7}, {}},     {{4, 3, 5, 7}, {1}},  {{4, 3, 5, 7}, {0, 2, 3}}, {{4, 3, 5, 7}, {-1}},
      {{70001}, {0}},         {{3, 40001}, {1}},    {{2, 50001}, {0}},         {{1, 1}, {}},
  };
  for (const auto& r : reductions) {
    for (bool average : {false, true}) {
      const Shape shape = r.first;
      const std::vector<int> axes = r.second;
      const std::string op = average ? "mean" : "sum";
      std::string axes_text;
      for (int axis : axes) axes_text += std::to_string(axis) + ",";
      cases.push_back({op + "/" + ad::shape_string(shape) + "_axes_" + axes_text, op, {{"x", shape, normal()}},
                       [axes, average](const std::vector<Var>& in) {
                         return average ? ad::mean(in[0], axes) : ad::sum(in[0], axes);
                       },
                       [shape, axes, average](const std::vector<Values>& in) {
                         return ref::sum(in[0], shape, axes, average);
                       }});
    }
  }
  cases.push_back({"sum/keepdim", "sum", {{"x", {4, 3, 5}, normal()}},
                   [](const std::vector<Var>& in) { return ad::mul(in[0], ad::sum(in[0], {0}, true)); },
                   [](const std::vector<Values>& in) {
                     return ref::binary("mul", in[0], {4, 3, 5}, ref::sum(in[0], {4, 3, 5}, {0}, false), {1, 3, 5});
                   }});
  // Weighted sums: blocks of four vectors and a remainder, one column, w as all of x, stretches of dw.
  for (const auto& [shape, axis] : std::vector<std::pair<Shape, int>>{
           {{5, 7, 70}, 1}, {{3, 4, 1000}, 1}, {{3, 4, 2, 5}, 2}, {{4, 9}, -1}, {{6, 300}, 0}}) {
    const std::size_t from = static_cast<std::size_t>(axis < 0 ? axis + static_cast<int>(shape.size()) : axis);
    const Shape w_shape(shape.begin() + static_cast<std::ptrdiff_t>(from), shape.end());
    cases.push_back({"weighted_sum/" + ad::shape_string(shape) + "_axis_" + std::to_string(axis), "weighted_sum",
                     {{"x", shape, normal()}, {"w", w_shape, normal()}},
                     [axis = axis](const std::vector<Var>& in) { return ad::weighted_sum(in[0], in[1], axis); },
                     [shape = shape, axis = axis, w_shape](const std::vector<Values>& in) {
                       return ref::sum(ref::binary("mul", in[0], shape, in[1], w_shape), shape, {axis}, false);
                     }});
  }
  cases.push_back({"reshape/[4,3,5]_to_[12,5]", "reshape", {{"x", {4, 3, 5}, normal()}, {"w", {5}, normal()}},
                   [](const std::vector<Var>& in) { return ad::mul(ad::reshape(in[0], {12, 5}), in[1]); },
                   [](const std::vector<Values>& in) { return ref::binary("mul", in[0], {12, 5}, in[1], {5}); }});

  // Matrix products: every transpose combination, sizes across micro-kernel tiles and blocks.
  struct MatmulInfo {
    std::size_t batch, m, n, k;
  };
  for (const MatmulInfo& mm : {MatmulInfo{0, 7, 5, 13}, MatmulInfo{0, 100, 130, 70}, MatmulInfo{0, 9, 11, 300},
                               MatmulInfo{0, 5, 1100, 20}, MatmulInfo{3, 5, 9, 7}, MatmulInfo{0, 1, 1, 1},
                               // Last panels of 8 and 4 rows; last tiles of 17 columns and of 2 (one vector wide).
                               MatmulInfo{0, 32, 49, 260}, MatmulInfo{0, 64, 290, 40},
                               // Narrow products: rows over several tasks; few rows with k in chunks.
                               MatmulInfo{0, 400, 103, 30}, MatmulInfo{2, 13, 70, 2100},
                               // Large enough to share its packed A (8.4M products and up): a last
                               // panel of 5 rows, a last slice of 13 columns, K in two blocks.
                               MatmulInfo{0, 101, 333, 260}}) {
    for (int flags = 0; flags < 4; ++flags) {
      const bool ta = flags & 1, tb = flags & 2;
      const auto m = static_cast<std::int64_t>(mm.m), n = static_cast<std::int64_t>(mm.n),
                 k = static_cast<std::int64_t>(mm.k);
      Shape sa = ta ? Shape{k, m} : Shape{m, k};
      Shape sb = tb ? Shape{n, k} : Shape{k, n};
      if (mm.batch > 0) {
        sa.insert(sa.begin(), static_cast<std::int64_t>(mm.batch));
        sb.insert(sb.begin(), static_cast<std::int64_t>(mm.batch));
      }
      cases.push_back({"matmul/" + ad::shape_string(sa) + (ta ? "T" : "") + "_x_" + ad::shape_string(sb) + (tb ? "T" : ""),
                       "matmul", {{"a", sa, normal()}, {"b", sb, normal()}},
                       [ta, tb](const std::vector<Var>& in) { return ad::matmul(in[0], in[1], ta, tb); },
                       [sa, sb, ta, tb](const std::vector<Values>& in) { return ref::matmul(in[0], sa, in[1], sb, ta, tb); }});
    }
  }

  // Convolutions: 1x1, odd and even kernels, the linear model's 17x17 and V1's 13x13 single channel.
  struct ConvInfo {
    Shape x, w;
    bool same;
  };
  for (const ConvInfo& cv : {ConvInfo{{2, 3, 6, 5}, {4, 3, 1, 1}, false}, ConvInfo{{2, 3, 7, 6}, {5, 3, 3, 3}, true},
                             ConvInfo{{2, 3, 9, 10}, {4, 3, 5, 5}, false}, ConvInfo{{2, 1, 20, 21}, {1, 1, 17, 17}, false},
                             ConvInfo{{2, 1, 15, 15}, {3, 1, 13, 13}, true}, ConvInfo{{2, 2, 6, 7}, {3, 2, 2, 4}, true},
                             // A kernel wider than the padded image: its outer taps read nothing.
                             ConvInfo{{2, 1, 5, 5}, {2, 1, 13, 13}, true}, ConvInfo{{1, 2, 4, 5}, {5, 2, 11, 11}, true},
                             ConvInfo{{1, 1, 5, 5}, {1, 1, 1, 1}, true}, ConvInfo{{20, 3, 8, 8}, {4, 3, 3, 3}, false},
                             // Fewer output than input channels: the input gradient as a transposed convolution.
                             ConvInfo{{2, 5, 8, 9}, {2, 5, 3, 3}, false}, ConvInfo{{2, 4, 7, 6}, {3, 4, 4, 2}, true},
                             ConvInfo{{3, 6, 6, 6}, {1, 6, 5, 5}, true}, ConvInfo{{2, 3, 5, 5}, {2, 3, 1, 1}, false},
                             // ... whose column matrix is copied in bands (9, 9, 9 and 3 rows of 30).
                             ConvInfo{{1, 20, 30, 30}, {18, 20, 5, 5}, false},
                             // One input channel, few outputs: direct correlation (rows wider than two vectors too;
                             // the 17x17 filter on a block of four output rows, two rows alone, and a tail of columns).
                             ConvInfo{{2, 1, 12, 45}, {2, 1, 3, 5}, false}, ConvInfo{{1, 1, 22, 50}, {1, 1, 17, 17}, false}, ConvInfo{{3, 1, 9, 70}, {4, 1, 2, 3}, true},
                             ConvInfo{{2, 3, 6, 7}, {3, 3, 3, 3}, false},
                             // Several inputs, few outputs: direct multi-channel correlation (two vectors + tail).
                             ConvInfo{{2, 3, 8, 40}, {3, 3, 5, 5}, false}, ConvInfo{{1, 6, 7, 36}, {4, 6, 5, 5}, false},
                             ConvInfo{{2, 7, 5, 35}, {1, 7, 3, 3}, false},
                             // ... in blocks of input channels that fit L1 (7, 7 and 6 of 20), rows in
                             // pairs and one more.
                             ConvInfo{{1, 20, 7, 36}, {3, 20, 5, 5}, false},
                             // A group of 8 output channels, then 4 and 1; the weight gradient direct for 8.
                             ConvInfo{{2, 5, 8, 40}, {13, 5, 5, 5}, false}, ConvInfo{{1, 3, 7, 36}, {8, 3, 3, 3}, false},
                             // Many outputs (or padding): the weight gradient as columns^T x dy^T, output
                             // channels along vectors (one partial vector; three; a block of four and one more).
                             ConvInfo{{2, 8, 10, 12}, {7, 8, 3, 3}, true}, ConvInfo{{2, 3, 9, 8}, {40, 3, 3, 3}, false},
                             ConvInfo{{1, 2, 5, 6}, {70, 2, 2, 3}, true},
                             // The GEMM reading the column matrix in place: two panels of pixels (32 and
                             // 31), two blocks of 270 rows; then more output channels than one block of
                             // A's rows, which packs the columns instead.
                             ConvInfo{{1, 30, 9, 11}, {20, 30, 3, 3}, false}, ConvInfo{{1, 2, 6, 9}, {100, 2, 3, 3}, false},
                             // col2im folds each image row's taps back at once: rows of 17 floats
                             // (V1's 3x3 layers), then of more than two vectors.
                             ConvInfo{{2, 4, 19, 19}, {6, 4, 3, 3}, false}, ConvInfo{{1, 2, 7, 40}, {5, 2, 3, 3}, false},
                             // More outputs than inputs, too few column rows for wide rows (below): the
                             // forward's column matrix and the input gradient's in two bands of output
                             // rows (29 and 7; padded, its plane too wide: 21 and 9).
                             ConvInfo{{2, 5, 40, 40}, {20, 5, 5, 5}, false}, ConvInfo{{1, 8, 30, 30}, {10, 8, 5, 5}, true},
                             // Planes at most 1/8 wider than the output, >= 128 column rows: the GEMMs
                             // read the column matrix in the plane, in wide rows. Forward and weight
                             // gradient, valid; all three, padded (the input gradient as a transposed
                             // convolution, valid too), one and two vectors at the end; more output
                             // channels than one block of A's rows.
                             ConvInfo{{2, 16, 36, 36}, {24, 16, 5, 5}, false}, ConvInfo{{1, 16, 17, 18}, {15, 16, 3, 3}, true},
                             ConvInfo{{1, 16, 12, 40}, {15, 16, 3, 3}, false}, ConvInfo{{1, 15, 6, 20}, {100, 15, 3, 3}, false},
                             // Many outputs, several inputs: direct, channels last (the cases above with
                             // 40, 70 and 100 outputs too); 33 channels, one lane past two vectors.
                             ConvInfo{{3, 2, 5, 7}, {33, 2, 3, 3}, false},
                             // Many inputs: the input gradient's transposed convolution is direct, its
                             // top and bottom output rows multiplying only the kernel rows inside dy
                             // (valid: padded by 2; an even kernel, same: 1 above, 2 below).
                             ConvInfo{{2, 32, 4, 5}, {2, 32, 3, 3}, false}, ConvInfo{{1, 33, 4, 4}, {3, 33, 4, 2}, true},
                             // One input channel, many outputs, many taps (V1's 13x13): by GEMM.
                             ConvInfo{{2, 1, 14, 13}, {32, 1, 12, 12}, false}, ConvInfo{{1, 1, 9, 9}, {33, 1, 13, 13}, true}}) {
    const Shape sx = cv.x, sw = cv.w;
    const bool same = cv.same;
    cases.push_back({"conv2d/" + ad::shape_string(sx) + "_w" + ad::shape_string(sw) + (same ? "_same" : "_valid"), "conv2d",
                     {{"x", sx, normal()}, {"weight", sw, normal()}},
                     [same](const std::vector<Var>& in) {
                       return ad::conv2d(in[0], in[1], same ? ops::Padding::same : ops::Padding::valid);
                     },
                     [sx, sw, same](const std::vector<Values>& in) { return ref::conv2d(in[0], sx, in[1], sw, same); }});
  }

  // Batch normalisation: training (scale/centre on and off, 4D and 2D) and evaluation.
  struct BatchNormInfo {
    Shape x;
    bool scale, centre, training;
  };
  for (const BatchNormInfo& bn : {BatchNormInfo{{4, 3, 5, 5}, true, true, true}, BatchNormInfo{{4, 3, 5, 5}, true, false, true},
                                  BatchNormInfo{{4, 3, 5, 5}, false, true, true}, BatchNormInfo{{6, 4}, true, true, true},
                                  BatchNormInfo{{8, 16, 20, 20}, true, true, true}, BatchNormInfo{{4, 3, 5, 5}, true, true, false}}) {
    const Shape sx = bn.x;
    const std::int64_t channels = sx[1];
    const bool scale = bn.scale, centre = bn.centre, training = bn.training;
    std::vector<InputSpec> inputs = {{"x", sx, normal()}};
    if (scale) inputs.push_back({"gamma", {channels}, uniform(0.5f, 1.5f)});
    if (centre) inputs.push_back({"beta", {channels}, normal()});
    // Evaluation-mode running statistics: fixed, away from the defaults.
    auto running = [channels](float mean, float var) {
      return std::make_pair(std::vector<float>(static_cast<std::size_t>(channels), mean),
                            std::vector<float>(static_cast<std::size_t>(channels), var));
    };
    const auto stats = running(0.3f, 1.7f);
    cases.push_back(
        {std::string("batchnorm2d/") + ad::shape_string(sx) + (training ? "_train" : "_eval") + (scale ? "_scale" : "") +
             (centre ? "_centre" : ""),
         "batchnorm2d", inputs,
         [scale, centre, training, channels, stats](const std::vector<Var>& in) {
           auto state = ad::BatchNormState::init(channels);
           if (!training) {
             state.running_mean = ad::Tensor::from_values({channels}, stats.first);
             state.running_var = ad::Tensor::from_values({channels}, stats.second);
           }
           const Var gamma = scale ? in[1] : Var();
           const Var beta = centre ? in[scale ? 2 : 1] : Var();
           return ad::batchnorm2d(in[0], gamma, beta, state, training);
         },
         [sx, scale, centre, training, stats](const std::vector<Values>& in) {
           const Values gamma = scale ? in[1] : Values{};
           const Values beta = centre ? in[scale ? 2 : 1] : Values{};
           return ref::batchnorm(in[0], sx, gamma, beta, training, Values(stats.first.begin(), stats.first.end()),
                                 Values(stats.second.begin(), stats.second.end()), 1e-5);
         }});
  }

  // Batch normalisation with its activation fused (gradients from the output alone): training and
  // evaluation, ReLU and softplus.
  for (const bool training : {true, false})
    for (const auto& [activation, name] : {std::pair{ops::Activation::relu, "relu"}, {ops::Activation::softplus, "softplus"}}) {
      const Shape sx{5, 3, 6, 7};
      const std::string unary = name;
      const ops::Activation fused = activation;
      cases.push_back({"batchnorm2d/" + ad::shape_string(sx) + (training ? "_train_" : "_eval_") + unary, "batchnorm2d",
                       {{"x", sx, normal()}, {"gamma", {3}, uniform(0.5f, 1.5f)}, {"beta", {3}, normal()}},
                       [training, fused](const std::vector<Var>& in) {
                         auto state = ad::BatchNormState::init(3);
                         state.running_mean = ad::Tensor::full({3}, 0.3f);
                         state.running_var = ad::Tensor::full({3}, 1.7f);
                         return ad::batchnorm2d(in[0], in[1], in[2], state, training, fused);
                       },
                       [sx, training, unary](const std::vector<Values>& in) {
                         return ref::unary(unary.c_str(), ref::batchnorm(in[0], sx, in[1], in[2], training, Values(3, 0.3), Values(3, 1.7), 1e-5));
                       }});
    }

  // Bilinear sampling: shared and per-sample positions, channel counts with SIMD tails.
  struct BilinearInfo {
    Shape map, positions;
  };
  for (const BilinearInfo& bl : {BilinearInfo{{2, 3, 6, 7}, {5, 2}}, BilinearInfo{{2, 17, 5, 8}, {2, 4, 2}},
                                 BilinearInfo{{3, 33, 9, 9}, {11, 2}}}) {
    const Shape sm = bl.map, sp = bl.positions;
    cases.push_back({"bilinear_sample/" + ad::shape_string(sm) + "_at_" + ad::shape_string(sp), "bilinear_sample",
                     {{"map", sm, normal()}, {"positions", sp, position(std::min(sm[2], sm[3]))}},
                     [](const std::vector<Var>& in) { return ad::bilinear_sample(in[0], in[1]); },
                     [sm, sp](const std::vector<Values>& in) { return ref::bilinear(in[0], sm, in[1], sp); }});
  }

  // Losses (targets are constants) and penalties.
  for (const Shape& shape : {Shape{4, 7}, Shape{64, 1001}}) {
    const std::vector<int> every_axis{0, 1};
    cases.push_back({"l1_norm/" + ad::shape_string(shape), "l1_norm", {{"x", shape, away_from_zero()}},
                     [](const std::vector<Var>& in) { return ad::l1_norm(in[0]); },
                     [shape, every_axis](const std::vector<Values>& in) {
                       return ref::sum(ref::unary("abs", in[0]), shape, every_axis, false);
                     }});
    cases.push_back({"squared_norm/" + ad::shape_string(shape), "squared_norm", {{"x", shape, normal()}},
                     [](const std::vector<Var>& in) { return ad::squared_norm(in[0]); },
                     [shape, every_axis](const std::vector<Values>& in) {
                       return ref::sum(ref::unary("square", in[0]), shape, every_axis, false);
                     }});
    cases.push_back({"mse_loss/" + ad::shape_string(shape), "mse_loss",
                     {{"prediction", shape, normal()}, {"target", shape, normal(), false}},
                     [](const std::vector<Var>& in) { return ad::mse_loss(in[0], in[1]); },
                     [](const std::vector<Values>& in) { return Values{ref::mse(in[0], in[1])}; }});
    const auto batch = static_cast<std::size_t>(shape[0]);
    cases.push_back({"poisson_loss/" + ad::shape_string(shape), "poisson_loss",
                     {{"rate", shape, uniform(0.1f, 3.f)}, {"target", shape, uniform(0.f, 4.f), false}},
                     [](const std::vector<Var>& in) { return ad::poisson_loss(in[0], in[1]); },
                     [batch](const std::vector<Values>& in) { return Values{ref::poisson(in[0], in[1], batch, 1e-5)}; }});
  }
  return cases;
}

}  // namespace

const std::vector<OpCase>& op_cases() {
  static const std::vector<OpCase> cases = build();
  return cases;
}

std::vector<ad::Tensor> make_inputs(const OpCase& c, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<ad::Tensor> tensors;
  for (const InputSpec& spec : c.inputs) {
    ad::Tensor t(spec.shape);
    for (std::size_t i = 0; i < t.numel(); ++i) t.data()[i] = spec.draw(rng);
    tensors.push_back(t);
  }
  return tensors;
}

}  // namespace ww::testing
