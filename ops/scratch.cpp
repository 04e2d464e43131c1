#include "ops/scratch.hpp"

#include <cstdlib>
#include <new>

namespace ww::ops {
namespace {
struct ScratchBuffers {
  float* data[static_cast<int>(ScratchSlot::count)] = {};
  std::size_t capacity[static_cast<int>(ScratchSlot::count)] = {};
  ~ScratchBuffers() {
    for (float* buffer : data) std::free(buffer);
  }
};
thread_local ScratchBuffers buffers;
}  // namespace

float* scratch(ScratchSlot slot, std::size_t floats) {
  const int index = static_cast<int>(slot);
  if (buffers.capacity[index] < floats) {
    // Grow geometrically so alternating sizes do not reallocate every call.
    std::size_t capacity = buffers.capacity[index] * 2;
    if (capacity < floats) capacity = floats;
    const std::size_t bytes = ((capacity * sizeof(float) + 63) / 64) * 64;
    void* fresh = std::aligned_alloc(64, bytes);
    if (fresh == nullptr) throw std::bad_alloc();
    std::free(buffers.data[index]);
    buffers.data[index] = static_cast<float*>(fresh);
    buffers.capacity[index] = bytes / sizeof(float);
  }
  return buffers.data[index];
}

}  // namespace ww::ops
