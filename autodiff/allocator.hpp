#pragma once
// The caching allocator behind every Tensor: 64-byte aligned blocks, kept on free lists by size
// when released instead of being returned to the operating system, and reused for requests of
// between half their size and all of it. A training step that repeats the shapes of the previous
// one therefore gets all its memory from the cache (first touches of fresh pages are expensive on
// the target VMs). Thread-safe.
#include <cstddef>

namespace ww::ad {

struct AllocatorStats {
  std::size_t system_allocations;  // blocks ever requested from the system
  std::size_t bytes_in_use;
  std::size_t bytes_cached;        // released blocks kept for reuse
};

// A block of at least `floats` floats (rounded up to 64 bytes).
float* allocate_floats(std::size_t floats);
// Returns a block from allocate_floats to the cache.
void release_floats(float* block);
AllocatorStats allocator_stats();
// Gives every cached block back to the system.
void empty_cache();

}  // namespace ww::ad
