// jaq/hw/mapping.hpp: the result of mapping one layer: the best tiling and loop order with its
// cycles, energies and bit counts, or an error value when no tiling fits the buffers.
//
//   jaq::hw::mapping_result r = jaq::hw::map_layer_reference(cfg, l, em);
//   if (r.ok()) std::cout << r.value();             // every field the map CSV prints
//   else std::cerr << r.error().message();           // "layer 'fc': no tiling fits WBUF ..."
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <utility>
#include <variant>

#include "jaq/core/error.hpp"
#include "jaq/hw/dataflow.hpp"
#include "jaq/hw/loop_order.hpp"
#include "jaq/hw/tiling.hpp"

namespace jaq::hw {

/// The three on-chip buffers.
enum class buffer : std::uint8_t { wbuf = 0, ibuf = 1, obuf = 2 };

inline const char* to_string(buffer b) {
  switch (b) {
    case buffer::wbuf:
      return "WBUF";
    case buffer::ibuf:
      return "IBUF";
    case buffer::obuf:
      return "OBUF";
  }
  return "?";
}
inline std::ostream& operator<<(std::ostream& os, buffer b) { return os << to_string(b); }

/// How a per-bit energy (or area) was read from a technology table.
enum class table_fit : std::uint8_t {
  exact = 0,         // a row of that bank size exists
  interpolated = 1,  // between two rows, log-log
  extrapolated = 2,  // outside the table, log-log from the two nearest rows (flagged, never clamped)
};

inline const char* to_string(table_fit f) {
  switch (f) {
    case table_fit::exact:
      return "exact";
    case table_fit::interpolated:
      return "interpolated";
    case table_fit::extrapolated:
      return "extrapolated";
  }
  return "?";
}
inline std::ostream& operator<<(std::ostream& os, table_fit f) { return os << to_string(f); }

/// The best mapping of one layer and everything the map CSV prints about it.
/// Integer counts are exact; energies are in nJ, summed in the spec's order.
struct layer_mapping {
  std::string name;
  tiling tile;
  loop_order order;
  stationary scheme = stationary::input;
  std::int64_t groups = 1;  // counts below cover all groups (extension; 1 = original model)

  std::int64_t total_cycles = 0;
  std::int64_t compute_cycles = 0;
  std::int64_t stall_cycles = 0;

  double energy_nJ = 0;       // one left-to-right chain, as the spec's formula
  double energy_core_nJ = 0;  // (total - stall) * core
  double energy_sram_nJ = 0;  // the six SRAM terms, left to right
  double energy_dram_nJ = 0;  // dram_rd * e + dram_wr * e

  std::int64_t dram_rd_bits = 0;
  std::int64_t dram_wr_bits = 0;
  std::int64_t wbuf_rd_bits = 0;
  std::int64_t wbuf_wr_bits = 0;
  std::int64_t ibuf_rd_bits = 0;
  std::int64_t ibuf_wr_bits = 0;
  std::int64_t obuf_rd_bits = 0;
  std::int64_t obuf_wr_bits = 0;

  double latency_s = 0;  // total_cycles / frequency_hz (extension)

  // How the SRAM per-bit energies were read from the CACTI table (flags inexact lookups).
  table_fit wbuf_fit = table_fit::exact;
  table_fit ibuf_fit = table_fit::exact;
  table_fit obuf_fit = table_fit::exact;

  bool energies_exact() const { return wbuf_fit == table_fit::exact && ibuf_fit == table_fit::exact && obuf_fit == table_fit::exact; }
  friend bool operator==(const layer_mapping&, const layer_mapping&) = default;
};

/// No tiling of the layer fits: the smallest tile of `which` already needs more than half of it.
struct mapping_error {
  std::string layer;
  buffer which = buffer::wbuf;
  std::int64_t required_bits = 0;  // the smallest candidate's tile in that buffer
  std::int64_t capacity_bits = 0;  // half the buffer
  std::string message() const {
    return "layer '" + layer + "': no tiling fits " + to_string(which) + " (smallest tile needs " + std::to_string(required_bits) +
           " bits, half the buffer holds " + std::to_string(capacity_bits) + ")";
  }
  friend bool operator==(const mapping_error&, const mapping_error&) = default;
};

/// Either a layer_mapping or a mapping_error.
class mapping_result {
 public:
  mapping_result(layer_mapping m) : v_(std::move(m)) {}  // NOLINT: implicit by design
  mapping_result(mapping_error e) : v_(std::move(e)) {}  // NOLINT
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  /// The mapping; throws hardware_error with the error's message if there is none.
  const layer_mapping& value() const {
    if (!ok()) throw hardware_error(std::get<1>(v_).message());
    return std::get<0>(v_);
  }
  const mapping_error& error() const { return std::get<1>(v_); }
  friend bool operator==(const mapping_result&, const mapping_result&) = default;

 private:
  std::variant<layer_mapping, mapping_error> v_;
};

inline std::ostream& operator<<(std::ostream& os, const layer_mapping& m) {
  os << "layer_mapping{" << m.name << ": " << m.tile << ", order=" << m.order << ", scheme=" << m.scheme;
  if (m.groups != 1) os << ", groups=" << m.groups;
  os << ", cycles=" << m.total_cycles << " (compute " << m.compute_cycles << " + stall " << m.stall_cycles << "), energy_nJ=" << m.energy_nJ
     << " (core " << m.energy_core_nJ << ", sram " << m.energy_sram_nJ << ", dram " << m.energy_dram_nJ
     << "), dram rd/wr=" << m.dram_rd_bits << "/" << m.dram_wr_bits << ", wbuf rd/wr=" << m.wbuf_rd_bits << "/" << m.wbuf_wr_bits
     << ", ibuf rd/wr=" << m.ibuf_rd_bits << "/" << m.ibuf_wr_bits << ", obuf rd/wr=" << m.obuf_rd_bits << "/" << m.obuf_wr_bits
     << ", latency_s=" << m.latency_s;
  if (!m.energies_exact()) os << ", sram energies wbuf/ibuf/obuf " << m.wbuf_fit << "/" << m.ibuf_fit << "/" << m.obuf_fit;
  return os << "}";
}
inline std::ostream& operator<<(std::ostream& os, const mapping_error& e) { return os << "mapping_error{" << e.message() << "}"; }
inline std::ostream& operator<<(std::ostream& os, const mapping_result& r) {
  if (r.ok()) return os << r.value();
  return os << r.error();
}

}  // namespace jaq::hw
