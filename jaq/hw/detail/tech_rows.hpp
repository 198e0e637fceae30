// jaq/hw/detail/tech_rows.hpp: one row of each technology table (see jaq/hw/tech_table.hpp).
#pragma once

namespace jaq::hw {

/// One CACTI SRAM row: energies per access of one `block_bytes` block.
struct cacti_row {
  double size_bytes;
  double block_bytes;
  int rw_ports;
  double technology_um;
  double read_energy_nJ;
  double write_energy_nJ;
  double area_mm2;
  double leak_power_mW;
  double access_time_ns;
};

/// One synthesised systolic-array row (N x M fusion units at a max/min precision); the
/// CSV's Module column (always "systolic_array") is not kept.
struct synth_row {
  double frequency_hz;
  int N;
  int M;
  int pmax;
  int pmin;
  double area_um2;
  double leakage_nW;
  double dynamic_nW;
  double total_nW;
};

}  // namespace jaq::hw
