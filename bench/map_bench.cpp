// bench/map_bench.cpp: the exhaustive scalar reference vs BatchTile, side by side, in one run
// (tools/bench_map.sh runs it; docs/benchmarks.md has the numbers).
//
// For ResNet-18 (batch 1 and 16) and MobileNetV2-CIFAR at the precision pairs 8/8, 4/4, 2/2,
// 4/2, 8/2 on the reference configuration: wall time of the reference (serial, one run) and of
// BatchTile (median of --reps runs, serial and TBB), their ratio, and candidate evaluations per
// second, where one evaluation is one (tiling, loop order) pair scored for cycles and energy:
//   - effective: the pairs the exhaustive search scores (fitting tilings x 120 orders) per
//     second of BatchTile's wall time (BatchTile gets the same answer without scoring most);
//   - raw: the pairs BatchTile actually scored per second of its wall time;
//   - scorer: the vectorised scorer alone with every cut off (all fitting tilings x 120 orders
//     scored), pairs per second.
// Then one hardware-search iteration: one configuration, every layer of the 22-block network,
// best mapping per layer (no cache). Every BatchTile row is compared with the reference's, field
// by field; mismatches are printed and the exit status is 1.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "jaq/batchtile/map_layers.hpp"
#include "jaq/core/simd.hpp"
#include "jaq/hw/networks.hpp"
#include "jaq/hw/reference_mapper.hpp"

namespace bt = jaq::batchtile;
namespace hw = jaq::hw;

namespace {

using clock_type = std::chrono::steady_clock;

double ms_since(clock_type::time_point t0) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}

template <class F>
double median_ms(int reps, F&& f) {
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = clock_type::now();
    f();
    t.push_back(ms_since(t0));
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

std::vector<hw::layer> all_pairs(std::vector<hw::layer> (*net)(const hw::networks::network_options&),
                                 std::int64_t batch) {
  const hw::precision_pair pairs[] = {{8, 8}, {4, 4}, {2, 2}, {4, 2}, {8, 2}};
  std::vector<hw::layer> rows;
  for (const auto& p : pairs)
    for (const hw::layer& l : net({.batch = batch, .precision = p})) rows.push_back(l);
  return rows;
}

std::vector<hw::layer> mobilenet(const hw::networks::network_options& o) {
  return hw::networks::mobilenetv2_cifar(o);
}
std::vector<hw::layer> resnet(const hw::networks::network_options& o) {
  return hw::networks::resnet18(o);
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 21, threads = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--reps") reps = std::max(1, std::stoi(argv[i + 1]));
    else if (a == "--threads") threads = std::max(1, std::stoi(argv[i + 1]));
    else {
      std::cerr << "map_bench: unknown option " << a << " (--reps N, --threads T)\n";
      return 2;
    }
  }
  const hw::accel_config cfg = hw::reference_config();
  const hw::energy_model em = hw::make_energy_model(cfg);
  const jaq::tbb_backend tbb{threads};
  std::printf("simd: %s, threads: %d, reps: %d (BatchTile times are medians)\n",
              jaq::simd::arch_name(), threads, reps);
  std::printf("%-22s %5s %11s %11s %11s %9s %12s %12s %12s\n", "set", "rows", "ref_ms",
              "bt1_ms", "btT_ms", "ratio", "eff_pairs/s", "raw_pairs/s", "scorer_p/s");
  int mismatches = 0;
  struct set {
    const char* name;
    std::vector<hw::layer> rows;
  };
  const std::vector<set> sets = {{"resnet18 b1", all_pairs(resnet, 1)},
                                 {"resnet18 b16", all_pairs(resnet, 16)},
                                 {"mobilenetv2-cifar b1", all_pairs(mobilenet, 1)}};
  for (const set& s : sets) {
    const auto t0 = clock_type::now();
    const auto ref = hw::map_network_reference(cfg, s.rows, em);
    const double ref_ms = ms_since(t0);
    bt::map_stats st;
    const auto got = bt::map_layers(tbb, cfg, s.rows, em, nullptr, &st);  // also warms up
    for (std::size_t i = 0; i < s.rows.size(); ++i)
      if (!(got[i] == ref[i])) {
        ++mismatches;
        std::cout << "MISMATCH " << s.name << " row " << i << " " << s.rows[i] << "\n  reference "
                  << ref[i] << "\n  batchtile " << got[i] << "\n";
      }
    const double bt1 = median_ms(reps, [&] { bt::map_layers(jaq::serial_backend{}, cfg, s.rows, em); });
    const double btT = median_ms(reps, [&] { bt::map_layers(tbb, cfg, s.rows, em); });
    bt::map_stats all;
    const double scorer = median_ms(std::max(1, reps / 4), [&] {
      all = {};
      bt::map_layers(tbb, cfg, s.rows, em, nullptr, &all, {.collapse_orders = false, .prune = false});
    });
    std::printf("%-22s %5zu %11.2f %11.3f %11.3f %8.0fx %12.3g %12.3g %12.3g\n", s.name,
                s.rows.size(), ref_ms, bt1, btT, ref_ms / btT,
                static_cast<double>(st.pairs_exhaustive) / (btT * 1e-3),
                static_cast<double>(st.pairs_scored) / (btT * 1e-3),
                static_cast<double>(all.pairs_scored) / (scorer * 1e-3));
    std::printf("%-22s pairs: exhaustive %lld, scored %lld (%.2f%%), scalar-fallback layers %lld\n",
                "", static_cast<long long>(st.pairs_exhaustive),
                static_cast<long long>(st.pairs_scored),
                100.0 * static_cast<double>(st.pairs_scored) / static_cast<double>(st.pairs_exhaustive),
                static_cast<long long>(st.scalar_layers));
  }
  // One hardware-search iteration: one configuration, all layers of the 22-block network.
  const auto net = hw::networks::search_space_22();
  const auto t0 = clock_type::now();
  const auto ref = hw::map_network_reference(cfg, net, em);
  const double ref_ms = ms_since(t0);
  const auto got = bt::map_layers(tbb, cfg, net, em);
  for (std::size_t i = 0; i < net.size(); ++i)
    if (!(got[i] == ref[i])) {
      ++mismatches;
      std::cout << "MISMATCH searchspace22 row " << i << " " << net[i] << "\n";
    }
  const double it1 = median_ms(reps, [&] { bt::map_layers(jaq::serial_backend{}, cfg, net, em); });
  const double itT = median_ms(reps, [&] { bt::map_layers(tbb, cfg, net, em); });
  std::printf("hw-search iteration (searchspace22, %zu layers, 8/8, one config): reference %.2f ms, "
              "BatchTile serial %.3f ms, %d threads %.3f ms (%.0fx)\n",
              net.size(), ref_ms, it1, threads, itT, ref_ms / itT);
  std::printf("agreement: %s (%d mismatching rows)\n", mismatches ? "FAILED" : "all rows equal",
              mismatches);
  return mismatches ? 1 : 0;
}
