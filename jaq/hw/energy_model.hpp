// jaq/hw/energy_model.hpp: per-bit SRAM energies, core energy per cycle and area of one
// accelerator configuration, from the technology tables.
//
// WBUF has N*M banks, IBUF N banks, OBUF M banks; bank bytes = buffer bytes / banks. WBUF and
// IBUF use 0 read-write-port rows, OBUF 1-port rows; energy per access / 32 bits = per bit.
// Core energy per cycle: the 4x4 (pmax, pmin) row's dynamic power x (N*M)/16 / its frequency.
//
//   auto em = jaq::hw::make_energy_model(jaq::hw::reference_config());
//   // em.core_nJ_per_cycle == 0.235104, em.wbuf_rd == 2.136565625e-05
#pragma once

#include <cstdint>
#include <ostream>

#include "jaq/hw/accel_config.hpp"
#include "jaq/hw/accelerator.hpp"
#include "jaq/hw/mapping.hpp"
#include "jaq/hw/tech_table.hpp"

namespace jaq::hw {

/// Energies one configuration's cost evaluation needs (nJ per bit, nJ per cycle).
struct energy_model {
  double core_nJ_per_cycle = 0;
  double wbuf_rd = 0, wbuf_wr = 0;  // e_wr, e_ww
  double ibuf_rd = 0, ibuf_wr = 0;  // e_ir, e_iw
  double obuf_rd = 0, obuf_wr = 0;  // e_or, e_ow
  double dram_per_bit = 0.015;
  table_fit wbuf_fit = table_fit::exact;
  table_fit ibuf_fit = table_fit::exact;
  table_fit obuf_fit = table_fit::exact;
  friend bool operator==(const energy_model&, const energy_model&) = default;
};

/// Area of one configuration (mm^2).
struct area_report {
  double core_mm2 = 0;
  double wbuf_mm2 = 0, ibuf_mm2 = 0, obuf_mm2 = 0;
  double total_mm2 = 0;  // core + wbuf + ibuf + obuf, in that order
  table_fit wbuf_fit = table_fit::exact;
  table_fit ibuf_fit = table_fit::exact;
  table_fit obuf_fit = table_fit::exact;
};

namespace detail {
struct bank_layout {
  double wbuf_bank_bytes, ibuf_bank_bytes, obuf_bank_bytes;
  std::int64_t wbuf_banks, ibuf_banks, obuf_banks;
};
template <accel_config_like C>
bank_layout banks_of(const C& c) {
  const std::int64_t wb = c.N * c.M, ib = c.N, ob = c.M;
  return {static_cast<double>(c.wbuf_bytes) / static_cast<double>(wb),
          static_cast<double>(c.ibuf_bytes) / static_cast<double>(ib),
          static_cast<double>(c.obuf_bytes) / static_cast<double>(ob),
          wb,
          ib,
          ob};
}
}  // namespace detail

/// Per-bit energies and core energy of configuration `c` on hardware `Acc`.
template <accelerator Acc = bitfusion<>, accel_config_like C>
energy_model make_energy_model(const C& c, const tech_tables& t = tech_tables::embedded()) {
  using tr = traits<Acc>;
  const auto bl = detail::banks_of(c);
  const sram_figures w = t.sram(bl.wbuf_bank_bytes, 0);
  const sram_figures i = t.sram(bl.ibuf_bank_bytes, 0);
  const sram_figures o = t.sram(bl.obuf_bank_bytes, 1);
  const synth_row& row = t.array(tr::synth_n, tr::synth_m, tr::pmax, tr::pmin);
  energy_model em;
  // Left to right, as the spec writes it: 3673500 * (N*M) / 16 / 500e6.
  em.core_nJ_per_cycle = row.dynamic_nW * static_cast<double>(c.N * c.M) / static_cast<double>(row.N * row.M) / row.frequency_hz;
  em.wbuf_rd = w.read_nJ / w.block_bits;
  em.wbuf_wr = w.write_nJ / w.block_bits;
  em.ibuf_rd = i.read_nJ / i.block_bits;
  em.ibuf_wr = i.write_nJ / i.block_bits;
  em.obuf_rd = o.read_nJ / o.block_bits;
  em.obuf_wr = o.write_nJ / o.block_bits;
  em.wbuf_fit = w.fit;
  em.ibuf_fit = i.fit;
  em.obuf_fit = o.fit;
  return em;
}

/// Area: the core scales from the 4x4 row's area by N*M/16; each SRAM is bank area x banks.
template <accelerator Acc = bitfusion<>, accel_config_like C>
area_report area_of(const C& c, const tech_tables& t = tech_tables::embedded()) {
  using tr = traits<Acc>;
  const auto bl = detail::banks_of(c);
  const sram_figures w = t.sram(bl.wbuf_bank_bytes, 0);
  const sram_figures i = t.sram(bl.ibuf_bank_bytes, 0);
  const sram_figures o = t.sram(bl.obuf_bank_bytes, 1);
  const synth_row& row = t.array(tr::synth_n, tr::synth_m, tr::pmax, tr::pmin);
  area_report a;
  a.core_mm2 = row.area_um2 * static_cast<double>(c.N * c.M) / static_cast<double>(row.N * row.M) / 1e6;
  a.wbuf_mm2 = w.area_mm2 * static_cast<double>(bl.wbuf_banks);
  a.ibuf_mm2 = i.area_mm2 * static_cast<double>(bl.ibuf_banks);
  a.obuf_mm2 = o.area_mm2 * static_cast<double>(bl.obuf_banks);
  a.total_mm2 = a.core_mm2 + a.wbuf_mm2 + a.ibuf_mm2 + a.obuf_mm2;
  a.wbuf_fit = w.fit;
  a.ibuf_fit = i.fit;
  a.obuf_fit = o.fit;
  return a;
}

inline std::ostream& operator<<(std::ostream& os, const energy_model& e) {
  return os << "energy_model{core=" << e.core_nJ_per_cycle << " nJ/cycle, wbuf rd/wr=" << e.wbuf_rd << "/" << e.wbuf_wr << " ("
            << e.wbuf_fit << "), ibuf rd/wr=" << e.ibuf_rd << "/" << e.ibuf_wr << " (" << e.ibuf_fit << "), obuf rd/wr=" << e.obuf_rd << "/"
            << e.obuf_wr << " (" << e.obuf_fit << "), dram=" << e.dram_per_bit << " nJ/bit}";
}
inline std::ostream& operator<<(std::ostream& os, const area_report& a) {
  return os << "area{core=" << a.core_mm2 << ", wbuf=" << a.wbuf_mm2 << " (" << a.wbuf_fit << "), ibuf=" << a.ibuf_mm2 << " (" << a.ibuf_fit
            << "), obuf=" << a.obuf_mm2 << " (" << a.obuf_fit << "), total=" << a.total_mm2 << " mm^2}";
}

}  // namespace jaq::hw
