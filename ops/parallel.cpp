#include "ops/parallel.hpp"

#include <tbb/blocked_range.h>
#include <tbb/global_control.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <memory>
#include <mutex>

namespace ww::ops {
namespace {
std::mutex control_mutex;
std::unique_ptr<tbb::global_control> thread_limit;
}  // namespace

void set_num_threads(int threads) {
  std::lock_guard<std::mutex> lock(control_mutex);
  thread_limit.reset();
  if (threads > 0) {
    thread_limit = std::make_unique<tbb::global_control>(
        tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(threads));
  }
}

int num_threads() {
  return static_cast<int>(
      tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism));
}

namespace detail {
void run_chunks(std::size_t n, std::size_t grain, ChunkBody body) {
  const std::size_t chunks = chunk_count(n, grain);
  auto run = [&](std::size_t chunk) {
    const std::size_t begin = chunk * grain;
    const std::size_t end = begin + grain < n ? begin + grain : n;
    body.call(body.object, chunk, begin, end);
  };
  if (chunks == 1 || num_threads() == 1) {
    for (std::size_t chunk = 0; chunk < chunks; ++chunk) run(chunk);
    return;
  }
  // Isolation keeps this thread from picking up unrelated tasks while it waits, so a caller's
  // per-thread scratch is never re-entered.
  tbb::this_task_arena::isolate([&] {
    tbb::parallel_for(
        tbb::blocked_range<std::size_t>(0, chunks, 1),
        [&](const tbb::blocked_range<std::size_t>& range) {
          for (std::size_t chunk = range.begin(); chunk != range.end(); ++chunk) run(chunk);
        },
        tbb::simple_partitioner());
  });
}
}  // namespace detail

}  // namespace ww::ops
