#include "nn/module.hpp"

namespace ww::nn {

std::vector<std::pair<std::string, ad::Var>> Module::named_parameters() const {
  auto all = parameters_;
  for (const auto& [name, child] : children_)
    for (auto& [child_name, var] : child->named_parameters()) all.emplace_back(name + "." + child_name, var);
  return all;
}

std::vector<std::pair<std::string, ad::Tensor>> Module::named_buffers() const {
  auto all = buffers_;
  for (const auto& [name, child] : children_)
    for (auto& [child_name, tensor] : child->named_buffers()) all.emplace_back(name + "." + child_name, tensor);
  return all;
}

std::vector<ad::Var> Module::parameters() const {
  std::vector<ad::Var> vars;
  for (auto& entry : named_parameters()) vars.push_back(entry.second);
  return vars;
}

std::size_t Module::parameter_count() const {
  std::size_t count = 0;
  for (const auto& entry : named_parameters()) count += entry.second.numel();
  return count;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& entry : children_) entry.second->train(on);
}

ad::Var Module::register_parameter(std::string name, ad::Tensor value) {
  parameters_.emplace_back(std::move(name), ad::Var::parameter(std::move(value)));
  return parameters_.back().second;
}

ad::Tensor Module::register_buffer(std::string name, ad::Tensor value) {
  buffers_.emplace_back(std::move(name), std::move(value));
  return buffers_.back().second;
}

void Module::register_module(std::string name, Module& child) { children_.emplace_back(std::move(name), &child); }

}  // namespace ww::nn
