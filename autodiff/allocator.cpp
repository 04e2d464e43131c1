#include "autodiff/allocator.hpp"

#include <cstdlib>
#include <map>
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

// A request takes the smallest cached block of at least its size and at most largest_reuse times
// it. Exact sizes only left 35-60 MB of a training step's 170-200 MB pool idle: a step's tensors
// come in many sizes, and a block cached for one size never served another.
constexpr std::size_t largest_reuse = 2;

struct Cache {
  std::mutex mutex;
  std::map<std::size_t, std::vector<float*>> free_blocks;  // by block size in bytes
  std::unordered_map<const float*, std::size_t> block_sizes;  // of the blocks in use
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
  std::lock_guard<std::mutex> lock(c.mutex);
  const auto found = c.free_blocks.lower_bound(bytes);
  if (found != c.free_blocks.end() && found->first <= largest_reuse * bytes) {
    const std::size_t size = found->first;
    float* block = found->second.back();
    found->second.pop_back();
    if (found->second.empty()) c.free_blocks.erase(found);
    c.block_sizes.emplace(block, size);
    c.stats.bytes_cached -= size;
    c.stats.bytes_in_use += size;
    return block;
  }
  auto* block = static_cast<float*>(std::aligned_alloc(64, bytes));
  if (block == nullptr) throw std::bad_alloc();
  c.block_sizes.emplace(block, bytes);
  ++c.stats.system_allocations;
  c.stats.bytes_in_use += bytes;
  return block;
}

void release_floats(float* block) {
  if (block == nullptr) return;
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  const auto found = c.block_sizes.find(block);
  const std::size_t size = found->second;
  c.block_sizes.erase(found);
  c.stats.bytes_in_use -= size;
  c.stats.bytes_cached += size;
  c.free_blocks[size].push_back(block);
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
