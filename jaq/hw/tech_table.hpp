// jaq/hw/tech_table.hpp: the 45 nm technology tables (CACTI SRAM rows, synthesised arrays) and
// lookups into them.
//
// The tables jaq ships are embedded (jaq/hw/detail/tech45_data.hpp, equal to the shared CSVs);
// a user may load their own CSVs with the same header. A bank size with no row is interpolated
// log-log between its two neighbours (table_fit::interpolated) or, outside the table,
// extrapolated log-log from the two nearest rows (table_fit::extrapolated); never clamped.
//
//   const auto& t = jaq::hw::tech_tables::embedded();
//   auto e = t.sram(/*bank_bytes=*/128, /*rw_ports=*/0);   // e.read_nJ == 0.0006837010000000001
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "jaq/core/error.hpp"
#include "jaq/hw/detail/tech45_data.hpp"
#include "jaq/hw/detail/tech_rows.hpp"
#include "jaq/hw/mapping.hpp"
#include "jaq/report/csv.hpp"

namespace jaq::hw {

/// One SRAM bank's figures as read from the CACTI table.
struct sram_figures {
  double read_nJ = 0;      // per access of one block
  double write_nJ = 0;     // per access of one block
  double area_mm2 = 0;     // one bank
  double block_bits = 32;  // bits per access
  table_fit fit = table_fit::exact;
};

inline std::ostream& operator<<(std::ostream& os, const sram_figures& f) {
  return os << "sram_figures{read=" << f.read_nJ << " nJ, write=" << f.write_nJ << " nJ per " << f.block_bits
            << "-bit access, area=" << f.area_mm2 << " mm^2, " << f.fit << "}";
}

namespace detail {

/// Reads a CSV with a header through report::read_csv; returns the rows as doubles in the order
/// of `columns` (other columns are ignored: CACTI's tables carry more than the model reads).
/// Errors name the file, line and column.
inline std::vector<std::vector<double>> read_numeric_csv(const std::string& path, const std::vector<std::string>& columns) {
  const report::csv_table t = report::read_csv(path);
  for (const auto& c : columns) t.column(c);  // a missing column, before any row
  std::vector<std::vector<double>> rows;
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    std::vector<double> row;
    for (const auto& c : columns) {
      const double v = t.get<double>(r, c);
      if (!std::isfinite(v)) throw config_error(t.where(r), c, "expected a finite number, got '" + t.cell(r, c) + "'");
      row.push_back(v);
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

/// log-log interpolation (or extrapolation) of y at x through (x0, y0), (x1, y1).
inline double loglog(double x, double x0, double y0, double x1, double y1) {
  const double t = (std::log(x) - std::log(x0)) / (std::log(x1) - std::log(x0));
  return std::exp(std::log(y0) + t * (std::log(y1) - std::log(y0)));
}

}  // namespace detail

/// The CACTI SRAM table and the systolic-array synthesis table.
class tech_tables {
 public:
  std::vector<cacti_row> sram_rows;
  std::vector<synth_row> array_rows;

  /// The shipped 45 nm tables (equal to shared/data/tech45/*.csv).
  static const tech_tables& embedded() {
    static const tech_tables t{std::vector<cacti_row>(detail::tech45_cacti.begin(), detail::tech45_cacti.end()),
                               std::vector<synth_row>(detail::tech45_synth.begin(), detail::tech45_synth.end())};
    return t;
  }

  /// Loads tables from CSV files with the shared files' headers (any column order).
  /// Throws data_error naming the file, line and field of a bad cell.
  static tech_tables load(const std::string& sram_csv, const std::string& synth_csv) {
    tech_tables t;
    for (const auto& r : detail::read_numeric_csv(sram_csv, {"size_bytes", "block_bytes", "rw_ports", "technology_um", "read_energy_nJ",
                                                             "write_energy_nJ", "area_mm2", "leak_power_mW", "access_time_ns"})) {
      t.sram_rows.push_back(cacti_row{r[0], r[1], static_cast<int>(r[2]), r[3], r[4], r[5], r[6], r[7], r[8]});
    }
    for (const auto& r :
         detail::read_numeric_csv(synth_csv, {"Frequency", "N", "M", "Max Precision (bits)", "Min Precision (bits)", "Area (um^2)",
                                              "Leakage Power (nW)", "Dynamic Power (nW)", "Total Power (nW)"})) {
      t.array_rows.push_back(synth_row{r[0], static_cast<int>(r[1]), static_cast<int>(r[2]), static_cast<int>(r[3]), static_cast<int>(r[4]),
                                       r[5], r[6], r[7], r[8]});
    }
    return t;
  }

  /// Figures of one SRAM bank of `bank_bytes` with `rw_ports` read-write ports. Exact row if
  /// one has that size (the first such row), else log-log between/beyond the nearest rows of
  /// that port count, flagged. Throws hardware_error if fewer than two rows have that port count
  /// and none matches exactly, or if bank_bytes is not positive.
  sram_figures sram(double bank_bytes, int rw_ports) const {
    if (!(bank_bytes > 0)) throw hardware_error("SRAM bank of " + std::to_string(bank_bytes) + " bytes: size must be positive");
    std::vector<const cacti_row*> rows;
    for (const auto& r : sram_rows)
      if (r.rw_ports == rw_ports) rows.push_back(&r);
    std::stable_sort(rows.begin(), rows.end(), [](const cacti_row* a, const cacti_row* b) { return a->size_bytes < b->size_bytes; });
    for (const cacti_row* r : rows)
      if (r->size_bytes == bank_bytes) return {r->read_energy_nJ, r->write_energy_nJ, r->area_mm2, r->block_bytes * 8, table_fit::exact};
    // distinct sizes only, so the two points of a segment never coincide
    rows.erase(std::unique(rows.begin(), rows.end(), [](const cacti_row* a, const cacti_row* b) { return a->size_bytes == b->size_bytes; }),
               rows.end());
    if (rows.size() < 2)
      throw hardware_error("SRAM bank of " + std::to_string(bank_bytes) + " bytes with " + std::to_string(rw_ports) +
                           " read-write ports: no table row and too few rows to interpolate");
    std::size_t hi = 1;  // segment [hi-1, hi]
    while (hi + 1 < rows.size() && rows[hi]->size_bytes < bank_bytes) ++hi;
    const cacti_row& a = *rows[hi - 1];
    const cacti_row& b = *rows[hi];
    const bool inside = bank_bytes > rows.front()->size_bytes && bank_bytes < rows.back()->size_bytes;
    auto f = [&](double ya, double yb) { return detail::loglog(bank_bytes, a.size_bytes, ya, b.size_bytes, yb); };
    return {f(a.read_energy_nJ, b.read_energy_nJ), f(a.write_energy_nJ, b.write_energy_nJ), f(a.area_mm2, b.area_mm2), a.block_bytes * 8,
            inside ? table_fit::interpolated : table_fit::extrapolated};
  }

  /// The synthesis row of an n x m array with the given max/min precision (the first match);
  /// throws hardware_error if there is none.
  const synth_row& array(int n, int m, int pmax, int pmin) const {
    for (const auto& r : array_rows)
      if (r.N == n && r.M == m && r.pmax == pmax && r.pmin == pmin) return r;
    throw hardware_error("systolic-array table: no row for " + std::to_string(n) + "x" + std::to_string(m) + " at max/min precision " +
                         std::to_string(pmax) + "/" + std::to_string(pmin));
  }
};

}  // namespace jaq::hw
