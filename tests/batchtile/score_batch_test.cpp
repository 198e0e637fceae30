// Tests of jaq/batchtile/score_batch.hpp: the vectorised scorer against the scalar reference's
// evaluate() + energy_of(), pair by pair, bit for bit.
#include "jaq/batchtile/score_batch.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>

#include <vector>

#include "jaq/batchtile/build_candidates.hpp"
#include "jaq/hw/cost_model.hpp"
#include "jaq/hw/energy_model.hpp"
#include "tests/batchtile/random_cases.hpp"

namespace bt = jaq::batchtile;
namespace hw = jaq::hw;

TEST_CASE("ceil_div_exact equals integer ceiling division up to 2^51") {
  using V = jaq::simd::batch<double>;
  constexpr std::size_t W = jaq::simd::width<double>;
  jaq::rng g(3);
  std::vector<std::int64_t> xs, ws;
  for (int i = 0; i < 20000; ++i) {
    const std::int64_t w = i % 3 == 0 ? 1 + static_cast<std::int64_t>(g.below(400)) : std::int64_t{1} << g.below(40);
    const std::int64_t bits = 1 + static_cast<std::int64_t>(g.below(51));
    std::int64_t x = static_cast<std::int64_t>(g() >> (64 - bits));
    if (i % 4 == 1) x = x / w * w;      // exact multiples
    if (i % 4 == 2) x = x / w * w + 1;  // just past a multiple
    if (x >= (std::int64_t{1} << 51)) x = (std::int64_t{1} << 51) - 1 - static_cast<std::int64_t>(g.below(3));
    xs.push_back(x);
    ws.push_back(w);
  }
  std::vector<double> xd(W), wd(W), rd(W), out(W);
  for (std::size_t i = 0; i + W <= xs.size(); i += W) {
    for (std::size_t j = 0; j < W; ++j) {
      xd[j] = static_cast<double>(xs[i + j]);
      wd[j] = static_cast<double>(ws[i + j]);
      rd[j] = 1.0 / wd[j];
    }
    V q;
    bt::detail::portable_isa::ceil_div_exact<bt::detail::xsimd_ops>(V::load_unaligned(xd.data()), V::load_unaligned(wd.data()),
                                                                    V::load_unaligned(rd.data()), q);
    q.store_unaligned(out.data());
    for (std::size_t j = 0; j < W; ++j) CHECK(static_cast<std::int64_t>(out[j]) == hw::ceil_div(xs[i + j], ws[i + j]));
  }
}

TEST_CASE("score_order equals the reference for every candidate and every order") {
  // Every copy of the kernel this machine can run (the AVX2 one only where the CPU has it).
  std::vector<bt::kernel_isa> isas{bt::kernel_isa::portable};
  if (bt::avx2_kernel_available()) isas.push_back(bt::kernel_isa::avx2);
  for (const bt::kernel_isa isa : isas) {
    INFO("kernel " << bt::to_string(isa));
    jaq::rng g(11);
    std::int64_t pairs = 0;
    bt::candidate_batch cb;
    for (int it = 0; it < 40; ++it) {
      const hw::accel_config cfg = bt::testing::random_config(g);
      const hw::layer l = hw::group_layer(bt::testing::random_layer(g, it));
      const hw::energy_model em = hw::make_energy_model(cfg);
      const hw::layer_params p = hw::make_params(cfg, l);
      bt::build_candidates<hw::proxy_stationary>(p, em, cb);
      if (cb.size() == 0) continue;
      REQUIRE(cb.exact);
      std::vector<double> total(cb.padded()), energy(cb.padded());
      for (int o = 0; o < 120; ++o) {
        // an unaligned sub-range too: lanes outside [lo, hi) are not trusted
        const std::size_t lo = static_cast<std::size_t>(g.below(cb.size()));
        bt::score_order(cb, lo, cb.size(), bt::detail::all_orders()[static_cast<std::size_t>(o)], total.data(), energy.data(), isa);
        const hw::loop_order order = hw::loop_order::from_index(o);
        for (std::size_t i = lo; i < cb.size(); ++i) {
          const hw::candidate_cost c = hw::evaluate(p, cb.tiles[i], order);
          const hw::energy_breakdown e = hw::energy_of(c, em);
          CHECK(total[i] == static_cast<double>(c.total_cycles));
          CHECK(energy[i] == e.total);  // bit-identical, not approximately equal
          ++pairs;
        }
      }
    }
    CHECK(pairs > 50000);
  }
}

TEST_CASE("the default kernel is the AVX2 one exactly where the CPU (its /proc/cpuinfo flags) has AVX2") {
  // an independent reading of the CPU: the kernel's "avx2" flag in /proc/cpuinfo (Linux)
  std::ifstream in("/proc/cpuinfo");
  if (!in) {
    MESSAGE("no /proc/cpuinfo here: the CPU's flags cannot be read independently");
    return;
  }
  bool avx2 = false;
  for (std::string line; std::getline(in, line);)
    if (line.rfind("flags", 0) == 0) {
      std::istringstream words(line);
      for (std::string w; words >> w;) avx2 = avx2 || w == "avx2";
      break;
    }
  const bool dispatch = JAQ_X86_RUNTIME_AVX2;  // a portable x86-64 build carries the AVX2 copy
  CAPTURE(avx2);
  CAPTURE(dispatch);
  if (dispatch)
    CHECK((bt::best_kernel_isa() == bt::kernel_isa::avx2) == avx2);
  else
    CHECK(bt::best_kernel_isa() == bt::kernel_isa::portable);
  CHECK(std::string(bt::kernel_arch_name(bt::best_kernel_isa())) ==
        (bt::best_kernel_isa() == bt::kernel_isa::avx2 ? "avx2" : jaq::simd::arch_name()));
}
