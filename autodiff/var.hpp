#pragma once
// Reverse-mode automatic differentiation on a tape.
//
// A Var is a handle to a node holding a value, an optional gradient and, for results of
// operations, a backward function. Every operation whose inputs require gradients (while
// gradients are enabled) appends its result to the calling thread's tape, in creation order.
// backward(loss) walks the tape in reverse from the scalar `loss`; each backward function
// accumulates into its inputs' gradients. Leaves (parameters) keep and accumulate gradients
// across calls until zero_grad(); intermediate results free their gradients and saved tensors
// as soon as they have been used, and the tape is cleared.
#include <functional>
#include <memory>
#include <vector>

#include "autodiff/tensor.hpp"

namespace ww::ad {

struct Node {
  Tensor value;
  Tensor grad;  // undefined until something accumulates into it
  bool requires_grad = false;
  const char* op = "leaf";
  // Reads this node's gradient, accumulates into the inputs' gradients. Empty for leaves.
  std::function<void(const Tensor& grad)> backward;
};

class Var {
 public:
  Var() = default;
  // A leaf that accumulates a gradient.
  static Var parameter(Tensor value);
  // A leaf without gradient (data, targets).
  static Var constant(Tensor value);

  bool defined() const { return node_ != nullptr; }
  const Tensor& value() const { return node_->value; }
  Tensor& value() { return node_->value; }
  const Shape& shape() const { return node_->value.shape(); }
  std::size_t numel() const { return node_->value.numel(); }
  bool requires_grad() const { return node_ != nullptr && node_->requires_grad; }
  // The accumulated gradient; undefined if nothing reached this variable yet.
  const Tensor& grad() const { return node_->grad; }
  // Sets the gradient to zero (keeps its storage).
  void zero_grad();
  // Drops the gradient: undefined until something reaches this variable again.
  void clear_grad();
  const char* op() const { return node_->op; }

  // For the implementation of operations.
  explicit Var(std::shared_ptr<Node> node) : node_(std::move(node)) {}
  Node& node() const { return *node_; }
  const std::shared_ptr<Node>& node_ptr() const { return node_; }

 private:
  std::shared_ptr<Node> node_;
};

// Back-propagates from a one-element `loss` recorded on this thread's tape, then clears the tape.
// Throws std::invalid_argument if loss is not a scalar or was not recorded (e.g. computed
// without gradients, or its tape was already consumed).
void backward(const Var& loss);
// Back-propagates `seed` as the gradient of `output` (any shape; seed's must equal it): the
// vector-Jacobian product, PyTorch's output.backward(seed). The seed is read, never modified
// (a gradient that would take over its storage gets a copy).
// backward(loss) is this with a seed of ones.
void backward(const Var& output, const Tensor& seed);

// Drops everything recorded on this thread's tape (a forward pass that will not be back-propagated).
void clear_tape();
std::size_t tape_size();

// While alive, operations on this thread record nothing and return results without gradients.
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};
bool grad_enabled();

// For the implementation of operations (see functions.hpp).
namespace detail {
using BackwardFn = std::function<void(const Tensor& grad)>;
// Wraps `value` as the result of `op`. If gradients are enabled and any input requires them, the
// result requires a gradient, keeps `backward` and is appended to the tape.
Var record(const char* op, Tensor value, std::initializer_list<const Var*> inputs, BackwardFn backward);
// The gradient buffer of v, zero-initialised on first use: for backward functions that scatter.
float* grad_buffer(const Var& v);
// Where a backward function that writes every entry of v's gradient once puts it: on first use a
// buffer left uninitialised, to be overwritten (saving a zero fill and a read of every entry);
// afterwards the existing gradient, to be accumulated into. Null (nothing to write) when v needs
// no gradient.
struct GradTarget {
  float* data;
  bool overwrite;
};
GradTarget grad_target(const Var& v);
// grad_target for a backward function that computes v's gradient element by element from its own
// output's gradient g (same element count): on first use v's gradient takes g's storage, to be
// overwritten in place, as backward passes a node's gradient once and then frees it (a layer's
// backward then needs no second buffer of its size).
GradTarget grad_target_in(const Var& v, const Tensor& g);
// Adds g (v's element count, any shape) to v's gradient. On first use the gradient takes g's
// storage instead of a copy: backward passes a node's gradient once and then frees it.
void add_to_grad(const Var& v, const Tensor& g);
}  // namespace detail

}  // namespace ww::ad
