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
//   - scorer: the vectorised scorer alone on prebuilt candidate batches, every cut off (all
//     fitting tilings x 120 orders scored and reduced to the best), pairs per second, for the
//     portable (SSE2) copy and the run-time-dispatched AVX2 copy.
// Then one hardware-search iteration: one configuration, every layer of the 22-block network,
// best mapping per layer (no cache). Every BatchTile row is compared with the reference's, field
// by field; mismatches are printed and the exit status is 1. Last, what a compile-time
// configuration buys: ResNet-18 mapped on reference_fixed_config against the same sizes as a
// run-time accel_config, BatchTile and the reference, results compared.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "jaq/batchtile/map_layers.hpp"
#include "jaq/core/parallel.hpp"
#include "jaq/core/simd.hpp"
#include "jaq/hw/networks.hpp"
#include "jaq/hw/reference_mapper.hpp"

namespace bt = jaq::batchtile;
namespace hw = jaq::hw;

namespace {

using clock_type = std::chrono::steady_clock;

double ms_since(clock_type::time_point t0) { return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count(); }

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

std::vector<hw::layer> all_pairs(std::vector<hw::layer> (*net)(const hw::networks::network_options&), std::int64_t batch) {
  const hw::precision_pair pairs[] = {{8, 8}, {4, 4}, {2, 2}, {4, 2}, {8, 2}};
  std::vector<hw::layer> rows;
  for (const auto& p : pairs)
    for (const hw::layer& l : net({.batch = batch, .precision = p})) rows.push_back(l);
  return rows;
}

std::vector<hw::layer> mobilenet(const hw::networks::network_options& o) { return hw::networks::mobilenetv2_cifar(o); }
std::vector<hw::layer> resnet(const hw::networks::network_options& o) { return hw::networks::resnet18(o); }

/// The scorer alone: every (candidate, order) pair of every row's prebuilt batch, scored and
/// reduced to the lexicographic best, in parallel across rows. Returns pairs per second.
double scorer_rate(const std::vector<hw::layer>& rows, const hw::accel_config& cfg, const hw::energy_model& em, jaq::tbb_backend tbb,
                   bt::kernel_isa isa, int reps) {
  std::vector<bt::map_workspace> ws(rows.size());
  std::int64_t pairs = 0;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const hw::layer g = hw::group_layer(rows[r]);
    bt::build_candidates<hw::proxy_stationary>(hw::make_params(cfg, g), em, ws[r].cb, false);
    ws[r].total.resize(ws[r].cb.padded());
    ws[r].energy.resize(ws[r].cb.padded());
    pairs += static_cast<std::int64_t>(ws[r].cb.size()) * 120;
  }
  std::vector<double> sink(rows.size());
  const double ms = median_ms(reps, [&] {
    jaq::parallel_for(tbb, 0, static_cast<std::int64_t>(rows.size()), [&](std::int64_t r) {
      bt::map_workspace& w = ws[static_cast<std::size_t>(r)];
      double best_c = 1e300, best_e = 1e300;
      for (int o = 0; o < 120; ++o) {
        bt::score_order(w.cb, 0, w.cb.size(), bt::detail::all_orders()[static_cast<std::size_t>(o)], w.total.data(), w.energy.data(), isa);
        for (std::size_t i = 0; i < w.cb.size(); ++i)
          if (w.total[i] < best_c || (w.total[i] == best_c && w.energy[i] < best_e)) {
            best_c = w.total[i];
            best_e = w.energy[i];
          }
      }
      sink[static_cast<std::size_t>(r)] = best_c + best_e;
    });
  });
  return static_cast<double>(pairs) / (ms * 1e-3);
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 21, threads = 2;
  if (argc % 2 == 0) {
    std::cerr << "map_bench: options take a value (--reps N, --threads T)\n";
    return 2;
  }
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    int v = 0;
    try {
      v = std::stoi(argv[i + 1]);
    } catch (const std::exception&) {
      std::cerr << "map_bench: " << a << ": not a number: '" << argv[i + 1] << "'\n";
      return 2;
    }
    if (a == "--reps")
      reps = std::max(1, v);
    else if (a == "--threads")
      threads = std::max(1, v);
    else {
      std::cerr << "map_bench: unknown option " << a << " (--reps N, --threads T)\n";
      return 2;
    }
  }
  const hw::accel_config cfg = hw::reference_config();
  const hw::energy_model em = hw::make_energy_model(cfg);
  const jaq::tbb_backend tbb{threads};
  const bool avx2 = bt::avx2_kernel_available();
  std::printf(
      "build simd: %s, scorer copy used: %s, threads: %d, reps: %d (BatchTile times are "
      "medians)\n",
      jaq::simd::arch_name(), bt::kernel_arch_name(bt::best_kernel_isa()), threads, reps);
  std::printf("%-22s %5s %10s %9s %9s %7s %11s %11s %12s %12s\n", "set", "rows", "ref_ms", "bt1_ms", "btT_ms", "ratio", "eff_pairs/s",
              "raw_pairs/s", "scorer_port", "scorer_avx2");
  int mismatches = 0;
  struct set {
    const char* name;
    std::vector<hw::layer> rows;
  };
  const std::vector<set> sets = {
      {"resnet18 b1", all_pairs(resnet, 1)}, {"resnet18 b16", all_pairs(resnet, 16)}, {"mobilenetv2-cifar b1", all_pairs(mobilenet, 1)}};
  for (const set& s : sets) {
    const auto t0 = clock_type::now();
    const auto ref = hw::map_network_reference(cfg, s.rows, em);
    const double ref_ms = ms_since(t0);
    bt::map_stats st;
    const auto got = bt::map_layers(tbb, cfg, s.rows, em, nullptr, &st);  // also warms up
    for (std::size_t i = 0; i < s.rows.size(); ++i)
      if (!(got[i] == ref[i])) {
        ++mismatches;
        std::cout << "MISMATCH " << s.name << " row " << i << " " << s.rows[i] << "\n  reference " << ref[i] << "\n  batchtile " << got[i]
                  << "\n";
      }
    const double bt1 = median_ms(reps, [&] { bt::map_layers(jaq::serial_backend{}, cfg, s.rows, em); });
    const double btT = median_ms(reps, [&] { bt::map_layers(tbb, cfg, s.rows, em); });
    const double sc_port = scorer_rate(s.rows, cfg, em, tbb, bt::kernel_isa::portable, reps);
    const double sc_avx2 = avx2 ? scorer_rate(s.rows, cfg, em, tbb, bt::kernel_isa::avx2, reps) : 0;
    char avx2_col[32] = "n/a";
    if (avx2) std::snprintf(avx2_col, sizeof avx2_col, "%.3g", sc_avx2);
    std::printf("%-22s %5zu %10.2f %9.3f %9.3f %6.0fx %11.3g %11.3g %12.3g %12s\n", s.name, s.rows.size(), ref_ms, bt1, btT, ref_ms / btT,
                static_cast<double>(st.pairs_exhaustive) / (btT * 1e-3), static_cast<double>(st.pairs_scored) / (btT * 1e-3), sc_port,
                avx2_col);
    std::printf("%-22s pairs: exhaustive %lld, scored %lld (%.2f%%), scalar-fallback layers %lld\n", "",
                static_cast<long long>(st.pairs_exhaustive), static_cast<long long>(st.pairs_scored),
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
  std::printf(
      "hw-search iteration (searchspace22, %zu layers, 8/8, one config): reference %.2f ms, "
      "BatchTile serial %.3f ms, %d threads %.3f ms (%.0fx)\n",
      net.size(), ref_ms, it1, threads, itT, ref_ms / itT);
  // Compile-time vs run-time configuration: the same ResNet-18 mapping (batch 1, the five
  // precision pairs) on reference_fixed_config (sizes as constants) and on reference_config()
  // (sizes as values), serial, repetitions interleaved so that drift hits both alike.
  {
    const auto rows = all_pairs(resnet, 1);
    const hw::reference_fixed_config fixed{};
    const auto a = bt::map_layers(jaq::serial_backend{}, cfg, rows, em);
    const auto b = bt::map_layers(jaq::serial_backend{}, fixed, rows, em);
    const auto c = hw::map_network_reference(fixed, rows, em);
    for (std::size_t i = 0; i < rows.size(); ++i)
      if (!(a[i] == b[i]) || !(c[i] == b[i])) {
        ++mismatches;
        std::cout << "MISMATCH fixed vs run-time config, resnet18 row " << i << " " << rows[i] << "\n";
      }
    std::vector<double> t_run, t_fix, r_run, r_fix;
    auto time_ms = [](auto&& f) {
      const auto t0 = clock_type::now();
      f();
      return ms_since(t0);
    };
    for (int r = 0; r < reps; ++r) {
      t_run.push_back(time_ms([&] { bt::map_layers(jaq::serial_backend{}, cfg, rows, em); }));
      t_fix.push_back(time_ms([&] { bt::map_layers(jaq::serial_backend{}, fixed, rows, em); }));
    }
    const int ref_reps = std::max(1, reps / 7);
    for (int r = 0; r < ref_reps; ++r) {
      r_run.push_back(time_ms([&] { hw::map_network_reference(cfg, rows, em); }));
      r_fix.push_back(time_ms([&] { hw::map_network_reference(fixed, rows, em); }));
    }
    auto median = [](std::vector<double> v) {
      std::sort(v.begin(), v.end());
      return v[v.size() / 2];
    };
    const double run = median(t_run), fix = median(t_fix), rrun = median(r_run), rfix = median(r_fix);
    std::printf(
        "fixed vs run-time configuration (resnet18 b1, %zu rows, serial, medians of %d / %d interleaved runs):\n"
        "  BatchTile: run-time %.3f ms, fixed %.3f ms (fixed/run-time %.3f)\n"
        "  reference: run-time %.2f ms, fixed %.2f ms (fixed/run-time %.3f)\n",
        rows.size(), reps, ref_reps, run, fix, fix / run, rrun, rfix, rfix / rrun);
  }
  std::printf("agreement: %s (%d mismatching rows)\n", mismatches ? "FAILED" : "all rows equal", mismatches);
  return mismatches ? 1 : 0;
}
