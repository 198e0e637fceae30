// The cost model's formulas, each against numbers worked out by hand from the spec
// (shared/specs/bitfusion-cost-model.md); the arithmetic is in the comments.
#include "jaq/hw/cost_model.hpp"

#include <doctest/doctest.h>

#include <sstream>
#include <vector>

namespace hw = jaq::hw;

namespace {
// The hand case: 3x3 conv, O=7, S=1, IC=1, OC=8, B=1, 8/8 bits.
hw::layer hand_layer() { return {.name = "hand", .K = 3, .O = 7, .S = 1, .IC = 1, .OC = 8, .B = 1}; }
// Reference config: pf(8/8) = 1, N*pf = 16, M = 32; caps 262144 / 131072 / 65536 bits.
hw::layer_params hand_params() { return hw::make_params(hw::reference_config(), hand_layer()); }

// Made-up parameters for the walk and stall cases: caps of 100 bits, if_width 10.
hw::layer_params toy_params() {
  hw::layer_params p{};
  p.K = 1;
  p.O = 1;
  p.S = 1;
  p.IC = 1;
  p.OC = 1;
  p.B = 1;
  p.im2col = false;
  p.ip = 8;
  p.wp = 8;
  p.pf = 1;
  p.N = 1;
  p.M = 1;
  p.npf = 1;
  p.cap_w = 100;
  p.cap_a = 100;
  p.cap_o = 100;
  p.if_width = 10;
  return p;
}
// counts: B 2, OW 3, OH 1, IC 4, OC 5
hw::tiling toy_tiling() {
  return {.b = 1, .num_b = 2, .ow = 1, .num_ow = 3, .oh = 1, .num_oh = 1, .ic = 1, .num_ic = 4, .oc = 1, .num_oc = 5};
}
hw::loop_order order(const char* s) { return *hw::loop_order::parse(s); }
}  // namespace

TEST_CASE("make_params derives pf, N*pf and the half-buffer capacities") {
  const hw::layer_params p = hand_params();
  CHECK(p.pf == 1);
  CHECK(p.npf == 16);
  CHECK(p.cap_w == 262144);
  CHECK(p.cap_a == 131072);
  CHECK(p.cap_o == 65536);
  hw::layer l = hand_layer();
  l.iprec = 4;
  l.wprec = 2;
  CHECK(hw::make_params(hw::reference_config(), l).pf == 8);
  CHECK(hw::make_params(hw::reference_config(), l).npf == 128);
}

TEST_CASE("tile sizes are powers of two (times M for oc) capped at the full size") {
  CHECK(hw::tile_sizes(7, 1) == std::vector<std::int64_t>{1, 2, 4, 7});
  CHECK(hw::tile_sizes(8, 1) == std::vector<std::int64_t>{1, 2, 4, 8});
  CHECK(hw::tile_sizes(1, 1) == std::vector<std::int64_t>{1});
  CHECK(hw::tile_sizes(8, 32) == std::vector<std::int64_t>{8});  // OC below M
  CHECK(hw::tile_sizes(100, 32) == std::vector<std::int64_t>{32, 64, 100});
  CHECK(hw::tile_sizes(64, 32) == std::vector<std::int64_t>{32, 64});
}

TEST_CASE("candidates are visited b, then o, then ic, then oc innermost") {
  // B=2, O=2, IC=2, OC=64 (M=32): b {1,2}, o {1,2}, ic {1,2}, oc {32,64}: 16 candidates.
  const hw::layer l{.name = "n", .K = 1, .O = 2, .S = 1, .IC = 2, .OC = 64, .B = 2};
  const auto c = hw::tiling_candidates(hw::make_params(hw::reference_config(), l));
  REQUIRE(c.size() == 16);
  CHECK(c[0] == hw::tiling{.b = 1, .num_b = 2, .ow = 1, .num_ow = 2, .oh = 1, .num_oh = 2, .ic = 1, .num_ic = 2, .oc = 32, .num_oc = 2});
  CHECK(c[1].oc == 64);  // oc moves first
  CHECK(c[1].num_oc == 1);
  CHECK(c[2].ic == 2);  // then ic
  CHECK(c[4].ow == 2);  // then o (ow == oh)
  CHECK(c[4].oh == 2);
  CHECK(c[8].b == 2);  // b outermost
  // im2col: oc steps in powers of two, not multiples of M
  hw::layer li = l;
  li.im2col = true;
  const auto ci = hw::tiling_candidates(hw::make_params(hw::reference_config(), li));
  CHECK(ci.size() == 2 * 2 * 2 * 7);  // oc 1, 2, 4, ..., 64
  // first_tiling is the first of them, built without listing them; tile_size(i) is tile_sizes[i]
  CHECK(hw::first_tiling(hw::make_params(hw::reference_config(), l)) == c[0]);
  CHECK(hw::first_tiling(hw::make_params(hw::reference_config(), li)) == ci[0]);
  hw::layer small = l;
  small.OC = 8;  // below M: the first oc tile is the whole OC
  CHECK(hw::first_tiling(hw::make_params(hw::reference_config(), small)) ==
        hw::tiling_candidates(hw::make_params(hw::reference_config(), small))[0]);
  for (auto [full, step] : {std::pair<std::int64_t, std::int64_t>{7, 1}, {100, 32}, {8, 32}, {64, 32}}) {
    const auto v = hw::tile_sizes(full, step);
    for (std::size_t i = 0; i < v.size(); ++i) CHECK(hw::tile_size(full, step, int(i)) == v[i]);
  }
}

TEST_CASE("counts are ceilings: a ragged last tile costs a full one") {
  const hw::tiling t = hw::make_tiling(hand_params(), 1, 4, 1, 8);
  CHECK(t.num_ow == 2);  // ceil(7 / 4)
  CHECK(t.num_oh == 2);
  CHECK(t.tiles() == 4);
}

TEST_CASE("tile footprints of the hand case") {
  // o = 7, ic = 1, oc = 8:
  //   w = ceil(9*1 / 16) * 16 * 8 * 8 = 1024
  //   a = (3 + 6*1) * (3 + 6*1) * 1 * 1 * 8 = 648
  //   o = 7*7 * ceil(8/32)*32 * 1 * 32 = 50176
  const hw::layer_params p = hand_params();
  CHECK(hw::tile_bits(p, hw::make_tiling(p, 1, 7, 1, 8)) == hw::tile_footprint{1024, 648, 50176});
  // o = 4: a = (3 + 3)^2 * 8 = 288; o = 16 * 32 * 32 = 16384
  CHECK(hw::tile_bits(p, hw::make_tiling(p, 1, 4, 1, 8)) == hw::tile_footprint{1024, 288, 16384});
}

TEST_CASE("im2col footprints use K*K*ic columns") {
  // K=3, O=2, IC=3, OC=4, im2col: o=2, ic=3, oc=4:
  //   w = ceil(27/16) * 16 * 4 * 8 = 2*16*32 = 1024
  //   a = 2*2 * 9 * 3 * 1 * 8 = 864;  o = 4 * 32 * 1 * 32 = 4096
  const hw::layer l{.name = "i", .K = 3, .O = 2, .S = 1, .IC = 3, .OC = 4, .B = 1, .im2col = true};
  const hw::layer_params p = hw::make_params(hw::reference_config(), l);
  CHECK(hw::tile_bits(p, hw::make_tiling(p, 1, 2, 3, 4)) == hw::tile_footprint{1024, 864, 4096});
}

TEST_CASE("a tile of exactly half a buffer passes the filter, one bit more fails") {
  const hw::layer_params p = hand_params();
  CHECK(hw::fits(p, {p.cap_w, p.cap_a, p.cap_o}));
  CHECK_FALSE(hw::fits(p, {p.cap_w + 1, p.cap_a, p.cap_o}));
  CHECK_FALSE(hw::fits(p, {p.cap_w, p.cap_a + 1, p.cap_o}));
  CHECK_FALSE(hw::fits(p, {p.cap_w, p.cap_a, p.cap_o + 1}));
  // A real tile at the boundary: K=1, IC=16, oc=2048, 8 bits: w = 1*16*2048*8 = 262144 = cap_w.
  const hw::layer fc{.name = "fc", .K = 1, .O = 1, .S = 1, .IC = 16, .OC = 2048, .B = 1};
  hw::accel_config c = hw::reference_config();
  hw::layer_params q = hw::make_params(c, fc);
  const hw::tiling t = hw::make_tiling(q, 1, 1, 16, 2048);
  CHECK(hw::tile_bits(q, t).w == 262144);
  CHECK(hw::fits(q, hw::tile_bits(q, t)));
  c.wbuf_bytes -= 1;  // cap 262140
  q = hw::make_params(c, fc);
  CHECK_FALSE(hw::fits(q, hw::tile_bits(q, t)));
}

TEST_CASE("compute cycles of the hand, FC and im2col cases") {
  // hand, o = 7: 1 * ceil(8/32) * 7 * 7 * 9 * ceil(1/16) = 441 per tile, T = 1
  const hw::layer_params p = hand_params();
  CHECK(hw::compute_cycles(p, hw::make_tiling(p, 1, 7, 1, 8)) == 441);
  // hand, o = 4: 16 * 9 = 144 per tile, T = 4: 576
  CHECK(hw::compute_cycles(p, hw::make_tiling(p, 1, 4, 1, 8)) == 576);
  // im2col K=3, O=2, IC=3, OC=4: 1*2*2 * ceil(4/32) * ceil(27/16) = 8, T = 1
  const hw::layer l{.name = "i", .K = 3, .O = 2, .S = 1, .IC = 3, .OC = 4, .B = 1, .im2col = true};
  const hw::layer_params q = hw::make_params(hw::reference_config(), l);
  CHECK(hw::compute_cycles(q, hw::make_tiling(q, 1, 2, 3, 4)) == 8);
  // ... and ic = 1: ceil(9/16) = 1 per tile of 2*2, num_ic = 3: 12
  CHECK(hw::compute_cycles(q, hw::make_tiling(q, 1, 2, 1, 4)) == 12);
  // FC 16 -> 32, ic = 8: 1 * 1 * 1 * 1 * ceil(8/16) = 1 per tile, num_ic = 2: 2
  const hw::layer fc{.name = "fc", .K = 1, .O = 1, .S = 1, .IC = 16, .OC = 32, .B = 1};
  const hw::layer_params r = hw::make_params(hw::reference_config(), fc);
  CHECK(hw::compute_cycles(r, hw::make_tiling(r, 1, 1, 8, 32)) == 2);
}

TEST_CASE("promotion walk: demoted buffers are multiplied by every outer loop") {
  // Footprint w=10, a=20, o=30, caps 100; order B>OW>OH>IC>OC, walked OC, IC, OH, OW, B:
  //   OC(5): w 50 (max 50); a untouched, skipped; o 150 > 100: demoted (max stays 30)
  //   IC(4): w 200 > 100: demoted (max 50); a 80 (max 80); o demoted: x4 = 600
  //   OH(1): w 200; a 80 (max 80); o 600
  //   OW(3): w x3 = 600 (demoted, untouched, still multiplied); a 240: demoted; o 1800
  //   B(2):  w 1200; a 480; o 3600
  const hw::dram_walk w = hw::promotion_walk(toy_params(), toy_tiling(), {10, 20, 30}, order("B>OW>OH>IC>OC"));
  CHECK(w == hw::dram_walk{.write_w = 1200,
                           .write_a = 480,
                           .write_o = 3600,
                           .read_o = 3600,
                           .max_write_w = 50,
                           .max_write_a = 80,
                           .max_write_o = 30,
                           .max_read_o = 30});
  CHECK(w.dram_rd() == 1200 + 480 + 3600);
  CHECK(w.dram_wr() == 3600);
}

TEST_CASE("promotion walk: untouched loops are skipped only while a buffer is promoted") {
  // Order OC>IC>OH>OW>B, walked B, OW, OH, IC, OC:
  //   B(2):  w untouched; a 40 (max 40); o 60 (max 60)
  //   OW(3): w untouched; a 120: demoted; o 180: demoted
  //   OH(1): a 120; o 180
  //   IC(4): w 40 (max 40); a 480; o (demoted, untouched) 720
  //   OC(5): w 200: demoted; a (demoted, untouched) 2400; o 3600
  const hw::dram_walk w = hw::promotion_walk(toy_params(), toy_tiling(), {10, 20, 30}, order("OC>IC>OH>OW>B"));
  CHECK(w == hw::dram_walk{.write_w = 200,
                           .write_a = 2400,
                           .write_o = 3600,
                           .read_o = 3600,
                           .max_write_w = 40,
                           .max_write_a = 40,
                           .max_write_o = 60,
                           .max_read_o = 60});
}

TEST_CASE("promotion walk: a size equal to half the buffer stays promoted") {
  // w = 25 x OC(4) = 100 = cap: promoted, max 100; then IC(4) = 400: demoted.
  hw::tiling t = toy_tiling();
  t.num_oc = 4;
  const hw::dram_walk w = hw::promotion_walk(toy_params(), t, {25, 1, 1}, order("B>OW>OH>IC>OC"));
  CHECK(w.max_write_w == 100);
  CHECK(w.write_w == 400 * 3 * 2);  // then OW(3) and B(2) multiply the demoted weights
}

TEST_CASE("stalls: two separate latency ceilings, overlap clamped at zero") {
  // From the first walk: initial = 50+80+30 = 160, final = 30, if_width 10:
  //   latency = 16 + 3 = 19; middle = 5280 + 3600 - 160 - 30 = 8690;
  //   stall = max(0, 869 - 100) + 19 = 788
  const hw::layer_params p = toy_params();
  const hw::dram_walk w = hw::promotion_walk(p, toy_tiling(), {10, 20, 30}, order("B>OW>OH>IC>OC"));
  const hw::stall_breakdown s = hw::stall_cycles(p, w, 100);
  CHECK(s.initial == 160);
  CHECK(s.final_ == 30);
  CHECK(s.latency == 19);
  CHECK(s.middle == 8690);
  CHECK(s.stall == 788);
  CHECK(hw::stall_cycles(p, w, 10000).stall == 19);  // compute hides the middle traffic
  // The hand case: initial 51848, final 50176 at 192 bits/cycle:
  //   ceil(51848/192) = 271, ceil(50176/192) = 262, latency 533 (one ceiling would give 532)
  const hw::layer_params q = hand_params();
  const hw::tiling t = hw::make_tiling(q, 1, 7, 1, 8);
  const hw::dram_walk hw7 = hw::promotion_walk(q, t, hw::tile_bits(q, t), order("B>OW>OH>IC>OC"));
  const hw::stall_breakdown s7 = hw::stall_cycles(q, hw7, 441);
  CHECK(s7.latency == 533);
  CHECK(s7.middle == 0);
  CHECK(s7.stall == 533);
}

TEST_CASE("stationary proxies of the hand case pick OS") {
  // is = ceil(8/32)*32 = 32; os = ceil(1/16)*16*9 = 144; ws = 1*7*7 = 49
  //   IS = 144*49*(8 + 32*40) = 9088128
  //   OS = 32*49*(32 + 144*16) = 3662848
  //   WS = 144*32*(8 + 49*40) = 9068544
  const hw::layer_params p = hand_params();
  const hw::stationary_proxies x = hw::proxies(p, hw::make_tiling(p, 1, 7, 1, 8));
  CHECK(x.is == 9088128);
  CHECK(x.os == 3662848);
  CHECK(x.ws == 9068544);
  CHECK(hw::dataflow_traits<hw::proxy_stationary>::choose(x.is, x.os, x.ws) == hw::stationary::output);
}

TEST_CASE("stationary proxies on a 1x1 array pick IS or WS by the precisions") {
  // N = M = 1, K = 1, ic = oc = 1, b = o = 1: is = 1, os = 1, ws = 1
  //   IS = ip + (wp+32), OS = 32 + (ip+wp), WS = wp + (ip+32): all equal -> IS by the tie rule
  hw::layer_params p = toy_params();
  hw::tiling t{};
  hw::stationary_proxies x = hw::proxies(p, t);
  CHECK(x.is == 48);
  CHECK(x.os == 48);
  CHECK(x.ws == 48);
  // ws = 4 (b = 4): IS = 4*(ip + wp + 32) = 192, OS = 4*(32 + ip + wp) = 192,
  //   WS = wp + 4*(ip + 32) = 168: WS wins
  t.b = 4;
  x = hw::proxies(p, t);
  CHECK(x.is == 192);
  CHECK(x.os == 192);
  CHECK(x.ws == 168);
  CHECK(hw::dataflow_traits<hw::proxy_stationary>::choose(x.is, x.os, x.ws) == hw::stationary::weight);
  // M = 4 (is = 4), ws = 1: IS = 8 + 4*40 = 168, OS = 4*(32+16) = 192, WS = 4*(8+40) = 192: IS
  p.M = 4;
  t.b = 1;
  x = hw::proxies(p, t);
  CHECK(x.is == 168);
  CHECK(x.os == 192);
  CHECK(x.ws == 192);
  CHECK(hw::dataflow_traits<hw::proxy_stationary>::choose(x.is, x.os, x.ws) == hw::stationary::input);
}

TEST_CASE("SRAM accesses of the hand case under each scheme") {
  // T = 1, P = 49, R = 9, oc = 8, ip = wp = 8; walk: w 1024, a 648, o 50176 (read 50176)
  const hw::layer_params p = hand_params();
  const hw::tiling t = hw::make_tiling(p, 1, 7, 1, 8);
  const hw::dram_walk w = hw::promotion_walk(p, t, hw::tile_bits(p, t), order("B>OW>OH>IC>OC"));
  // IS: act_rd 9*49*8 = 3528; out += 9*49*8*32 = 112896; wgt_rd 9*49*8*8 = 28224
  CHECK(hw::sram_accesses(p, t, w, hw::stationary::input) ==
        hw::sram_traffic{.wgt_rd = 28224, .wgt_wr = 1024, .act_rd = 3528, .act_wr = 648, .out_rd = 163072, .out_wr = 163072});
  // OS: act_rd 8*49*9*8 = 28224; out += 8*49*32 = 12544; wgt_rd 8*49*9*8 = 28224
  CHECK(hw::sram_accesses(p, t, w, hw::stationary::output) ==
        hw::sram_traffic{.wgt_rd = 28224, .wgt_wr = 1024, .act_rd = 28224, .act_wr = 648, .out_rd = 62720, .out_wr = 62720});
  // WS: act_rd 9*8*49*8 = 28224; out += 9*8*49*32 = 112896; wgt_rd 9*8*8 = 576
  CHECK(hw::sram_accesses(p, t, w, hw::stationary::weight) ==
        hw::sram_traffic{.wgt_rd = 576, .wgt_wr = 1024, .act_rd = 28224, .act_wr = 648, .out_rd = 163072, .out_wr = 163072});
}

TEST_CASE("energy is one left-to-right chain; its parts are reported apart") {
  const hw::layer_params p = hand_params();
  const hw::tiling t = hw::make_tiling(p, 1, 7, 1, 8);
  const hw::candidate_cost c = hw::evaluate(p, t, order("B>OW>OH>IC>OC"));
  CHECK(c.total_cycles == 974);
  const hw::energy_model em = hw::make_energy_model(hw::reference_config());
  const hw::energy_breakdown e = hw::energy_of(c, em);
  // 441*0.235104 + 28224*e_wr + 1024*e_ww + 28224*e_ir + 648*e_iw + 62720*e_or + 62720*e_ow
  //   + 51848*0.015 + 50176*0.015, the value Python's float arithmetic gives in this order:
  CHECK(e.total == 1643.0891170185);
  CHECK(e.core == 441 * 0.235104);
  CHECK(e.dram == 51848 * 0.015 + 50176 * 0.015);
  double sram = 28224 * em.wbuf_rd;
  sram += 1024 * em.wbuf_wr;
  sram += 28224 * em.ibuf_rd;
  sram += 648 * em.ibuf_wr;
  sram += 62720 * em.obuf_rd;
  sram += 62720 * em.obuf_wr;
  CHECK(e.sram == sram);
}

TEST_CASE("strictly better: fewer cycles, or equal cycles and strictly less energy") {
  CHECK(hw::strictly_better(9, 100.0, 10, 1.0));
  CHECK(hw::strictly_better(10, 0.5, 10, 1.0));
  CHECK_FALSE(hw::strictly_better(10, 1.0, 10, 1.0));  // a tie keeps the earlier one
  CHECK_FALSE(hw::strictly_better(11, 0.0, 10, 1.0));
}

TEST_CASE("the exact-range check passes real layers and names a layer too large") {
  hw::layer big{.name = "big", .K = 3, .O = 256, .S = 1, .IC = 1024, .OC = 1024, .B = 16};
  CHECK_NOTHROW(hw::check_exact_range(hw::make_params(hw::reference_config(), big), big.name));
  big.B = 1 << 20;
  big.O = 1 << 12;
  CHECK_THROWS_WITH_AS(hw::check_exact_range(hw::make_params(hw::reference_config(), big), "big"),
                       doctest::Contains("layer 'big': too large"), jaq::hardware_error);
}

TEST_CASE("the intermediate structures print themselves") {
  const hw::layer_params p = hand_params();
  const hw::tiling t = hw::make_tiling(p, 1, 7, 1, 8);
  const hw::tile_footprint f = hw::tile_bits(p, t);
  const hw::dram_walk w = hw::promotion_walk(p, t, f, order("B>OW>OH>IC>OC"));
  std::ostringstream os;
  os << f << w << hw::stall_cycles(p, w, 441) << hw::proxies(p, t) << hw::sram_accesses(p, t, w, hw::stationary::output) << p;
  CHECK(os.str() ==
        "tile_footprint{w=1024, a=648, o=50176 bits}"
        "dram_walk{write w/a/o=1024/648/50176, read o=50176, max write w/a/o=1024/648/50176, max read o=50176}"
        "stall_breakdown{initial=51848, final=50176, latency=533, middle=0, stall=533}"
        "proxies{IS=9088128, OS=3662848, WS=9068544}"
        "sram_traffic{wbuf rd/wr=28224/1024, ibuf rd/wr=28224/648, obuf rd/wr=62720/62720}"
        "layer_params{K=3, O=7, S=1, IC=1, OC=8, B=1, im2col=0, ip=8, wp=8, pf=1, N=16, M=32, "
        "caps w/a/o=262144/131072/65536, if_width=192}");
}
