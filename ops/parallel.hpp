#pragma once
// The one threading wrapper of the project (oneTBB underneath).
//
// parallel_for splits [0, n) into fixed chunks of `grain` items. Chunk boundaries depend only on
// n and grain, never on the thread count, and every chunk runs serially on one thread; kernels
// that reduce therefore keep one partial result per chunk and combine them in chunk order, which
// makes every result bitwise identical for any number of threads.
//
// Rule: the body of a parallel_for never calls parallel_for itself (kernels below the top level are
// serial), so per-thread scratch buffers cannot be re-entered by TBB's work stealing.
#include <cstddef>
#include <utility>

namespace ww::ops {

// Caps the worker threads of every later parallel_for (tbb::global_control). 0 restores the default.
void set_num_threads(int threads);
int num_threads();

// The chunk of an elementwise kernel: 32K floats (128 KB) a task.
constexpr std::size_t elementwise_grain = 1 << 15;

// Number of chunks parallel_for(n, grain, ...) uses.
inline std::size_t chunk_count(std::size_t n, std::size_t grain) {
  return grain == 0 ? 0 : (n + grain - 1) / grain;
}

namespace detail {
// A non-owning reference to a callable void(size_t chunk, size_t begin, size_t end).
struct ChunkBody {
  void* object;
  void (*call)(void*, std::size_t, std::size_t, std::size_t);
};
void run_chunks(std::size_t n, std::size_t grain, ChunkBody body);
}  // namespace detail

// body(chunk_index, begin, end) for each chunk; chunk_index < chunk_count(n, grain).
template <class Body>
void parallel_for(std::size_t n, std::size_t grain, Body&& body) {
  if (n == 0) return;
  if (grain == 0) grain = 1;
  detail::ChunkBody ref{const_cast<void*>(static_cast<const void*>(&body)),
                        [](void* object, std::size_t chunk, std::size_t begin, std::size_t end) {
                          (*static_cast<std::remove_reference_t<Body>*>(object))(chunk, begin, end);
                        }};
  detail::run_chunks(n, grain, ref);
}

}  // namespace ww::ops
