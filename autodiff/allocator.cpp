#include "autodiff/allocator.hpp"

#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

namespace ww::ad {
namespace {

std::size_t block_bytes(std::size_t floats) {
  const std::size_t bytes = (floats == 0 ? 1 : floats) * sizeof(float);
  return (bytes + 63) / 64 * 64;
}

struct Cache {
  std::mutex mutex;
  std::unordered_map<std::size_t, std::vector<float*>> free_blocks;  // by block size in bytes
  AllocatorStats stats{0, 0, 0};

  ~Cache() {
    for (auto& entry : free_blocks)
      for (float* block : entry.second) std::free(block);
  }
};

Cache& cache() {
  static Cache instance;
  return instance;
}

}  // namespace

float* allocate_floats(std::size_t floats) {
  const std::size_t bytes = block_bytes(floats);
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    c.stats.bytes_in_use += bytes;
    auto found = c.free_blocks.find(bytes);
    if (found != c.free_blocks.end() && !found->second.empty()) {
      float* block = found->second.back();
      found->second.pop_back();
      c.stats.bytes_cached -= bytes;
      return block;
    }
    ++c.stats.system_allocations;
  }
  void* block = std::aligned_alloc(64, bytes);
  if (block == nullptr) {
    std::lock_guard<std::mutex> lock(c.mutex);
    c.stats.bytes_in_use -= bytes;
    throw std::bad_alloc();
  }
  return static_cast<float*>(block);
}

void release_floats(float* block, std::size_t floats) {
  if (block == nullptr) return;
  const std::size_t bytes = block_bytes(floats);
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  c.stats.bytes_in_use -= bytes;
  c.stats.bytes_cached += bytes;
  c.free_blocks[bytes].push_back(block);
}

AllocatorStats allocator_stats() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  return c.stats;
}

void empty_cache() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  for (auto& entry : c.free_blocks)
    for (float* block : entry.second) std::free(block);
  c.free_blocks.clear();
  c.stats.bytes_cached = 0;
}

}  // namespace ww::ad
