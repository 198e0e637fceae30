// jaq/batchtile/candidate_batch.hpp: every tiling candidate of one layer as a structure of arrays.
//
// A `candidate_batch` holds the tilings that pass the capacity filter, in the order the driver
// wants to score them, with everything about a tiling that does not depend on the loop order
// precomputed once: tile sizes in bits, counts, compute cycles, the order-independent energy
// terms, the tiling's order key (which loop orders can differ, see detail/order_classes.hpp) and
// a lower bound on its total cycles under any order. The order-dependent part (DRAM promotion
// walk, stalls, the rest of the energy chain) is scored for many (tiling, order) pairs at once by
// score_batch.hpp. Arrays of doubles are padded to a multiple of kernel_pad lanes so that the
// kernel never needs a scalar tail.
//
//   candidate_batch cb;
//   build_candidates<hw::proxy_stationary>(params, em, cb);  // (n) candidates, nest in cb.nest
//   score_order(cb, 0, cb.size(), order, total, energy);
#pragma once

#include <cstdint>
#include <ostream>
#include <utility>
#include <vector>

#include "jaq/batchtile/detail/order_classes.hpp"
#include "jaq/hw/tiling.hpp"

namespace jaq::batchtile {

/// Lanes every double array is padded to (covers AVX-512 batches of 8 doubles).
inline constexpr std::size_t kernel_pad = 8;

/// Values every candidate of a batch shares (from the configuration and the energy model).
struct batch_constants {
  double cap_w = 0, cap_a = 0, cap_o = 0;  // half of each buffer, bits
  double if_width = 1;                     // DRAM bits per cycle
  double e_wbuf_wr = 0;                    // nJ per bit written to WBUF
  double e_ibuf_wr = 0;                    // nJ per bit written to IBUF
  double e_obuf_rd = 0;                    // nJ per bit read from OBUF
  double e_obuf_wr = 0;                    // nJ per bit written to OBUF
  double e_dram_rd = 0;                    // nJ per DRAM bit read
  double e_dram_wr = 0;                    // nJ per DRAM bit written
};

namespace detail {
/// One fitting candidate as the builder first records it (nest order), before the SoA layout.
struct candidate_item {
  hw::tiling t;
  std::int64_t w, a, o;                  // tile sizes, bits
  std::int64_t compute;                  // compute cycles
  std::int64_t wgt_rd, act_rd, out_add;  // the order-independent SRAM terms
  std::int64_t lower;                    // lower bound of total cycles
  std::int32_t nest;
  std::uint8_t key;
};
}  // namespace detail

/// The candidates of one layer on one configuration (SoA). All counts are exact integers; the
/// double arrays hold them exactly (the builder checks every value stays below 2^51, see `exact`).
struct candidate_batch {
  batch_constants k;
  std::vector<hw::tiling> tiles;        // (n) the tilings, for the final result
  std::vector<std::int32_t> nest;       // (n) position in the spec's nest order (b, o, ic, oc)
  std::vector<detail::order_key> key;   // (n) which loop orders can differ
  std::vector<std::int64_t> lower;      // (n) lower bound of total cycles under any order
  std::vector<std::int64_t> compute_i;  // (n) compute cycles, exact
  // Padded double arrays (size padded()):
  std::vector<double> cnt[detail::num_loops];  // counts of B, OW, OH, IC, OC
  std::vector<double> w_tile, a_tile, o_tile;  // tile sizes, bits
  std::vector<double> compute;                 // compute cycles
  std::vector<double> e_prefix;                // compute*core + wgt_rd*e_wbuf_rd (chain's head)
  std::vector<double> e_act_rd;                // act_rd * e_ibuf_rd (a term of the chain)
  std::vector<double> sram_o_add;              // stationary-scheme OBUF reads (= writes) added
  /// False when some value of the walk could pass 2^51: the driver then scores the layer with
  /// the scalar 64-bit reference evaluation instead of the double kernel.
  bool exact = true;
  // Builder scratch, kept to reuse its memory from layer to layer.
  std::vector<detail::candidate_item> items;
  std::vector<std::pair<std::uint64_t, std::uint32_t>> sort_keys;

  std::size_t size() const { return tiles.size(); }
  std::size_t padded() const { return (size() + kernel_pad - 1) / kernel_pad * kernel_pad; }

  void clear() {
    tiles.clear();
    nest.clear();
    key.clear();
    lower.clear();
    compute_i.clear();
    for (auto& c : cnt) c.clear();
    w_tile.clear();
    a_tile.clear();
    o_tile.clear();
    compute.clear();
    e_prefix.clear();
    e_act_rd.clear();
    sram_o_add.clear();
    exact = true;
  }
};

inline std::ostream& operator<<(std::ostream& os, const batch_constants& k) {
  return os << "batch_constants{caps w/a/o=" << k.cap_w << "/" << k.cap_a << "/" << k.cap_o << " bits, if_width=" << k.if_width << "}";
}

/// Prints the batch's size, exactness, constants and its first candidates.
inline std::ostream& operator<<(std::ostream& os, const candidate_batch& cb) {
  os << "candidate_batch{" << cb.size() << " candidates (padded " << cb.padded() << "), "
     << (cb.exact ? "exact" : "inexact: scalar fallback") << ", " << cb.k;
  for (std::size_t i = 0; i < cb.size() && i < 3; ++i)
    os << ", [" << i << "] nest " << cb.nest[i] << " " << cb.tiles[i] << " key " << static_cast<int>(cb.key[i]) << " lower " << cb.lower[i];
  if (cb.size() > 3) os << ", ...";
  return os << "}";
}

}  // namespace jaq::batchtile
