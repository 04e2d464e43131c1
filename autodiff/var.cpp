#include "autodiff/var.hpp"

#include <stdexcept>

#include "ops/elementwise.hpp"

namespace ww::ad {
namespace {
thread_local std::vector<std::shared_ptr<Node>> tape;
thread_local bool gradients_enabled = true;
// The storage of the seed backward(output, seed) is walking back from: the caller's, which
// backward functions read but must not adopt as a gradient (one that is then written in place or
// added to).
thread_local const float* borrowed_seed = nullptr;

// Whether v's gradient may take g's storage instead of a copy. Comparing where the data starts
// suffices: gradients are adopted whole (add_to_grad, grad_target_in), never as a part of one.
bool adoptable(const Tensor& g) { return g.data() != borrowed_seed; }
}  // namespace

Var Var::parameter(Tensor value) {
  auto node = std::make_shared<Node>();
  node->value = std::move(value);
  node->requires_grad = true;
  return Var(std::move(node));
}

Var Var::constant(Tensor value) {
  auto node = std::make_shared<Node>();
  node->value = std::move(value);
  return Var(std::move(node));
}

void Var::zero_grad() {
  if (node_ != nullptr && node_->grad.defined()) node_->grad.fill(0.f);
}

void Var::clear_grad() {
  if (node_ != nullptr) node_->grad = Tensor();
}

NoGradGuard::NoGradGuard() : previous_(gradients_enabled) { gradients_enabled = false; }
NoGradGuard::~NoGradGuard() { gradients_enabled = previous_; }
bool grad_enabled() { return gradients_enabled; }

void clear_tape() { tape.clear(); }
std::size_t tape_size() { return tape.size(); }

namespace {

// Walks the tape back from `output`, whose gradient is `seed`, then clears the tape.
void backward_from(const Var& output, const Tensor& seed) {
  std::size_t end = tape.size();
  while (end > 0 && tape[end - 1].get() != &output.node()) --end;
  if (end == 0) {
    throw std::invalid_argument(
        "backward: the output was not recorded on this thread's tape (computed without gradients, "
        "from constants only, or already back-propagated)");
  }
  output.node().grad = seed;
  for (std::size_t i = end; i-- > 0;) {
    Node& node = *tape[i];
    if (node.grad.defined() && node.backward) node.backward(node.grad);
    // Free saved tensors and the intermediate gradient as soon as they are used.
    node.backward = nullptr;
    node.grad = Tensor();
  }
  tape.clear();
}

// Marks a caller's seed as borrowed for the length of one backward pass.
class BorrowedSeed {
 public:
  explicit BorrowedSeed(const Tensor& seed) { borrowed_seed = seed.data(); }
  ~BorrowedSeed() { borrowed_seed = nullptr; }
  BorrowedSeed(const BorrowedSeed&) = delete;
  BorrowedSeed& operator=(const BorrowedSeed&) = delete;
};

}  // namespace

void backward(const Var& loss) {
  if (!loss.defined() || loss.numel() != 1) {
    throw std::invalid_argument("backward: the loss must be a one-element tensor, got shape " +
                                (loss.defined() ? shape_string(loss.shape()) : std::string("(undefined)")));
  }
  backward_from(loss, Tensor::full(loss.shape(), 1.f));
}

void backward(const Var& output, const Tensor& seed) {
  if (!output.defined() || !seed.defined() || seed.shape() != output.shape()) {
    throw std::invalid_argument("backward: the seed must have the output's shape " +
                                (output.defined() ? shape_string(output.shape()) : std::string("(undefined)")) + ", got " +
                                (seed.defined() ? shape_string(seed.shape()) : std::string("(undefined)")));
  }
  const BorrowedSeed borrowed(seed);
  backward_from(output, seed);
}

namespace detail {

Var record(const char* op, Tensor value, std::initializer_list<const Var*> inputs, BackwardFn backward) {
  auto node = std::make_shared<Node>();
  node->value = std::move(value);
  node->op = op;
  bool needs_grad = false;
  if (gradients_enabled) {
    for (const Var* input : inputs) needs_grad = needs_grad || input->requires_grad();
  }
  if (needs_grad) {
    node->requires_grad = true;
    node->backward = std::move(backward);
    tape.push_back(node);
  }
  return Var(std::move(node));
}

float* grad_buffer(const Var& v) {
  Node& node = v.node();
  if (!node.grad.defined()) node.grad = Tensor::zeros(node.value.shape());
  return node.grad.data();
}

GradTarget grad_target(const Var& v) {
  if (!v.requires_grad()) return {nullptr, false};
  Node& node = v.node();
  const bool fresh = !node.grad.defined();
  if (fresh) node.grad = Tensor(node.value.shape());
  return {node.grad.data(), fresh};
}

GradTarget grad_target_in(const Var& v, const Tensor& g) {
  if (!v.requires_grad()) return {nullptr, false};
  Node& node = v.node();
  const bool fresh = !node.grad.defined();
  if (fresh) node.grad = adoptable(g) ? g.reshaped(node.value.shape()) : Tensor(node.value.shape());
  return {node.grad.data(), fresh};
}

void add_to_grad(const Var& v, const Tensor& g) {
  Node& node = v.node();
  if (node.grad.defined()) {
    ops::axpy(g.numel(), 1.f, g.data(), node.grad.data());
  } else {
    node.grad = adoptable(g) ? g.reshaped(node.value.shape()) : g.clone().reshaped(node.value.shape());
  }
}

}  // namespace detail
}  // namespace ww::ad
