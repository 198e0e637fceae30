// jaq/hw/cost_model.hpp: the BitFusion cost model of one (tiling, loop order) of one layer, as
// specified in shared/specs/bitfusion-cost-model.md, formula by formula.
//
// Every function here is the spec's text in code, on exact 64-bit integers (a layer whose counts
// could leave the int64 range is refused up front by `check_exact_range`). BatchTile and the
// exhaustive reference mapper both build on these, so they agree by construction where they share
// them and are tested against each other where they do not. The per-candidate functions are
// JAQ_HOST_DEVICE: the CUDA BatchTile kernel (kernels/batchtile.cu) scores with these very ones.
//
//   auto p = jaq::hw::make_params<jaq::hw::bitfusion<>>(cfg, l);     // l: groups == 1
//   for (const jaq::hw::tiling& t : jaq::hw::tiling_candidates(p))   // nest order b, o, ic, oc
//     if (jaq::hw::fits(p, jaq::hw::tile_bits(p, t)))
//       auto c = jaq::hw::evaluate<jaq::hw::proxy_stationary>(p, t, order);
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <type_traits>
#include <vector>

#include "jaq/config.hpp"
#include "jaq/core/error.hpp"
#include "jaq/hw/accel_config.hpp"
#include "jaq/hw/accelerator.hpp"
#include "jaq/hw/dataflow.hpp"
#include "jaq/hw/energy_model.hpp"
#include "jaq/hw/layer.hpp"
#include "jaq/hw/loop_order.hpp"
#include "jaq/hw/mapping.hpp"
#include "jaq/hw/tiling.hpp"

namespace jaq::hw {

/// ceil(a / b) for a >= 0, b > 0.
constexpr std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

/// The configuration's sizes as the formulas read them (the array, half of each buffer in bits,
/// the DRAM interface), held as values: a configuration a search varies.
struct runtime_sizes {
  std::int64_t N, M;                 // array
  std::int64_t cap_w, cap_a, cap_o;  // half of each buffer, bits
  std::int64_t if_width;             // bits per cycle
};

/// The same sizes as compile-time constants, from a fixed_accel_config: `p.N`, `p.cap_w`, ... are
/// then constant expressions in every formula below, which the compiler folds (a division by M
/// becomes a shift, the capacity filter compares against immediates). Same values, same results.
template <class C>
struct fixed_sizes {
  static constexpr std::int64_t N = C::N, M = C::M;
  static constexpr std::int64_t cap_w = wbuf_cap_bits(C{}), cap_a = ibuf_cap_bits(C{}), cap_o = obuf_cap_bits(C{});
  static constexpr std::int64_t if_width = C::if_width;
};

/// A configuration whose every size is a compile-time constant (a fixed_accel_config).
template <class C>
concept fixed_config = accel_config_like<C> && std::is_empty_v<C> && requires {
  std::integral_constant<std::int64_t, C::N>{};
  std::integral_constant<std::int64_t, C::M>{};
  std::integral_constant<std::int64_t, C::wbuf_bytes>{};
  std::integral_constant<std::int64_t, C::ibuf_bytes>{};
  std::integral_constant<std::int64_t, C::obuf_bytes>{};
  std::integral_constant<std::int64_t, C::if_width>{};
};

/// The sizes type a configuration gives: constants for a fixed one, values otherwise.
template <accel_config_like C>
using sizes_of = std::conditional_t<fixed_config<C>, fixed_sizes<C>, runtime_sizes>;

/// Everything the formulas need about one (hardware, configuration, layer) triple; `layer`
/// here is one group's conv (groups == 1), see `group_layer`. The configuration's sizes come
/// from `Sizes` (runtime_sizes or fixed_sizes<C>); every formula is written once, for both.
template <class Sizes>
struct basic_layer_params : Sizes {
  std::int64_t K, O, S, IC, OC, B;
  bool im2col;
  std::int64_t ip, wp;  // bits
  std::int64_t pf;      // fusion factor
  std::int64_t npf;     // N * pf
};

/// The parameters of a run-time configuration (what a search builds).
using layer_params = basic_layer_params<runtime_sizes>;

/// The conv one group computes: IC/groups -> OC/groups, groups = 1 (identity for groups == 1).
inline layer group_layer(const layer& l) {
  layer g = l;
  g.IC = l.IC / l.groups;
  g.OC = l.OC / l.groups;
  g.groups = 1;
  return g;
}

/// The formulas' inputs for layer `l` (one group) on configuration `c` of hardware `Acc`: a
/// `layer_params` for a run-time configuration, the sizes as constants for a fixed one.
template <accelerator Acc = bitfusion<>, accel_config_like C>
basic_layer_params<sizes_of<C>> make_params(const C& c, const layer& l) {
  JAQ_ASSERT(l.groups == 1);
  const std::int64_t pf = traits<Acc>::fusion(l.iprec, l.wprec);
  if (pf < 1)  // a precision wider than the array's bricks can fuse (e.g. 8 bits on pmax 4)
    throw config_error("layer " + l.name, "iprec/wprec",
                       std::to_string(l.iprec) + "/" + std::to_string(l.wprec) + " exceeds the array's maximum precision " +
                           std::to_string(traits<Acc>::pmax));
  basic_layer_params<sizes_of<C>> p{};
  if constexpr (!fixed_config<C>) {
    p.N = c.N;
    p.M = c.M;
    p.cap_w = wbuf_cap_bits(c);
    p.cap_a = ibuf_cap_bits(c);
    p.cap_o = obuf_cap_bits(c);
    p.if_width = c.if_width;
  }
  p.K = l.K;
  p.O = l.O;
  p.S = l.S;
  p.IC = l.IC;
  p.OC = l.OC;
  p.B = l.B;
  p.im2col = l.im2col;
  p.ip = l.iprec;
  p.wp = l.wprec;
  p.pf = pf;
  p.npf = p.N * pf;
  return p;
}

// ---- tiling candidates -------------------------------------------------------------------

/// Candidate tile size i of a loop of size `full` stepping from `step`: min(2^i * step, full).
JAQ_HOST_DEVICE constexpr std::int64_t tile_size(std::int64_t full, std::int64_t step, int i) {
  const std::int64_t t = step << i;
  return t < full ? t : full;
}

/// Tile sizes tile_size(full, step, i) for i = 0, 1, ... until the cap is reached.
inline std::vector<std::int64_t> tile_sizes(std::int64_t full, std::int64_t step) {
  std::vector<std::int64_t> out;
  for (int i = 0;; ++i) {
    out.push_back(tile_size(full, step, i));
    if ((step << i) >= full) break;
  }
  return out;
}

/// Candidate tile sizes of each loop.
struct candidate_axes {
  std::vector<std::int64_t> b, o, ic, oc;
};
template <class Sz>
candidate_axes candidate_tiles(const basic_layer_params<Sz>& p) {
  return {tile_sizes(p.B, 1), tile_sizes(p.O, 1), tile_sizes(p.IC, 1), tile_sizes(p.OC, p.im2col ? 1 : p.M)};
}

/// A tiling from its four tile sizes (ow = oh = o), counts ceil(full / tile).
template <class Sz>
JAQ_HOST_DEVICE tiling make_tiling(const basic_layer_params<Sz>& p, std::int64_t b, std::int64_t o, std::int64_t ic, std::int64_t oc) {
  return {.b = b,
          .num_b = ceil_div(p.B, b),
          .ow = o,
          .num_ow = ceil_div(p.O, o),
          .oh = o,
          .num_oh = ceil_div(p.O, o),
          .ic = ic,
          .num_ic = ceil_div(p.IC, ic),
          .oc = oc,
          .num_oc = ceil_div(p.OC, oc)};
}

/// The first candidate in nest order, the smallest tile of every loop:
/// tiling_candidates(p).front() without listing the others.
template <class Sz>
JAQ_HOST_DEVICE tiling first_tiling(const basic_layer_params<Sz>& p) {
  return make_tiling(p, tile_size(p.B, 1, 0), tile_size(p.O, 1, 0), tile_size(p.IC, 1, 0), tile_size(p.OC, p.im2col ? 1 : p.M, 0));
}

/// Every candidate tiling in nest order: b, then o, then ic, then oc (innermost).
template <class Sz>
std::vector<tiling> tiling_candidates(const basic_layer_params<Sz>& p) {
  const candidate_axes ax = candidate_tiles(p);
  std::vector<tiling> out;
  out.reserve(ax.b.size() * ax.o.size() * ax.ic.size() * ax.oc.size());
  for (std::int64_t b : ax.b)
    for (std::int64_t o : ax.o)
      for (std::int64_t ic : ax.ic)
        for (std::int64_t oc : ax.oc) out.push_back(make_tiling(p, b, o, ic, oc));
  return out;
}

// ---- capacity filter ------------------------------------------------------------------------

/// The three tile sizes in bits, padding included (the capacity filter's and the walk's start).
struct tile_footprint {
  std::int64_t w, a, o;
  friend bool operator==(const tile_footprint&, const tile_footprint&) = default;
};

template <class Sz>
JAQ_HOST_DEVICE tile_footprint tile_bits(const basic_layer_params<Sz>& p, const tiling& t) {
  const std::int64_t w = ceil_div(p.K * p.K * t.ic, p.npf) * p.npf * t.oc * p.wp;
  const std::int64_t a =
      p.im2col ? t.ow * t.oh * p.K * p.K * t.ic * t.b * p.ip : (p.K + (t.ow - 1) * p.S) * (p.K + (t.oh - 1) * p.S) * t.ic * t.b * p.ip;
  const std::int64_t o = t.ow * t.oh * ceil_div(t.oc, p.M) * p.M * t.b * 32;
  return {w, a, o};
}

/// A tiling is dropped if any tile is strictly greater than half its buffer.
template <class Sz>
JAQ_HOST_DEVICE bool fits(const basic_layer_params<Sz>& p, const tile_footprint& f) {
  return f.w <= p.cap_w && f.a <= p.cap_a && f.o <= p.cap_o;
}

// ---- compute cycles ----------------------------------------------------------------------

template <class Sz>
JAQ_HOST_DEVICE std::int64_t compute_cycles_per_tile(const basic_layer_params<Sz>& p, const tiling& t) {
  if (p.im2col) return t.b * t.oh * t.ow * ceil_div(t.oc, p.M) * ceil_div(p.K * p.K * t.ic, p.npf);
  return t.b * ceil_div(t.oc, p.M) * t.ow * t.oh * p.K * p.K * ceil_div(t.ic, p.npf);
}
template <class Sz>
JAQ_HOST_DEVICE std::int64_t compute_cycles(const basic_layer_params<Sz>& p, const tiling& t) {
  return compute_cycles_per_tile(p, t) * t.tiles();
}

// ---- DRAM promotion walk -----------------------------------------------------------------

/// The walk's final and largest-on-chip sizes (bits) for one loop order.
struct dram_walk {
  std::int64_t write_w, write_a, write_o;  // final write[wgt], write[act], write[out]
  std::int64_t read_o;                     // final read[out]
  std::int64_t max_write_w, max_write_a, max_write_o, max_read_o;
  JAQ_HOST_DEVICE std::int64_t dram_rd() const { return write_w + write_a + write_o; }
  JAQ_HOST_DEVICE std::int64_t dram_wr() const { return read_o; }
  friend bool operator==(const dram_walk&, const dram_walk&) = default;
};

/// The count of loop `l` in tiling `t`.
constexpr std::int64_t loop_count(const tiling& t, loop l) {
  switch (l) {
    case loop::B:
      return t.num_b;
    case loop::OW:
      return t.num_ow;
    case loop::OH:
      return t.num_oh;
    case loop::IC:
      return t.num_ic;
    case loop::OC:
      return t.num_oc;
  }
  return 1;
}

/// The promotion walk, innermost loop first, exactly as the spec words it.
template <class Sz>
JAQ_HOST_DEVICE dram_walk promotion_walk(const basic_layer_params<Sz>& p, const tiling& t, const tile_footprint& f,
                                         const loop_order& order) {
  // buffers: 0 wgt, 1 act, 2 out
  std::int64_t write[3] = {f.w, f.a, f.o};
  std::int64_t read_out = f.o;
  bool promoted[3] = {true, true, true};
  std::int64_t max_write[3] = {f.w, f.a, f.o};
  std::int64_t max_read_out = f.o;
  const std::int64_t cap[3] = {p.cap_w, p.cap_a, p.cap_o};
  for (int pos = num_loops - 1; pos >= 0; --pos) {
    const loop l = order[pos];
    const std::int64_t n = loop_count(t, l);
    const bool touch[3] = {touches_weights(l), touches_activations(l), touches_outputs(l)};
    for (int x = 0; x < 3; ++x) {
      if (promoted[x] && !touch[x]) continue;
      write[x] *= n;
      if (x == 2) read_out *= n;
      if (promoted[x]) {
        if (write[x] <= cap[x]) {
          max_write[x] = write[x];
          if (x == 2) max_read_out = read_out;
        } else {
          promoted[x] = false;
        }
      }
    }
  }
  return {write[0], write[1], write[2], read_out, max_write[0], max_write[1], max_write[2], max_read_out};
}

// ---- stalls --------------------------------------------------------------------------------

struct stall_breakdown {
  std::int64_t initial, final_, latency, middle, stall;
};

template <class Sz>
JAQ_HOST_DEVICE stall_breakdown stall_cycles(const basic_layer_params<Sz>& p, const dram_walk& w, std::int64_t compute) {
  stall_breakdown s{};
  s.initial = w.max_write_w + w.max_write_a + w.max_write_o;
  s.final_ = w.max_read_o;
  s.latency = ceil_div(s.initial, p.if_width) + ceil_div(s.final_, p.if_width);
  s.middle = w.dram_rd() + w.dram_wr() - s.initial - s.final_;
  const std::int64_t overlap = ceil_div(s.middle, p.if_width) - compute;
  s.stall = (overlap > 0 ? overlap : 0) + s.latency;
  return s;
}

// ---- stationary scheme and SRAM accesses ---------------------------------------------------

/// The three proxies of the spec (IS, OS, WS), smaller is better.
struct stationary_proxies {
  std::int64_t is, os, ws;
};

template <class Sz>
JAQ_HOST_DEVICE stationary_proxies proxies(const basic_layer_params<Sz>& p, const tiling& t) {
  const std::int64_t is_loop = ceil_div(t.oc, p.M) * p.M;
  const std::int64_t os_loop = p.im2col ? ceil_div(p.K * p.K * t.ic, p.npf) * p.npf : ceil_div(t.ic, p.npf) * p.npf * p.K * p.K;
  const std::int64_t ws_loop = t.b * t.oh * t.ow;
  return {os_loop * ws_loop * (p.ip + is_loop * (p.wp + 32)), is_loop * ws_loop * (32 + os_loop * (p.ip + p.wp)),
          os_loop * is_loop * (p.wp + ws_loop * (p.ip + 32))};
}

/// Read/write bits of each SRAM.
struct sram_traffic {
  std::int64_t wgt_rd, wgt_wr, act_rd, act_wr, out_rd, out_wr;
  friend bool operator==(const sram_traffic&, const sram_traffic&) = default;
};

template <class Sz>
JAQ_HOST_DEVICE sram_traffic sram_accesses(const basic_layer_params<Sz>& p, const tiling& t, const dram_walk& w, stationary scheme) {
  const std::int64_t T = t.tiles();
  const std::int64_t P = t.oh * t.ow * t.b;
  const std::int64_t R = p.K * p.K * t.ic;
  const std::int64_t oc = t.oc;
  sram_traffic s{.wgt_rd = 0, .wgt_wr = w.write_w, .act_rd = 0, .act_wr = w.write_a, .out_rd = w.read_o, .out_wr = w.write_o};
  switch (scheme) {
    case stationary::input:
      s.act_rd += T * R * P * p.ip;
      s.out_rd += T * R * P * oc * 32;
      s.out_wr += T * R * P * oc * 32;
      s.wgt_rd += T * R * P * oc * p.wp;
      break;
    case stationary::output:
      s.act_rd += T * oc * P * R * p.ip;
      s.out_rd += T * oc * P * 32;
      s.out_wr += T * oc * P * 32;
      s.wgt_rd += T * oc * P * R * p.wp;
      break;
    case stationary::weight:
      s.act_rd += T * R * oc * P * p.ip;
      s.out_rd += T * R * oc * P * 32;
      s.out_wr += T * R * oc * P * 32;
      s.wgt_rd += T * R * oc * p.wp;
      break;
  }
  return s;
}

// ---- one candidate's cost ------------------------------------------------------------------

/// Integer cost of one (tiling, order): cycles, the stationary scheme, DRAM and SRAM bits.
struct candidate_cost {
  std::int64_t compute_cycles = 0, stall_cycles = 0, total_cycles = 0;
  stationary scheme = stationary::input;
  std::int64_t dram_rd = 0, dram_wr = 0;
  sram_traffic sram{};
  friend bool operator==(const candidate_cost&, const candidate_cost&) = default;
};

/// Scores one fitting tiling under one loop order (the capacity filter is the caller's).
template <dataflow Df = proxy_stationary, class Sz>
JAQ_HOST_DEVICE candidate_cost evaluate(const basic_layer_params<Sz>& p, const tiling& t, const loop_order& order) {
  const tile_footprint f = tile_bits(p, t);
  const std::int64_t compute = compute_cycles(p, t);
  const dram_walk w = promotion_walk(p, t, f, order);
  const stall_breakdown st = stall_cycles(p, w, compute);
  const stationary_proxies px = proxies(p, t);
  const stationary scheme = dataflow_traits<Df>::choose(px.is, px.os, px.ws);
  candidate_cost c;
  c.compute_cycles = compute;
  c.stall_cycles = st.stall;
  c.total_cycles = compute + st.stall;
  c.scheme = scheme;
  c.dram_rd = w.dram_rd();
  c.dram_wr = w.dram_wr();
  c.sram = sram_accesses(p, t, w, scheme);
  return c;
}

/// Energies (nJ) of a candidate: the total in one left-to-right chain, and its three parts.
struct energy_breakdown {
  double total = 0, core = 0, sram = 0, dram = 0;
  friend bool operator==(const energy_breakdown&, const energy_breakdown&) = default;
};

/// The spec's energy formula, summed in its order, one product per statement and no fused
/// multiply-add, so that every caller gets the same double.
JAQ_NO_FP_CONTRACT JAQ_HOST_DEVICE inline energy_breakdown energy_of(const candidate_cost& c, const energy_model& em) {
  const double t_core = static_cast<double>(c.total_cycles - c.stall_cycles) * em.core_nJ_per_cycle;
  const double t_wr = static_cast<double>(c.sram.wgt_rd) * em.wbuf_rd;
  const double t_ww = static_cast<double>(c.sram.wgt_wr) * em.wbuf_wr;
  const double t_ir = static_cast<double>(c.sram.act_rd) * em.ibuf_rd;
  const double t_iw = static_cast<double>(c.sram.act_wr) * em.ibuf_wr;
  const double t_or = static_cast<double>(c.sram.out_rd) * em.obuf_rd;
  const double t_ow = static_cast<double>(c.sram.out_wr) * em.obuf_wr;
  const double t_dr = static_cast<double>(c.dram_rd) * em.dram_per_bit;
  const double t_dw = static_cast<double>(c.dram_wr) * em.dram_per_bit;
  energy_breakdown e;
  double total = t_core;
  total += t_wr;
  total += t_ww;
  total += t_ir;
  total += t_iw;
  total += t_or;
  total += t_ow;
  total += t_dr;
  total += t_dw;
  e.total = total;
  e.core = t_core;
  double sram = t_wr;
  sram += t_ww;
  sram += t_ir;
  sram += t_iw;
  sram += t_or;
  sram += t_ow;
  e.sram = sram;
  double dram = t_dr;
  dram += t_dw;
  e.dram = dram;
  return e;
}

/// The spec's "strictly better": fewer total cycles, or equal cycles and strictly lower energy.
inline bool strictly_better(std::int64_t cycles, double energy, std::int64_t best_cycles, double best_energy) {
  return cycles < best_cycles || (cycles == best_cycles && energy < best_energy);
}

// ---- exact range -------------------------------------------------------------------------

/// Throws hardware_error naming the layer unless every count the model forms, for every
/// candidate tiling of `p` (fitting or not) and every loop order, provably stays far inside
/// int64. Each walk size is bounded by its tile x T (every loop multiplies it at most once),
/// each other count by a product of padded sizes. The bounds are formed in double, which cannot
/// overflow; rounding (< 1e-14 relative here) is covered by checking against 2^60, not 2^63.
template <class Sz>
void check_exact_range(const basic_layer_params<Sz>& p, const std::string& layer_name) {
  const double limit = 1152921504606846976.0;  // 2^60
  auto chk = [&](double v) {
    if (!(v < limit))
      throw hardware_error("layer '" + layer_name + "': too large for the model's exact 64-bit counts (a bound reaches " +
                           std::to_string(v) + " bits or cycles)");
  };
  auto d = [](std::int64_t v) { return static_cast<double>(v); };
  const candidate_axes ax = candidate_tiles(p);
  const double K2 = d(p.K) * d(p.K);
  const double npf = d(p.npf);
  for (std::int64_t b : ax.b)
    for (std::int64_t o : ax.o)
      for (std::int64_t ic : ax.ic)
        for (std::int64_t oc : ax.oc) {
          const double T = d(ceil_div(p.B, b)) * d(ceil_div(p.O, o)) * d(ceil_div(p.O, o)) * d(ceil_div(p.IC, ic)) * d(ceil_div(p.OC, oc));
          const double R = K2 * d(ic);
          const double P = d(o) * d(o) * d(b);
          const double ocp = d(oc) + d(p.M);  // >= ceil(oc/M)*M
          const double w = (R + npf) * d(oc) * 8;
          const double side = d(p.K) + d(o) * d(p.S);
          const double a = (p.im2col ? P * R : side * side * d(ic) * d(b)) * 8;
          const double out = P * ocp * 32;
          chk(w + a + out);                                // capacity filter
          chk((w + a + 2 * out) * T + 2 * d(p.if_width));  // walk, DRAM, stall terms
          chk(T * R * P * d(oc) * 32 + out * T);           // SRAM counts, all schemes
          chk(T * P * ocp * (R + npf));                    // compute cycles
          const double os_loop = (R + npf) * K2;           // proxies
          chk(os_loop * P * (8 + ocp * 40) + ocp * P * (32 + os_loop * 16) + os_loop * ocp * (8 + P * 40));
        }
}

inline std::ostream& operator<<(std::ostream& os, const tile_footprint& f) {
  return os << "tile_footprint{w=" << f.w << ", a=" << f.a << ", o=" << f.o << " bits}";
}
inline std::ostream& operator<<(std::ostream& os, const dram_walk& w) {
  return os << "dram_walk{write w/a/o=" << w.write_w << "/" << w.write_a << "/" << w.write_o << ", read o=" << w.read_o
            << ", max write w/a/o=" << w.max_write_w << "/" << w.max_write_a << "/" << w.max_write_o << ", max read o=" << w.max_read_o
            << "}";
}
inline std::ostream& operator<<(std::ostream& os, const stall_breakdown& s) {
  return os << "stall_breakdown{initial=" << s.initial << ", final=" << s.final_ << ", latency=" << s.latency << ", middle=" << s.middle
            << ", stall=" << s.stall << "}";
}
inline std::ostream& operator<<(std::ostream& os, const stationary_proxies& p) {
  return os << "proxies{IS=" << p.is << ", OS=" << p.os << ", WS=" << p.ws << "}";
}
inline std::ostream& operator<<(std::ostream& os, const sram_traffic& s) {
  return os << "sram_traffic{wbuf rd/wr=" << s.wgt_rd << "/" << s.wgt_wr << ", ibuf rd/wr=" << s.act_rd << "/" << s.act_wr
            << ", obuf rd/wr=" << s.out_rd << "/" << s.out_wr << "}";
}
inline std::ostream& operator<<(std::ostream& os, const energy_breakdown& e) {
  return os << "energy{total=" << e.total << ", core=" << e.core << ", sram=" << e.sram << ", dram=" << e.dram << " nJ}";
}
inline std::ostream& operator<<(std::ostream& os, const candidate_cost& c) {
  return os << "candidate_cost{cycles=" << c.total_cycles << " (compute " << c.compute_cycles << " + stall " << c.stall_cycles
            << "), scheme=" << c.scheme << ", dram rd/wr=" << c.dram_rd << "/" << c.dram_wr << ", wbuf rd/wr=" << c.sram.wgt_rd << "/"
            << c.sram.wgt_wr << ", ibuf rd/wr=" << c.sram.act_rd << "/" << c.sram.act_wr << ", obuf rd/wr=" << c.sram.out_rd << "/"
            << c.sram.out_wr << "}";
}
template <class Sz>
std::ostream& operator<<(std::ostream& os, const basic_layer_params<Sz>& p) {
  return os << "layer_params{K=" << p.K << ", O=" << p.O << ", S=" << p.S << ", IC=" << p.IC << ", OC=" << p.OC << ", B=" << p.B
            << ", im2col=" << p.im2col << ", ip=" << p.ip << ", wp=" << p.wp << ", pf=" << p.pf << ", N=" << p.N << ", M=" << p.M
            << ", caps w/a/o=" << p.cap_w << "/" << p.cap_a << "/" << p.cap_o << ", if_width=" << p.if_width << "}";
}

}  // namespace jaq::hw
