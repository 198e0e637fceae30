#include "jaq/core/parallel.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <vector>

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

static_assert(jaq::backend<jaq::serial_backend>);
static_assert(jaq::host_backend<jaq::tbb_backend>);
static_assert(!jaq::host_backend<jaq::cuda_backend>);
static_assert(!jaq::backend<int>, "an arbitrary type is not a backend");
