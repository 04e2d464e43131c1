#pragma once
// A float32 tensor: a shape and contiguous row-major (NCHW) storage, 64-byte aligned, from the
// caching allocator. Copies share storage (like a view of the whole tensor); clone() copies data.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ww::ad {

using Shape = std::vector<std::int64_t>;

std::size_t element_count(const Shape& shape);
// "[64,32,5,5]"
std::string shape_string(const Shape& shape);

class Tensor {
 public:
  Tensor() = default;
  // Uninitialised contents. Throws std::invalid_argument for a negative dimension.
  explicit Tensor(Shape shape);
  static Tensor zeros(Shape shape);
  static Tensor full(Shape shape, float value);
  // Throws std::invalid_argument when values.size() does not match the shape.
  static Tensor from_values(Shape shape, const std::vector<float>& values);

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  std::size_t rank() const { return shape_.size(); }
  // Size of `axis`; negative counts from the end.
  std::int64_t dim(int axis) const;
  std::size_t numel() const { return numel_; }
  float* data() { return storage_.get(); }
  const float* data() const { return storage_.get(); }

  Tensor clone() const;
  // Same storage, new shape of the same element count (throws otherwise).
  Tensor reshaped(Shape shape) const;
  void fill(float value);
  // The single value of a one-element tensor (throws otherwise).
  float item() const;
  std::vector<float> to_vector() const;

 private:
  Shape shape_;
  std::size_t numel_ = 0;
  std::shared_ptr<float> storage_;
};

// Rows [begin, end) of a [n, ...] tensor, copied.
Tensor slice_rows(const Tensor& t, std::int64_t begin, std::int64_t end);
// The listed rows of a [n, ...] tensor, copied in order.
Tensor gather_rows(const Tensor& t, const std::vector<std::int64_t>& rows);
// The rows of a, then those of b (the same shape beyond the first dimension).
Tensor concat_rows(const Tensor& a, const Tensor& b);

}  // namespace ww::ad
