#include "jaq/core/parallel.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <type_traits>
#include <vector>

// tbb::this_task_arena comes through parallel.hpp, the one header that includes TBB.

TEST_CASE("parallel_for visits every index once, on every backend") {
  for (int threads : {0, 1, 2}) {
    std::vector<std::atomic<int>> hits(1000);
    jaq::parallel_for(jaq::tbb_backend{threads}, 0, 1000, [&](std::int64_t i) { hits[i]++; });
    for (auto& h : hits) CHECK(h.load() == 1);
  }
  std::vector<int> s(10, 0);
  jaq::parallel_for(jaq::serial_backend{}, 2, 7, [&](std::int64_t i) { s[i]++; });
  CHECK(s == std::vector<int>{0, 0, 1, 1, 1, 1, 1, 0, 0, 0});
}

TEST_CASE("parallel_sum is bit-identical for every thread count") {
  auto f = [](std::int64_t i) { return 1.0 / (1.0 + static_cast<double>(i)); };
  const double ref = jaq::parallel_sum(jaq::serial_backend{}, 0, 100000, 1024, 0.0, f);
  for (int threads : {1, 2, 0}) {
    CHECK(jaq::parallel_sum(jaq::tbb_backend{threads}, 0, 100000, 1024, 0.0, f) == ref);
  }
}

TEST_CASE("a thread pool is reused across calls and gives the same results as no pool") {
  auto f = [](std::int64_t i) { return 1.0 / (1.0 + static_cast<double>(i)); };
  const double ref = jaq::parallel_sum(jaq::serial_backend{}, 0, 100000, 1024, 0.0, f);
  for (int threads : {1, 2, 3}) {
    jaq::thread_pool pool(threads);
    CHECK(pool.threads() == threads);
    const jaq::tbb_backend b = pool.backend();
    CHECK(b.threads == threads);
    CHECK(b.pool == &pool);
    for (int call = 0; call < 50; ++call) {  // one arena for every call
      CHECK(jaq::parallel_sum(b, 0, 100000, 1024, 0.0, f) == ref);
      std::vector<std::atomic<int>> hits(257);
      jaq::parallel_for(b, 0, 257, [&](std::int64_t i) { hits[i]++; });
      for (auto& h : hits) REQUIRE(h.load() == 1);
    }
  }
}

TEST_CASE("the thread count is respected, with a pool and without") {
  for (int threads : {2, 3}) {
    jaq::thread_pool pool(threads);
    CHECK(pool.concurrency() == threads);
    for (const jaq::tbb_backend b : {pool.backend(), jaq::tbb_backend{threads}}) {
      std::atomic<int> bad{0};
      jaq::parallel_for(b, 0, 64, [&](std::int64_t) {
        if (tbb::this_task_arena::max_concurrency() != threads) bad++;
      });
      CHECK(bad.load() == 0);
    }
  }
  jaq::thread_pool all;  // 0: TBB's default
  CHECK(all.concurrency() == tbb::this_task_arena::max_concurrency());
}

TEST_CASE("a nested call from a pool's worker runs in the same arena and visits every index") {
  jaq::thread_pool pool(2);
  const jaq::tbb_backend b = pool.backend();
  std::vector<std::atomic<int>> hits(40 * 30);
  std::atomic<int> bad{0};
  jaq::parallel_for(b, 0, 40, [&](std::int64_t i) {
    jaq::parallel_for(b, 0, 30, [&](std::int64_t j) {
      if (tbb::this_task_arena::max_concurrency() != 2) bad++;
      hits[i * 30 + j]++;
    });
  });
  for (auto& h : hits) CHECK(h.load() == 1);
  CHECK(bad.load() == 0);
  // The same from a backend without a pool: the inner calls find a matching arena.
  std::atomic<int> inner{0};
  jaq::parallel_for(jaq::tbb_backend{3}, 0, 8, [&](std::int64_t) {
    jaq::parallel_for(jaq::tbb_backend{3}, 0, 8, [&](std::int64_t) {
      if (tbb::this_task_arena::max_concurrency() == 3) inner++;
    });
  });
  CHECK(inner.load() == 64);
}

TEST_CASE("a negative thread count is a config_error") { CHECK_THROWS_AS(jaq::thread_pool(-1), jaq::config_error); }

static_assert(jaq::backend<jaq::serial_backend>);
static_assert(jaq::host_backend<jaq::tbb_backend>);
static_assert(!jaq::host_backend<jaq::cuda_backend>);
static_assert(!jaq::backend<int>, "an arbitrary type is not a backend");
static_assert(!std::is_copy_constructible_v<jaq::thread_pool>, "backends hold a pool's address");
static_assert(jaq::tbb_backend{2}.threads == 2 && jaq::tbb_backend{2}.pool == nullptr, "tbb_backend{n} still means n threads, no pool");
