// bench/timing.hpp: the benchmarks' one timing rule: the median wall time of `reps` calls, in ms.
#pragma once

#include <algorithm>
#include <chrono>
#include <vector>

namespace jaq_bench {

template <class F>
double median_ms(int reps, F&& f) {
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace jaq_bench
