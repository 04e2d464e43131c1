#pragma once
// Argument checks of the differentiable operations: clear messages for users' mistakes.
#include <stdexcept>
#include <string>

#include "autodiff/var.hpp"

namespace ww::ad::detail {

// Throws std::invalid_argument "<op>: argument '<arg>' expected <expected>, got shape <actual>".
[[noreturn]] inline void shape_error(const char* op, const char* arg, const std::string& expected,
                                     const Shape& actual) {
  throw std::invalid_argument(std::string(op) + ": argument '" + arg + "' expected " + expected +
                              ", got shape " + shape_string(actual));
}

inline void require_defined(const char* op, const char* arg, const Var& v) {
  if (!v.defined()) throw std::invalid_argument(std::string(op) + ": argument '" + arg + "' is undefined");
}

inline void require_rank(const char* op, const char* arg, const Var& v, std::size_t rank) {
  require_defined(op, arg, v);
  if (v.shape().size() != rank) shape_error(op, arg, std::to_string(rank) + " dimensions", v.shape());
}

inline void require_shape(const char* op, const char* arg, const Var& v, const Shape& shape) {
  require_defined(op, arg, v);
  if (v.shape() != shape) shape_error(op, arg, "shape " + shape_string(shape), v.shape());
}

}  // namespace ww::ad::detail
