#include "ops/elementwise.hpp"

#include <algorithm>
#include <vector>

#include "ops/parallel.hpp"

namespace ww::ops {
namespace {

// How a broadcast block is cut into independent sub-blocks: along its outermost axis with more
// than one entry, in chunks of `grain` entries of that axis.
struct Split {
  int axis;  // 0 outer, 1 mid, 2 inner
  std::size_t extent, grain;
  std::size_t chunks() const { return chunk_count(extent, grain); }
};

Split split_of(Broadcast s) {
  auto grain_for = [](std::size_t entry_size) {
    return entry_size >= elementwise_grain ? std::size_t{1} : elementwise_grain / entry_size;
  };
  if (s.outer > 1) return {0, s.outer, grain_for(s.mid * s.inner)};
  if (s.mid > 1) return {1, s.mid, grain_for(s.inner)};
  return {2, s.inner, elementwise_grain};
}

// Calls part(chunk, a_offset, b_offset, sub_block) for each chunk of the split, in parallel.
template <class Part>
void for_each_part(Broadcast s, Split split, Part&& part) {
  parallel_for(split.extent, split.grain, [&](std::size_t chunk, std::size_t begin, std::size_t end) {
    const std::size_t len = end - begin;
    switch (split.axis) {
      case 0: return part(chunk, begin * s.mid * s.inner, 0, Broadcast{len, s.mid, s.inner});
      case 1: return part(chunk, begin * s.inner, begin, Broadcast{1, len, s.inner});
      default: return part(chunk, begin, 0, Broadcast{1, 1, len});
    }
  });
}

}  // namespace

void unary_forward(UnaryOp op, const float* x, float* y, std::size_t n, float alpha) {
  const auto& k = simd::kernels();
  parallel_for(n, elementwise_grain, [&](std::size_t, std::size_t begin, std::size_t end) {
    k.unary_forward(op, x + begin, y + begin, end - begin, alpha);
  });
}

void unary_backward(UnaryOp op, const float* x, const float* y, const float* dy, float* dx,
                    bool overwrite_dx, std::size_t n, float alpha) {
  const auto& k = simd::kernels();
  parallel_for(n, elementwise_grain, [&](std::size_t, std::size_t begin, std::size_t end) {
    k.unary_backward(op, x + begin, y + begin, dy + begin, dx + begin, end - begin, alpha, overwrite_dx);
  });
}

void binary_forward(BinaryOp op, const float* a, const float* b, float* y, Broadcast shape) {
  const auto& k = simd::kernels();
  for_each_part(shape, split_of(shape), [&](std::size_t, std::size_t offset, std::size_t b_offset, Broadcast part) {
    k.binary_forward(op, a + offset, b + b_offset, y + offset, part.outer, part.mid, part.inner);
  });
}

void binary_backward(BinaryOp op, const float* a, const float* b, const float* dy, float* da,
                     bool overwrite_da, float* db, Broadcast shape) {
  const auto& k = simd::kernels();
  const Split split = split_of(shape);
  if (da != nullptr) {
    for_each_part(shape, split, [&](std::size_t, std::size_t offset, std::size_t b_offset, Broadcast part) {
      k.binary_backward_a(op, b + b_offset, dy + offset, da + offset, part.outer, part.mid, part.inner,
                          overwrite_da);
    });
  }
  if (db == nullptr) return;
  if (split.axis == 1) {
    // Sub-blocks own disjoint entries of b: accumulate in place.
    for_each_part(shape, split, [&](std::size_t, std::size_t offset, std::size_t b_offset, Broadcast part) {
      k.binary_backward_b(op, a + offset, b + b_offset, dy + offset, db + b_offset, part.outer,
                          part.mid, part.inner);
    });
    return;
  }
  if (split.axis == 0 && shape.mid * shape.inner >= elementwise_grain) {
    // Rows of many b entries (a readout's weights under a batch): each chunk of b entries is
    // accumulated over the rows by one task, rather than one partial of all of b per chunk of rows.
    const std::size_t rows = shape.outer, row_size = shape.mid * shape.inner;
    const std::size_t grain = std::max<std::size_t>(1, elementwise_grain / (rows * shape.inner));
    parallel_for(shape.mid, grain, [&](std::size_t, std::size_t begin, std::size_t end) {
      for (std::size_t row = 0; row < rows; ++row) {
        const std::size_t offset = row * row_size + begin * shape.inner;
        k.binary_backward_b(op, a + offset, b + begin, dy + offset, db + begin, 1, end - begin, shape.inner);
      }
    });
    return;
  }
  // Sub-blocks share every entry of b: one partial per chunk, combined in chunk order.
  std::vector<float> partials(split.chunks() * shape.mid, 0.f);
  for_each_part(shape, split, [&](std::size_t chunk, std::size_t offset, std::size_t, Broadcast part) {
    k.binary_backward_b(op, a + offset, b, dy + offset, partials.data() + chunk * shape.mid,
                        part.outer, part.mid, part.inner);
  });
  for (std::size_t chunk = 0; chunk < split.chunks(); ++chunk) {
    k.axpy(shape.mid, 1.f, partials.data() + chunk * shape.mid, db);
  }
}

void axpy(std::size_t n, float alpha, const float* x, float* y) {
  const auto& k = simd::kernels();
  parallel_for(n, elementwise_grain, [&](std::size_t, std::size_t begin, std::size_t end) {
    k.axpy(end - begin, alpha, x + begin, y + begin);
  });
}

}  // namespace ww::ops
