// A deliberate data race between two loop bodies, for checking by hand that the TSan
// suppressions of jaq/core/parallel.hpp hide none of ours: under --config=tsan it must be reported.
#include <cstdint>
#include <cstdio>

#include "jaq/core/parallel.hpp"

int main() {
  std::int64_t shared = 0;
  jaq::thread_pool pool(2);
  for (int rep = 0; rep < 50; ++rep)
    jaq::parallel_for(pool.backend(), 0, 64, [&](std::int64_t i) {
      for (int k = 0; k < 1000; ++k) shared += i;  // racy on purpose
    });
  std::printf("%lld\n", static_cast<long long>(shared));
}
