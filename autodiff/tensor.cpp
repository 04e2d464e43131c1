#include "autodiff/tensor.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "autodiff/allocator.hpp"

namespace ww::ad {

std::size_t element_count(const Shape& shape) {
  std::size_t count = 1;
  for (std::int64_t d : shape) {
    if (d < 0) throw std::invalid_argument("tensor shape " + shape_string(shape) + " has a negative dimension");
    count *= static_cast<std::size_t>(d);
  }
  return count;
}

std::string shape_string(const Shape& shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) text += ",";
    text += std::to_string(shape[i]);
  }
  return text + "]";
}

Tensor::Tensor(Shape shape) : shape_(std::move(shape)), numel_(element_count(shape_)) {
  storage_ = std::shared_ptr<float>(allocate_floats(numel_), release_floats);
}

Tensor Tensor::zeros(Shape shape) { return full(std::move(shape), 0.f); }

Tensor Tensor::full(Shape shape, float value) {
  Tensor t(std::move(shape));
  t.fill(value);
  return t;
}

Tensor Tensor::from_values(Shape shape, const std::vector<float>& values) {
  Tensor t(std::move(shape));
  if (values.size() != t.numel()) {
    throw std::invalid_argument("Tensor::from_values: shape " + shape_string(t.shape()) + " holds " +
                                std::to_string(t.numel()) + " values, got " + std::to_string(values.size()));
  }
  std::copy(values.begin(), values.end(), t.data());
  return t;
}

std::int64_t Tensor::dim(int axis) const {
  const int rank_i = static_cast<int>(shape_.size());
  const int resolved = axis < 0 ? axis + rank_i : axis;
  if (resolved < 0 || resolved >= rank_i) {
    throw std::out_of_range("Tensor::dim: axis " + std::to_string(axis) + " out of range for shape " +
                            shape_string(shape_));
  }
  return shape_[static_cast<std::size_t>(resolved)];
}

Tensor Tensor::clone() const {
  Tensor copy(shape_);
  if (numel_ > 0) std::memcpy(copy.data(), data(), numel_ * sizeof(float));
  return copy;
}

Tensor Tensor::reshaped(Shape shape) const {
  if (element_count(shape) != numel_) {
    throw std::invalid_argument("reshape: cannot view " + shape_string(shape_) + " (" +
                                std::to_string(numel_) + " elements) as " + shape_string(shape));
  }
  Tensor view = *this;
  view.shape_ = std::move(shape);
  return view;
}

void Tensor::fill(float value) { std::fill(data(), data() + numel_, value); }

float Tensor::item() const {
  if (numel_ != 1) throw std::invalid_argument("Tensor::item: shape " + shape_string(shape_) + " is not one element");
  return data()[0];
}

std::vector<float> Tensor::to_vector() const { return std::vector<float>(data(), data() + numel_); }

Tensor slice_rows(const Tensor& t, std::int64_t begin, std::int64_t end) {
  std::vector<std::int64_t> rows;
  for (std::int64_t r = begin; r < end; ++r) rows.push_back(r);
  return gather_rows(t, rows);
}

Tensor gather_rows(const Tensor& t, const std::vector<std::int64_t>& rows) {
  Shape shape = t.shape();
  const std::size_t row = t.numel() / static_cast<std::size_t>(shape[0]);
  shape[0] = static_cast<std::int64_t>(rows.size());
  Tensor out(shape);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    std::memcpy(out.data() + i * row, t.data() + static_cast<std::size_t>(rows[i]) * row, row * sizeof(float));
  }
  return out;
}

Tensor concat_rows(const Tensor& a, const Tensor& b) {
  Shape shape = a.shape();
  if (shape.empty() || b.shape().size() != shape.size() || !std::equal(shape.begin() + 1, shape.end(), b.shape().begin() + 1)) {
    throw std::invalid_argument("concat_rows: shapes " + shape_string(a.shape()) + " and " + shape_string(b.shape()) +
                                " differ beyond the first dimension");
  }
  shape[0] += b.shape()[0];
  Tensor out(shape);
  std::copy_n(a.data(), a.numel(), out.data());
  std::copy_n(b.data(), b.numel(), out.data() + a.numel());
  return out;
}

}  // namespace ww::ad
