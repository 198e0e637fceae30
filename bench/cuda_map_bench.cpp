// bench/cuda_map_bench.cpp: BatchTile on the GPU against BatchTile on the CPU, side by side in
// one run, same inputs, results compared field for field (tools/device_check.sh runs it on a GPU
// machine; on a CPU-only machine it prints the CPU figures and says why the GPU's are missing).
//   1. all ResNet-18 rows at batch 1 on the reference configuration;
//   2. one hardware-search iteration of the 22-block network: a generator batch of 16 random
//      configurations of the default space x the network's distinct layers, no cache;
//   3. a big grid (256 configurations x the 22-block network) for the raw rate.
// Rates are candidate evaluations ((tiling, loop order) pairs of the exhaustive search, fitting
// tilings x 120) per second of wall time.
//
//   bazel run -c opt //bench:cuda_map_bench -- [--reps 20]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "jaq/batchtile/map_layers.hpp"
#include "jaq/core/rng.hpp"
#include "jaq/hw/networks.hpp"
#include "jaq/hwgen/search_space.hpp"
#include "kernels/batchtile.hpp"
#include "kernels/device.hpp"

#include "bench/timing.hpp"

namespace bt = jaq::batchtile;
namespace hw = jaq::hw;

namespace {

using jaq_bench::median_ms;

std::vector<hw::layer> distinct(const std::vector<hw::layer>& v) {
  std::vector<hw::layer> out;
  for (const hw::layer& l : v) {
    hw::layer k = l;
    k.name.clear();
    bool seen = false;
    for (const hw::layer& o : out) {
      hw::layer ko = o;
      ko.name.clear();
      seen = seen || ko == k;
    }
    if (!seen) out.push_back(l);
  }
  return out;
}

void row(const char* what, std::int64_t pairs, double cpu_ms, double gpu_ms, bool gpu, bool equal) {
  std::printf("%-34s pairs %12lld | cpu %10.3f ms %10.3g pairs/s", what, static_cast<long long>(pairs), cpu_ms, pairs / (cpu_ms * 1e-3));
  if (gpu)
    std::printf(" | gpu %10.3f ms %10.3g pairs/s | cpu/gpu %7.1fx | %s\n", gpu_ms, pairs / (gpu_ms * 1e-3), cpu_ms / gpu_ms,
                equal ? "equal" : "DIFFERENT");
  else
    std::printf(" | gpu -\n");
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 20;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--reps") == 0) reps = std::max(1, std::atoi(argv[i + 1]));
  const jaq::cuda::device_probe pr = jaq::cuda::probe();
  const bool gpu = pr.count > 0;
  std::printf("cuda_map_bench: cpu: BatchTile on tbb_backend (all cores); gpu: %s\n",
              gpu ? (pr.name + " (compute capability " + std::to_string(pr.major) + "." + std::to_string(pr.minor) + ")").c_str()
                  : pr.reason.c_str());
  int bad = 0;

  auto run = [&](const char* what, const std::vector<hw::accel_config>& configs, const std::vector<hw::layer>& layers) {
    bt::map_stats st;
    const auto cpu = bt::map_grid(jaq::tbb_backend{}, configs, layers, nullptr, &st);
    const double cpu_ms = median_ms(reps, [&] { (void)bt::map_grid(jaq::tbb_backend{}, configs, layers); });
    double gpu_ms = 0;
    bool equal = false;
    if (gpu) {
      const auto g = jaq::cuda::map_grid(jaq::cuda_backend{}, configs, layers);  // warm-up (context creation)
      equal = g == cpu;
      bad += equal ? 0 : 1;
      gpu_ms = median_ms(reps, [&] { (void)jaq::cuda::map_grid(jaq::cuda_backend{}, configs, layers); });
    }
    row(what, st.pairs_exhaustive, cpu_ms, gpu_ms, gpu, equal);
  };

  const auto r18 = hw::networks::resnet18({.batch = 1, .precision = {.iprec = 4, .wprec = 4}});
  run("resnet18 batch 1, reference config", {hw::reference_config()}, r18);

  const jaq::hwgen::search_space space = jaq::hwgen::default_space();
  jaq::rng g(1);
  auto random_configs = [&](int n) {
    std::vector<hw::accel_config> v;
    for (int i = 0; i < n; ++i) {
      jaq::hwgen::choice c;
      const auto s = space.sizes();
      for (std::size_t p = 0; p < c.index.size(); ++p) c.index[p] = static_cast<int>(g.below(static_cast<std::uint64_t>(s[p])));
      v.push_back(space.decode(c));
    }
    return v;
  };
  const auto net22 = distinct(hw::networks::search_space_22({.batch = 1, .precision = {.iprec = 4, .wprec = 4}}));
  run("22-block net, 16 configs (1 iter)", random_configs(16), net22);
  run("22-block net, 256 configs", random_configs(256), net22);
  if (bad) std::printf("cuda_map_bench: %d runs DIFFER between GPU and CPU\n", bad);
  return bad ? 1 : 0;
}
