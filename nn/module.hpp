#pragma once
// Modules: named parameters (trainable Vars) and buffers (Tensors such as running statistics),
// children with dotted names ("core.layer0.weight"), and a train/eval mode.
#include <string>
#include <utility>
#include <vector>

#include "autodiff/var.hpp"

namespace ww::nn {

class Module {
 public:
  virtual ~Module() = default;
  Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // In registration order, children's entries after their parent's, names prefixed by the child's.
  std::vector<std::pair<std::string, ad::Var>> named_parameters() const;
  std::vector<std::pair<std::string, ad::Tensor>> named_buffers() const;
  std::vector<ad::Var> parameters() const;
  std::size_t parameter_count() const;

  // Training mode (the default) or evaluation mode, for this module and its children.
  void train(bool on = true);
  void eval() { train(false); }
  bool training() const { return training_; }

 protected:
  // Return handles sharing the registered node/storage (keep them; never replace the storage).
  ad::Var register_parameter(std::string name, ad::Tensor value);
  // A non-trainable tensor saved with the module (running statistics, frozen masks).
  ad::Tensor register_buffer(std::string name, ad::Tensor value);
  void register_module(std::string name, Module& child);

 private:
  std::vector<std::pair<std::string, ad::Var>> parameters_;
  std::vector<std::pair<std::string, ad::Tensor>> buffers_;
  std::vector<std::pair<std::string, Module*>> children_;
  bool training_ = true;
};

}  // namespace ww::nn
