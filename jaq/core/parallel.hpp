// jaq/core/parallel.hpp: the only header that includes oneTBB.
//
// parallel_for / parallel_reduce over an index range for each host backend. The TBB backend
// runs inside a task_arena limited to the requested thread count, so `--threads 2` means two.
// Work is split into fixed-size static chunks so that results that depend on the split (floating
// reductions) are the same from run to run and for every thread count.
//
//   jaq::parallel_for(jaq::tbb_backend{2}, 0, batch, [&](std::int64_t n) { conv_one(n); });
#pragma once

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/partitioner.h>
#include <tbb/task_arena.h>

#include <cstdint>
#include <vector>

#include "jaq/core/backend.hpp"

namespace jaq {

/// Calls f(i) for i in [begin, end) on the calling thread.
template <class F>
void parallel_for(serial_backend, std::int64_t begin, std::int64_t end, F&& f) {
  for (std::int64_t i = begin; i < end; ++i) f(i);
}

/// Calls f(i) for i in [begin, end) on up to `b.threads` TBB workers.
template <class F>
void parallel_for(tbb_backend b, std::int64_t begin, std::int64_t end, F&& f) {
  if (end <= begin) return;
  if (b.threads == 1 || end - begin == 1) {
    for (std::int64_t i = begin; i < end; ++i) f(i);
    return;
  }
  auto body = [&] {
    tbb::parallel_for(
        tbb::blocked_range<std::int64_t>(begin, end),
        [&](const tbb::blocked_range<std::int64_t>& r) {
          for (std::int64_t i = r.begin(); i != r.end(); ++i) f(i);
        },
        tbb::simple_partitioner{});
  };
  if (b.threads > 0) {
    tbb::task_arena arena(b.threads);
    arena.execute(body);
  } else {
    body();
  }
}

/// Calls f(lo, hi) on contiguous chunks of [begin, end), each at most `grain` long, in parallel.
template <class F>
void parallel_for_chunks(serial_backend, std::int64_t begin, std::int64_t end, std::int64_t grain,
                         F&& f) {
  for (std::int64_t lo = begin; lo < end; lo += grain) f(lo, lo + grain < end ? lo + grain : end);
}

template <class F>
void parallel_for_chunks(tbb_backend b, std::int64_t begin, std::int64_t end, std::int64_t grain,
                         F&& f) {
  if (end <= begin) return;
  const std::int64_t chunks = (end - begin + grain - 1) / grain;
  parallel_for(b, 0, chunks, [&](std::int64_t c) {
    const std::int64_t lo = begin + c * grain;
    f(lo, lo + grain < end ? lo + grain : end);
  });
}

/// Deterministic sum: partial results per fixed chunk, added in chunk order.
template <backend B, class T, class F>
T parallel_sum(B b, std::int64_t begin, std::int64_t end, std::int64_t grain, T zero, F&& f) {
  if (end <= begin) return zero;
  const std::int64_t chunks = (end - begin + grain - 1) / grain;
  std::vector<T> part(static_cast<std::size_t>(chunks), zero);
  parallel_for(b, 0, chunks, [&](std::int64_t c) {
    const std::int64_t lo = begin + c * grain;
    const std::int64_t hi = lo + grain < end ? lo + grain : end;
    T acc = zero;
    for (std::int64_t i = lo; i < hi; ++i) acc += f(i);
    part[static_cast<std::size_t>(c)] = acc;
  });
  T total = zero;
  for (const T& p : part) total += p;
  return total;
}

}  // namespace jaq
