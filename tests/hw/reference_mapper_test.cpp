// The exhaustive reference mapper on hand-computed layers (arithmetic in the comments), the tie
// rules, errors, groups and compile-time checks. Values marked "cross-checked" were also produced
// by an independent Python transcription of the spec (same integers, same doubles).
#include "jaq/hw/reference_mapper.hpp"

#include "jaq/core/rng.hpp"

#include <doctest/doctest.h>

#include <limits>
#include <optional>
#include <sstream>
#include <type_traits>

namespace hw = jaq::hw;

namespace {
const hw::energy_model& ref_em() {
  static const hw::energy_model em = hw::make_energy_model(hw::reference_config());
  return em;
}
hw::layer_mapping map_ok(const hw::layer& l, const hw::accel_config& c = hw::reference_config()) {
  const hw::mapping_result r = hw::map_layer_reference(c, l, hw::make_energy_model(c));
  REQUIRE(r.ok());
  return r.value();
}
hw::tiling tl(std::int64_t b, std::int64_t nb, std::int64_t o, std::int64_t no, std::int64_t ic, std::int64_t nic, std::int64_t oc,
              std::int64_t noc) {
  return {.b = b, .num_b = nb, .ow = o, .num_ow = no, .oh = o, .num_oh = no, .ic = ic, .num_ic = nic, .oc = oc, .num_oc = noc};
}
}  // namespace

// Non-hardware and non-dataflow tags are rejected at compile time.
template <class Acc, class Df>
concept can_map = requires(hw::accel_config c, hw::layer l) {
  hw::map_layer_reference<Acc, Df>(c, l);
};
static_assert(can_map<hw::bitfusion<>, hw::proxy_stationary>);
static_assert(can_map<hw::bitfusion<16, 4>, hw::weight_stationary>);
static_assert(!can_map<int, hw::proxy_stationary>);
static_assert(!can_map<hw::bitfusion<>, int>);
static_assert(!can_map<hw::bitfusion<>, hw::stationary>);
static_assert(!can_map<hw::proxy_stationary, hw::bitfusion<>>);

TEST_CASE("the issue's 3x3 conv: 441 compute + 533 stall = 974 cycles") {
  // K=3, O=7, S=1, IC=1, OC=8, B=1, 8/8 on the reference configuration.
  // Candidates: b {1}, o {1, 2, 4, 7}, ic {1}, oc {8}. Compute = 9 * 49 = 441 for o = 7 (T = 1);
  // o = 4 gives 576, o = 2 gives 36*16 = 576, o = 1 gives 9*49 = 441 with T = 49 tiles and more
  // stall. o = 7: tiles w 1024, a 648, o 50176 bits, T = 1 so every order walks the same:
  // DRAM rd 51848, wr 50176; latency ceil(51848/192) + ceil(50176/192) = 271 + 262 = 533.
  // Scheme OS (see cost_model_test); SRAM: wbuf rd 28224 wr 1024, ibuf 28224 / 648,
  // obuf 62720 / 62720. All 120 orders tie, so order 0 (B>OW>OH>IC>OC) is kept.
  const hw::layer_mapping m = map_ok({.name = "hand", .K = 3, .O = 7, .S = 1, .IC = 1, .OC = 8, .B = 1});
  CHECK(m.name == "hand");
  CHECK(m.tile == tl(1, 1, 7, 1, 1, 1, 8, 1));
  CHECK(m.order.to_string() == "B>OW>OH>IC>OC");
  CHECK(m.compute_cycles == 441);
  CHECK(m.stall_cycles == 533);
  CHECK(m.total_cycles == 974);
  CHECK(m.scheme == hw::stationary::output);
  CHECK(m.dram_rd_bits == 51848);
  CHECK(m.dram_wr_bits == 50176);
  CHECK(m.wbuf_rd_bits == 28224);
  CHECK(m.wbuf_wr_bits == 1024);
  CHECK(m.ibuf_rd_bits == 28224);
  CHECK(m.ibuf_wr_bits == 648);
  CHECK(m.obuf_rd_bits == 62720);
  CHECK(m.obuf_wr_bits == 62720);
  CHECK(m.energy_nJ == 1643.0891170185);  // cross-checked
  CHECK(m.energy_core_nJ == 441 * 0.235104);
  CHECK(m.energy_dram_nJ == 51848 * 0.015 + 50176 * 0.015);
  CHECK(m.latency_s == 974 / 500e6);
  CHECK(m.energies_exact());
}

TEST_CASE("the same conv at 4/4 bits: pf 4 shrinks the weight and activation tiles") {
  // pf = 4, N*pf = 64: w = ceil(9/64)*64*8*4 = 2048; a = 81*4 = 324; o = 50176.
  // Compute 441 (ceil(1/64) = 1); latency ceil(52548/192) + 262 = 274 + 262 = 536: 977 cycles.
  const hw::layer_mapping m = map_ok({.name = "h4", .K = 3, .O = 7, .S = 1, .IC = 1, .OC = 8, .B = 1, .iprec = 4, .wprec = 4});
  CHECK(m.compute_cycles == 441);
  CHECK(m.stall_cycles == 536);
  CHECK(m.total_cycles == 977);
  CHECK(m.dram_rd_bits == 2048 + 324 + 50176);
  CHECK(m.energy_nJ == 1652.44107252525);  // cross-checked
}

TEST_CASE("a fully connected layer 16 -> 32: one tile, 1 compute + 34 stall") {
  // K=O=S=1, IC=16, OC=32: ic {1,2,4,8,16}, oc {32}. ic = 16: T = 1, compute 1*1*1*1*ceil(16/16) = 1;
  // w = 1*16*32*8 = 4096, a = 16*8 = 128, o = 32*32 = 1024; latency ceil(5248/192) +
  // ceil(1024/192) = 28 + 6 = 34. Any ic < 16 has T = 16/ic tiles, more compute and more DRAM.
  // Proxies: is 32, os 16, ws 1: IS 16*1288 = 20608, OS 32*288 = 9216, WS 512*48 = 24576: OS.
  // OS SRAM: act_rd 32*1*16*8 = 4096; out 1024 + 32*32 = 2048; wgt_rd 32*16*8 = 4096.
  const hw::layer_mapping m = map_ok({.name = "fc", .K = 1, .O = 1, .S = 1, .IC = 16, .OC = 32, .B = 1});
  CHECK(m.tile == tl(1, 1, 1, 1, 16, 1, 32, 1));
  CHECK(m.total_cycles == 35);
  CHECK(m.compute_cycles == 1);
  CHECK(m.stall_cycles == 34);
  CHECK(m.dram_rd_bits == 5248);
  CHECK(m.dram_wr_bits == 1024);
  CHECK(m.wbuf_rd_bits == 4096);
  CHECK(m.wbuf_wr_bits == 4096);
  CHECK(m.ibuf_rd_bits == 4096);
  CHECK(m.ibuf_wr_bits == 128);
  CHECK(m.obuf_rd_bits == 2048);
  CHECK(m.obuf_wr_bits == 2048);
  CHECK(m.energy_nJ == 94.996797704);  // cross-checked
}

TEST_CASE("im2col: equal cycles and energy keep the first tiling in nest order") {
  // K=3, O=2, IC=3, OC=4, im2col. o = 2, ic = 3, oc = 4: compute 2*2*1*ceil(27/16) = 8, T = 1,
  // DRAM 1024 + 864 + 4096 = 5984 read, 4096 written; latency 32 + 22 = 54: 62 cycles.
  // o = 1, ic = 3, oc = 4: 2 per tile x 4 tiles = 8; a = 216, o = 1024 per tile, OW and OH
  // multiply them to 864 and 4096 (both still fit): the same walk maxima, the same 54 stall, and
  // the same SRAM counts (OS: act_rd 4*4*27*8 = 3456 either way), so the same energy. It comes
  // first in nest order (o = 1 before o = 2), so it wins.
  const hw::layer_mapping m = map_ok({.name = "first", .K = 3, .O = 2, .S = 1, .IC = 3, .OC = 4, .B = 1, .im2col = true});
  CHECK(m.tile == tl(1, 1, 1, 2, 3, 1, 4, 1));
  CHECK(m.total_cycles == 62);
  CHECK(m.compute_cycles == 8);
  CHECK(m.stall_cycles == 54);
  CHECK(m.dram_rd_bits == 5984);
  CHECK(m.ibuf_rd_bits == 3456);
  CHECK(m.obuf_rd_bits == 4608);
  CHECK(m.order.index() == 0);
  CHECK(m.energy_nJ == 153.977616642);  // cross-checked
}

TEST_CASE("cross-checked layers: ResNet shapes, batch 16, 2/2 and 4/2 bits, huge counts") {
  struct row {
    hw::layer l;
    hw::tiling t;
    const char* order;
    std::int64_t total, compute, stall, drd, dwr, wrd, wwr, ird, iwr, ord, owr;
    double energy;
  };
  const row rows[] = {
      {{.name = "l2c1", .K = 3, .O = 28, .S = 2, .IC = 64, .OC = 128, .B = 1},
       tl(1, 1, 4, 7, 32, 2, 32, 4),
       "B>IC>OC>OW>OH",
       113560,
       112896,
       664,
       15140864,
       6422528,
       462422016,
       589824,
       462422016,
       8128512,
       12845056,
       12845056,
       389681.342408832},
      {{.name = "l1b16", .K = 3, .O = 56, .S = 1, .IC = 64, .OC = 64, .B = 16, .iprec = 2, .wprec = 2},
       tl(1, 16, 8, 7, 64, 1, 32, 2),
       "B>OW>OH>IC>OC",
       1123201,
       903168,
       220033,
       112893952,
       102760448,
       3699376128,
       98304,
       3699376128,
       10035200,
       205520896,
       205520896,
       3769190.388387328},
      {{.name = "conv1", .K = 7, .O = 112, .S = 2, .IC = 3, .OC = 64, .B = 1, .im2col = true, .iprec = 4, .wprec = 2},
       tl(1, 1, 1, 112, 3, 1, 32, 2),
       "B>OW>OH>IC>OC",
       306193,
       50176,
       256017,
       33098752,
       25690112,
       236027904,
       32768,
       472055808,
       7375872,
       51380224,
       51380224,
       933045.8705328},
      {{.name = "fc42", .K = 1, .O = 1, .S = 1, .IC = 512, .OC = 1000, .B = 1, .iprec = 4, .wprec = 2},
       tl(1, 1, 1, 1, 128, 4, 1000, 1),
       "B>OW>OH>IC>OC",
       5686,
       128,
       5558,
       1058816,
       32768,
       1024000,
       1024000,
       2048000,
       2048,
       160768,
       160768,
       16594.45816576},
      // huge: counts up to ~8e13, compute 1.9e10 cycles
      {{.name = "huge", .K = 3, .O = 256, .S = 1, .IC = 1024, .OC = 1024, .B = 16},
       tl(1, 16, 2, 128, 32, 32, 32, 32),
       "IC>OC>B>OW>OH",
       19327353281,
       19327352832,
       449,
       2199098753024,
       1099511627776,
       79164837199872,
       75497472,
       79164837199872,
       1099511627776,
       2199023255552,
       2199023255552,
       60781425563.57446},
  };
  for (const row& r : rows) {
    CAPTURE(r.l);
    const hw::layer_mapping m = map_ok(r.l);
    CHECK(m.tile == r.t);
    CHECK(m.order.to_string() == r.order);
    CHECK(m.total_cycles == r.total);
    CHECK(m.compute_cycles == r.compute);
    CHECK(m.stall_cycles == r.stall);
    CHECK(m.dram_rd_bits == r.drd);
    CHECK(m.dram_wr_bits == r.dwr);
    CHECK(m.wbuf_rd_bits == r.wrd);
    CHECK(m.wbuf_wr_bits == r.wwr);
    CHECK(m.ibuf_rd_bits == r.ird);
    CHECK(m.ibuf_wr_bits == r.iwr);
    CHECK(m.obuf_rd_bits == r.ord);
    CHECK(m.obuf_wr_bits == r.owr);
    CHECK(m.energy_nJ == r.energy);
  }
}

namespace {
// An independent formulation of the selection rule: the lexicographic minimum of
// (cycles, energy) over every (order, tiling), the smallest order index among those attaining
// it, and within that order the first tiling in nest order.
void check_selection_rule(const hw::accel_config& cfg, const hw::layer& l) {
  CAPTURE(l);
  CAPTURE(cfg);
  const hw::energy_model em = hw::make_energy_model(cfg);
  const hw::mapping_result r = hw::map_layer_reference(cfg, l, em);
  const hw::layer_params p = hw::make_params(cfg, hw::group_layer(l));
  std::int64_t best_c = std::numeric_limits<std::int64_t>::max();
  double best_e = 0;
  for (int oi = 0; oi < 120; ++oi)
    for (const hw::tiling& t : hw::tiling_candidates(p)) {
      if (!hw::fits(p, hw::tile_bits(p, t))) continue;
      const auto c = hw::evaluate(p, t, hw::loop_order::from_index(oi));
      const double e = hw::energy_of(c, em).total;
      if (c.total_cycles < best_c || (c.total_cycles == best_c && e < best_e)) {
        best_c = c.total_cycles;
        best_e = e;
      }
    }
  if (best_c == std::numeric_limits<std::int64_t>::max()) {  // nothing fits
    CHECK_FALSE(r.ok());
    return;
  }
  std::optional<std::pair<int, hw::tiling>> first;
  for (int oi = 0; oi < 120 && !first; ++oi)
    for (const hw::tiling& t : hw::tiling_candidates(p)) {
      if (!hw::fits(p, hw::tile_bits(p, t))) continue;
      const auto c = hw::evaluate(p, t, hw::loop_order::from_index(oi));
      if (c.total_cycles == best_c && hw::energy_of(c, em).total == best_e) {
        first = {oi, t};
        break;
      }
    }
  REQUIRE(first.has_value());
  REQUIRE(r.ok());
  const hw::layer_mapping& m = r.value();
  CHECK(m.total_cycles == best_c * l.groups);
  if (l.groups == 1) CHECK(m.energy_nJ == best_e);
  CHECK(m.order.index() == first->first);
  CHECK(m.tile == first->second);
}
}  // namespace

TEST_CASE("across orders the first order reaching the best (cycles, energy) wins") {
  const hw::layer layers[] = {
      {.name = "a", .K = 3, .O = 28, .S = 2, .IC = 64, .OC = 128, .B = 1},
      {.name = "b", .K = 1, .O = 14, .S = 1, .IC = 256, .OC = 64, .B = 4, .iprec = 4, .wprec = 4},
      {.name = "c", .K = 5, .O = 8, .S = 1, .IC = 96, .OC = 96, .B = 2, .iprec = 8, .wprec = 2},
  };
  hw::accel_config small = hw::reference_config();
  small.wbuf_bytes = 16384;
  small.ibuf_bytes = 8192;
  small.obuf_bytes = 4096;
  for (const hw::accel_config& cfg : {hw::reference_config(), small})
    for (const hw::layer& l : layers) check_selection_rule(cfg, l);
}

TEST_CASE("on random layers and configurations the reference follows the selection rule") {
  jaq::rng g(20261126);
  auto pick = [&](std::initializer_list<std::int64_t> v) { return *(v.begin() + static_cast<std::ptrdiff_t>(g.below(v.size()))); };
  for (int i = 0; i < 60; ++i) {
    hw::accel_config c;
    c.N = pick({2, 4, 8, 16, 32, 12});
    c.M = pick({4, 8, 16, 32, 64, 24});
    c.wbuf_bytes = pick({4096, 16384, 65536, 262144, 50000});
    c.ibuf_bytes = pick({1024, 8192, 32768, 131072});
    c.obuf_bytes = pick({1024, 4096, 16384, 65536});
    c.if_width = pick({16, 64, 128, 192, 256, 100});
    hw::layer l;
    l.name = "r" + std::to_string(i);
    l.K = pick({1, 1, 3, 3, 5, 7});
    l.O = pick({1, 2, 3, 5, 7, 8, 13, 14, 28});
    l.S = pick({1, 1, 2});
    l.B = pick({1, 1, 2, 3, 8});
    l.im2col = g.below(5) == 0;
    l.iprec = static_cast<int>(1 + g.below(8));
    l.wprec = static_cast<int>(1 + g.below(8));
    l.groups = pick({1, 1, 1, 2, 4});
    l.IC = l.groups * pick({1, 3, 4, 16, 24, 48, 96});
    l.OC = l.groups * pick({1, 8, 10, 32, 64, 100});
    check_selection_rule(c, l);
  }
}

TEST_CASE("a layer no tiling fits is an error value naming the layer and the buffer") {
  // WBUF 64 B: cap 256 bits; the smallest weight tile is ceil(1/16)*16 * 32 * 8 = 4096 bits.
  hw::accel_config c = hw::reference_config();
  c.wbuf_bytes = 64;
  hw::energy_model em = ref_em();  // table lookups are not the point here
  const hw::mapping_result r = hw::map_layer_reference(c, {.name = "fc_tiny", .K = 1, .O = 1, .S = 1, .IC = 1, .OC = 64, .B = 1}, em);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error() == hw::mapping_error{.layer = "fc_tiny", .which = hw::buffer::wbuf, .required_bits = 4096, .capacity_bits = 256});
  CHECK_THROWS_WITH_AS(r.value(), doctest::Contains("layer 'fc_tiny': no tiling fits WBUF"), jaq::hardware_error);
  // IBUF 16 B (cap 64 bits): the smallest activation tile of an 11x11 kernel is 121*8 = 968 bits.
  c = hw::reference_config();
  c.ibuf_bytes = 16;
  const hw::mapping_result ri = hw::map_layer_reference(c, {.name = "k11", .K = 11, .O = 4, .S = 4, .IC = 3, .OC = 8, .B = 1}, em);
  REQUIRE_FALSE(ri.ok());
  CHECK(ri.error().which == hw::buffer::ibuf);
  CHECK(ri.error().required_bits == 968);
  // OBUF 64 B (cap 256 bits): one output pixel of 32 columns of 32 bits is 1024 bits.
  c = hw::reference_config();
  c.obuf_bytes = 64;
  const hw::mapping_result ro = hw::map_layer_reference(c, {.name = "o", .K = 1, .O = 1, .S = 1, .IC = 1, .OC = 1, .B = 1}, em);
  REQUIRE_FALSE(ro.ok());
  CHECK(ro.error().which == hw::buffer::obuf);
  CHECK(ro.error().required_bits == 1024);
  std::ostringstream os;
  os << ro;
  CHECK(os.str().find("no tiling fits OBUF") != std::string::npos);
}

TEST_CASE("a layer too large for exact 64-bit counts throws, naming it") {
  const hw::layer l{.name = "galaxy", .K = 7, .O = 4096, .S = 1, .IC = 65536, .OC = 65536, .B = 4096};
  CHECK_THROWS_WITH_AS(hw::map_layer_reference(hw::reference_config(), l, ref_em()), doctest::Contains("layer 'galaxy'"),
                       jaq::hardware_error);
}

TEST_CASE("a malformed layer throws config_error") {
  CHECK_THROWS_AS(
      hw::map_layer_reference(hw::reference_config(), {.name = "z", .K = 0, .O = 1, .S = 1, .IC = 1, .OC = 1, .B = 1}, ref_em()),
      jaq::config_error);
}

TEST_CASE("a precision wider than the array's pmax is a config_error, not a division by zero") {
  // bitfusion<4, 4> fuses 4-bit bricks: an 8-bit operand gives floor(4/8) = 0 products per unit.
  const hw::layer l{.name = "wide", .K = 3, .O = 7, .S = 1, .IC = 1, .OC = 8, .B = 1, .iprec = 8, .wprec = 8};
  CHECK_THROWS_WITH_AS((hw::map_layer_reference<hw::bitfusion<4, 4>>(hw::reference_config(), l)),
                       doctest::Contains("layer wide: iprec/wprec: 8/8 exceeds"), jaq::config_error);
  hw::layer ok = l;
  ok.iprec = ok.wprec = 4;
  CHECK(hw::map_layer_reference<hw::bitfusion<4, 4>>(hw::reference_config(), ok).ok());
}

TEST_CASE("groups: each of g groups maps as IC/g -> OC/g; every count scales by g") {
  const hw::layer dw{.name = "dw", .K = 3, .O = 16, .S = 1, .IC = 32, .OC = 32, .B = 1, .groups = 32};
  const hw::layer one{.name = "dw", .K = 3, .O = 16, .S = 1, .IC = 1, .OC = 1, .B = 1};
  const hw::layer_mapping m = map_ok(dw);
  const hw::layer_mapping s = map_ok(one);
  CHECK(m.groups == 32);
  CHECK(m.tile == s.tile);
  CHECK(m.order == s.order);
  CHECK(m.total_cycles == 32 * s.total_cycles);
  CHECK(m.compute_cycles == 32 * s.compute_cycles);
  CHECK(m.stall_cycles == 32 * s.stall_cycles);
  CHECK(m.dram_rd_bits == 32 * s.dram_rd_bits);
  CHECK(m.obuf_wr_bits == 32 * s.obuf_wr_bits);
  // energies: the spec's chain over the scaled counts
  hw::candidate_cost c;
  c.compute_cycles = m.compute_cycles;
  c.stall_cycles = m.stall_cycles;
  c.total_cycles = m.total_cycles;
  c.dram_rd = m.dram_rd_bits;
  c.dram_wr = m.dram_wr_bits;
  c.sram = {m.wbuf_rd_bits, m.wbuf_wr_bits, m.ibuf_rd_bits, m.ibuf_wr_bits, m.obuf_rd_bits, m.obuf_wr_bits};
  CHECK(m.energy_nJ == hw::energy_of(c, ref_em()).total);
  // a grouped conv (g = 2) of 64 -> 128 maps as two 32 -> 64 convs
  const hw::layer g2{.name = "g2", .K = 3, .O = 14, .S = 1, .IC = 64, .OC = 128, .B = 1, .groups = 2};
  hw::layer half = g2;
  half.IC = 32;
  half.OC = 64;
  half.groups = 1;
  CHECK(map_ok(g2).total_cycles == 2 * map_ok(half).total_cycles);
}

TEST_CASE("groups = 1 is the original model: group_layer is the identity") {
  const hw::layer l{.name = "x", .K = 3, .O = 14, .S = 2, .IC = 48, .OC = 96, .B = 2};
  CHECK(hw::group_layer(l) == l);
}

TEST_CASE("a compile-time configuration maps exactly like the same run-time one") {
  const hw::layer l{.name = "x", .K = 3, .O = 28, .S = 1, .IC = 64, .OC = 64, .B = 1, .iprec = 4, .wprec = 4};
  CHECK(hw::map_layer_reference(hw::reference_fixed_config{}, l) == hw::map_layer_reference(hw::reference_config(), l));
  using small = hw::fixed_accel_config<8, 16, 16384, 8192, 8192, 64>;
  CHECK(hw::map_layer_reference(small{}, l) == hw::map_layer_reference(hw::to_runtime(small{}), l));
}

TEST_CASE_TEMPLATE("a fixed dataflow maps with its scheme everywhere", Df, hw::input_stationary, hw::output_stationary,
                   hw::weight_stationary) {
  const hw::layer l{.name = "x", .K = 3, .O = 14, .S = 1, .IC = 32, .OC = 64, .B = 1};
  const hw::layer_mapping m = hw::map_layer_reference<hw::bitfusion<>, Df>(hw::reference_config(), l, ref_em()).value();
  CHECK(m.scheme == hw::dataflow_traits<Df>::choose(0, 0, 0));
  // cycles do not depend on the scheme; SRAM counts do
  const hw::layer_mapping p = map_ok(l);
  CHECK(m.total_cycles == p.total_cycles);
}

TEST_CASE("latency in seconds is total cycles over the clock") {
  hw::accel_config c = hw::reference_config();
  c.frequency_hz = 1e9;
  const hw::layer_mapping m = map_ok({.name = "hand", .K = 3, .O = 7, .S = 1, .IC = 1, .OC = 8, .B = 1}, c);
  CHECK(m.total_cycles == 974);
  CHECK(m.latency_s == 974 / 1e9);
}

TEST_CASE("interpolated SRAM energies are flagged in the mapping") {
  hw::accel_config c = hw::reference_config();
  c.ibuf_bytes = 49152;
  const hw::layer_mapping m = map_ok({.name = "hand", .K = 3, .O = 7, .S = 1, .IC = 1, .OC = 8, .B = 1}, c);
  CHECK_FALSE(m.energies_exact());
  CHECK(m.ibuf_fit == hw::table_fit::interpolated);
}

namespace {
template <class P, class D>
struct sweep {
  using precision = P;
  using flow = D;
};
}  // namespace

TEST_CASE_TEMPLATE("bit-width x dataflow: an FC layer of N*pf inputs takes one compute cycle", S,
                   sweep<hw::fixed_precision<8, 8>, hw::proxy_stationary>, sweep<hw::fixed_precision<4, 4>, hw::proxy_stationary>,
                   sweep<hw::fixed_precision<2, 2>, hw::input_stationary>, sweep<hw::fixed_precision<4, 2>, hw::output_stationary>,
                   sweep<hw::fixed_precision<8, 2>, hw::weight_stationary>, sweep<hw::fixed_precision<1, 3>, hw::proxy_stationary>) {
  // IC = N * pf (16 * pf) and OC = M (32): the whole layer is one tile, ic = IC, oc = OC, and
  // one cycle: ceil(IC / (N*pf)) = 1 row pass, ceil(OC / M) = 1 column pass. The weight tile is
  // 16*pf * 32 * wp bits; DRAM carries weights, IC*ip activation bits and 32*32 output bits.
  constexpr hw::precision_pair p = typename S::precision{};
  const std::int64_t pf = hw::traits<hw::bitfusion<>>::fusion(p.iprec, p.wprec);
  const hw::layer l{.name = "fc", .K = 1, .O = 1, .S = 1, .IC = 16 * pf, .OC = 32, .B = 1, .iprec = p.iprec, .wprec = p.wprec};
  const hw::layer_mapping m = hw::map_layer_reference<hw::bitfusion<>, typename S::flow>(hw::reference_config(), l, ref_em()).value();
  CHECK(m.compute_cycles == 1);
  CHECK(m.tile == tl(1, 1, 1, 1, 16 * pf, 1, 32, 1));
  const std::int64_t w = 16 * pf * 32 * p.wprec, a = 16 * pf * p.iprec, o = 32 * 32;
  CHECK(m.dram_rd_bits == w + a + o);
  CHECK(m.dram_wr_bits == o);
  CHECK(m.stall_cycles == (w + a + o + 191) / 192 + (o + 191) / 192);
  if (!std::is_same_v<typename S::flow, hw::proxy_stationary>) CHECK(m.scheme == hw::dataflow_traits<typename S::flow>::choose(0, 0, 0));
}

TEST_CASE("a malformed configuration throws config_error before any search") {
  hw::accel_config c = hw::reference_config();
  c.if_width = 0;
  CHECK_THROWS_WITH_AS(hw::map_layer_reference(c, {.name = "x", .K = 1, .O = 1, .S = 1, .IC = 1, .OC = 1, .B = 1}, ref_em()),
                       "accel_config: if_width: must be positive, got 0", jaq::config_error);
}
