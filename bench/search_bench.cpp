// bench/search_bench.cpp: the speed of the joint search's hardware side (issue targets: one full
// cost table of the cifar10 space, 22 blocks x 9 operators x 3 widths, <= 5 ms on 2 cores; one
// generation-network iteration of 16 configurations on the derived network <= 2 ms).
//
//   bazel run -c opt //bench:search_bench -- [reps] [threads]
// For each preset: the cost table on the reference accelerator with a cold mapping cache (every
// distinct layer mapped by BatchTile) and with a warm one, and the generator's time per
// iteration on the space's initial derived network, no mapping cache: `hwgen_fresh_ms` over the
// first 20 iterations of a fresh generator (a near-uniform policy: few configurations of a batch
// repeat), `hwgen_late_ms` over iterations 181-200 of one (a sharpened policy samples its
// favourites again, and a repeat in a batch is scored once). Medians over `reps`.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "jaq/batchtile/mapping_cache.hpp"
#include "jaq/core/parallel.hpp"
#include "jaq/core/progress.hpp"
#include "jaq/core/rng.hpp"
#include "jaq/hwgen/generator.hpp"
#include "jaq/search/bridge.hpp"
#include "jaq/search/cost_table.hpp"
#include "jaq/search/preset.hpp"

namespace {
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}
}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 21;
  const int threads = argc > 2 ? std::atoi(argv[2]) : 2;
  jaq::thread_pool pool(threads);
  std::printf("threads %d, %d reps, medians\n", threads, reps);
  std::printf("%-9s %7s %9s %13s %13s %15s %14s\n", "preset", "layers", "distinct", "table_cold_ms", "table_warm_ms", "hwgen_fresh_ms",
              "hwgen_late_ms");
  for (const char* name : {"fmnist", "cifar10", "imagenet"}) {
    const auto p = jaq::search::read_preset(std::string("examples/presets/") + name + ".json");
    std::vector<double> cold, warm, iter;
    jaq::search::cost_table t;
    for (int r = 0; r < reps; ++r) {
      jaq::batchtile::mapping_cache cache;
      jaq::stopwatch sw;
      t = jaq::search::build_cost_table(pool.backend(), p.space, jaq::hw::reference_config(), 1, &cache);
      cold.push_back(sw.lap() * 1e3);
      (void)jaq::search::build_cost_table(pool.backend(), p.space, jaq::hw::reference_config(), 1, &cache);
      warm.push_back(sw.lap() * 1e3);
    }
    // the generator on the initial derived network (every block's first operator, lowest width)
    jaq::nas::derived_arch d;
    for (std::size_t b = 0; b < p.space.blocks().size(); ++b) {
      d.ops.push_back(p.space.ops[0]);
      d.bits.push_back(p.space.bits[0]);
    }
    const auto layers = jaq::search::network_layers(p.space, d, 1);
    jaq::hwgen::cost_evaluator ev(layers, {});  // no cache: every configuration mapped
    const int iterations = 20;
    std::vector<double> late;
    for (int r = 0; r < std::max(3, reps / 4); ++r) {
      jaq::rng gen(std::uint64_t(r) + 1);
      jaq::hwgen::generator g(jaq::hwgen::default_space(), {.batch = 16}, gen);
      jaq::stopwatch sw;
      (void)g.run(pool.backend(), ev, iterations, gen);
      iter.push_back(sw.lap() * 1e3 / iterations);
      (void)g.run(pool.backend(), ev, 160, gen);
      sw.lap();
      (void)g.run(pool.backend(), ev, iterations, gen);
      late.push_back(sw.lap() * 1e3 / iterations);
    }
    std::printf("%-9s %7lld %9lld %13.3f %13.3f %15.3f %14.3f\n", name, static_cast<long long>(t.layers),
                static_cast<long long>(t.distinct), median(cold), median(warm), median(iter), median(late));
  }
  return 0;
}
