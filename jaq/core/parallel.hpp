// jaq/core/parallel.hpp: the only header that includes oneTBB.
//
// parallel_for / parallel_reduce over an index range for each host backend, and
// jaq::thread_pool, the one TBB task arena a run makes once and passes in. The TBB backend runs
// inside an arena limited to the requested thread count, so `--threads 2` means two: the pool's
// arena when the backend carries one, the caller's own when it already has that concurrency
// (a nested call from a worker), else (no pool) a fresh arena for the call, which costs thread
// start-up and memory on every call: give long runs a pool. Work is split into fixed-size static
// chunks so that results that depend on the split (floating reductions) are the same from run to
// run and for every thread count.
//
//   jaq::thread_pool pool(2);                          // one arena for the whole run
//   jaq::parallel_for(pool.backend(), 0, batch, [&](std::int64_t n) { conv_one(n); });
//   jaq::parallel_for(jaq::tbb_backend{2}, 0, n, f);   // same answer; an arena per call
#pragma once

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/partitioner.h>
#include <tbb/task_arena.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "jaq/config.hpp"
#include "jaq/core/backend.hpp"
#include "jaq/core/error.hpp"

#if JAQ_TSAN
// The ThreadSanitizer runtime's annotations (declared by <sanitizer/tsan_interface.h>, which GCC
// and clang both ship; declared here to keep the include list compiler-neutral).
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);

// The suppressions a ThreadSanitizer build of jaq needs, compiled into every program that
// includes this header (the runtime asks for __tsan_default_suppressions at start-up). Each names
// a piece of oneTBB's own bookkeeping, whose memory TBB recycles (its small-object allocator) or
// hands back (a wait context or tree node on the spawning thread's stack) after synchronising
// inside the uninstrumented libtbb, where TSan cannot see it. A report is dropped when one of its
// two accesses runs inside one of these. None of them is ever a caller of a loop body of ours
// (those run under start_for::execute and run_body, which are not listed), so a race between
// two bodies, or a body and the caller, is still reported. TBB's force-inlined helpers show up
// under short names (offer_work_impl, new_object, finalize), hence substrings, not qualified
// names; no jaq function has any of these names.
//   fold_tree, wait_context, wait_node, tree_node: the join tree and its counters;
//   new_object, offer_work: a task object (with its copy of the body functor and its
//     blocked_range) made in recycled memory on one worker, run on another;
//   finalize: the task's destruction; spawn_task: a worker thread started by a spawn.
extern "C" __attribute__((used)) inline const char* __tsan_default_suppressions() {
  return "race:fold_tree\n"
         "race:wait_context\n"
         "race:wait_node\n"
         "race:tree_node\n"
         "race:new_object\n"
         "race:offer_work\n"
         "race:finalize\n"
         "race:spawn_task\n";
}
#endif

namespace jaq {

namespace detail {

/// Happens-before edges for ThreadSanitizer where oneTBB synchronises inside its uninstrumented
/// library: what a thread did before `release(s)` is visible to any thread after `acquire(s)`.
/// parallel_for uses two sync objects per call: the caller releases `start` before spawning and
/// every chunk acquires it (the caller's writes reach the chunks, as TBB's spawn guarantees);
/// every chunk releases `done` and the caller acquires it after the join (the chunks' writes reach
/// the caller, as TBB's wait guarantees). Chunks never acquire `done`, so no edge is invented
/// between two chunks: a race between chunks is still reported. Nothing at all outside TSan.
struct tsan_sync {
  char start = 0, done = 0;
  void release_start() {
#if JAQ_TSAN
    __tsan_release(&start);
#endif
  }
  void acquire_start() {
#if JAQ_TSAN
    __tsan_acquire(&start);
#endif
  }
  void release_done() {
#if JAQ_TSAN
    __tsan_release(&done);
#endif
  }
  void acquire_done() {
#if JAQ_TSAN
    __tsan_acquire(&done);
#endif
  }
};

/// arena.execute(f) with f's edges to and from the caller made visible to TSan (f may run on a
/// worker thread when the caller cannot join the arena).
template <class F>
void execute_in(tbb::task_arena& arena, F&& f) {
  tsan_sync sync;
  sync.release_start();
  arena.execute([&] {
    sync.acquire_start();
    f();
    sync.release_done();
  });
  sync.acquire_done();
}

}  // namespace detail

/// One TBB task arena of a fixed concurrency, made once and entered by every parallel_for whose
/// backend points at it, so a run pays for its worker threads once, not per call. Entering it is
/// thread-safe (tbb::task_arena::execute is); it is neither copied nor moved, since backends hold
/// its address. The arena itself starts on first use.
class thread_pool {
 public:
  /// `threads` workers including the caller (0: TBB's default, all cores).
  explicit thread_pool(int threads = 0) : threads_(threads), arena_(checked(threads)) {}
  thread_pool(const thread_pool&) = delete;
  thread_pool& operator=(const thread_pool&) = delete;

  /// The thread count asked for (0: TBB's default).
  int threads() const { return threads_; }
  /// How many threads can work in the arena (threads(), or all cores for 0).
  int concurrency() const { return arena_.max_concurrency(); }
  /// A backend that runs in this pool.
  tbb_backend backend() { return tbb_backend{threads_, this}; }

  /// Runs f() inside the arena (the calling thread joins it) and returns when f has.
  template <class F>
  void execute(F&& f) {
    detail::execute_in(arena_, std::forward<F>(f));
  }

 private:
  static int checked(int threads) {
    if (threads < 0) throw config_error("thread_pool", "threads", std::to_string(threads) + " (must be >= 0)");
    return threads == 0 ? tbb::task_arena::automatic : threads;
  }
  int threads_;
  tbb::task_arena arena_;
};

/// Calls f(i) for i in [begin, end) on the calling thread.
template <class F>
void parallel_for(serial_backend, std::int64_t begin, std::int64_t end, F&& f) {
  for (std::int64_t i = begin; i < end; ++i) f(i);
}

/// Calls f(i) for i in [begin, end) on up to `b.threads` TBB workers: in b.pool's arena if given,
/// directly in the caller's arena if that has the concurrency asked for (a nested call), else in
/// an arena made for this call (b.threads > 0) or the caller's (b.threads == 0).
template <class F>
void parallel_for(tbb_backend b, std::int64_t begin, std::int64_t end, F&& f) {
  JAQ_ASSERT(b.pool == nullptr || b.pool->threads() == b.threads);
  if (end <= begin) return;
  if (b.threads == 1 || end - begin == 1) {
    for (std::int64_t i = begin; i < end; ++i) f(i);
    return;
  }
  auto body = [&] {
    detail::tsan_sync sync;
    sync.release_start();
    tbb::parallel_for(
        tbb::blocked_range<std::int64_t>(begin, end),
        [&](const tbb::blocked_range<std::int64_t>& r) {
          sync.acquire_start();
          for (std::int64_t i = r.begin(); i != r.end(); ++i) f(i);
          sync.release_done();
        },
        tbb::simple_partitioner{});
    sync.acquire_done();
  };
  if (b.pool == nullptr && b.threads == 0) {
    body();
    return;
  }
  const int want = b.pool ? b.pool->concurrency() : b.threads;
  if (tbb::this_task_arena::max_concurrency() == want) {
    body();  // already in an arena of this size (the pool's, from one of its workers): stay
  } else if (b.pool) {
    b.pool->execute(body);
  } else {
    tbb::task_arena arena(b.threads);  // fallback: an arena for this call only
    detail::execute_in(arena, body);
  }
}

/// Calls f(lo, hi) on contiguous chunks of [begin, end), each at most `grain` long, in parallel.
template <class F>
void parallel_for_chunks(serial_backend, std::int64_t begin, std::int64_t end, std::int64_t grain, F&& f) {
  for (std::int64_t lo = begin; lo < end; lo += grain) f(lo, lo + grain < end ? lo + grain : end);
}

template <class F>
void parallel_for_chunks(tbb_backend b, std::int64_t begin, std::int64_t end, std::int64_t grain, F&& f) {
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
