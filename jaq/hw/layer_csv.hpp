// jaq/hw/layer_csv.hpp: layer lists from CSV, mapping results to CSV (the map tool's formats).
//
// Input: a header row naming the columns in any order, `name,K,O,S,IC,OC,B,im2col,iprec,wprec`
// and optionally `groups`; one layer per row. Read through jaq/report/csv.hpp, the one CSV reader
// (quoting, comments, CRLF): a structural problem is a data_error naming the file and line, a
// bad cell or column a config_error naming file:line and the column. Output: one row per layer with the columns of `mapping_csv_header()`; energies
// with 17 significant digits (round-trip exact).
//
//   std::vector<jaq::hw::layer> ls = jaq::hw::read_layers_csv("layers.csv");
//   jaq::hw::write_mapping_csv(std::cout, results);
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <istream>
#include <iterator>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "jaq/core/error.hpp"
#include "jaq/hw/layer.hpp"
#include "jaq/hw/mapping.hpp"
#include "jaq/report/csv.hpp"

namespace jaq::hw {

/// The columns of a layer CSV: all required but `groups` (default 1).
inline const std::vector<std::string>& layer_csv_columns() {
  static const std::vector<std::string> cols = {"name", "K", "O", "S", "IC", "OC", "B", "im2col", "iprec", "wprec", "groups"};
  return cols;
}

/// Reads layers from CSV text through report::parse_csv (RFC 4180 quoting, '#' comments, blank
/// lines, CRLF, a UTF-8 byte-order mark); `file` names the source in error messages, which give
/// the line and the column.
inline std::vector<layer> parse_layers_csv(std::string_view text, const std::string& file) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // a UTF-8 byte-order mark
  const report::csv_table t = report::parse_csv(text, file);
  const auto& cols = layer_csv_columns();
  for (const std::string& h : t.header)
    if (std::find(cols.begin(), cols.end(), h) == cols.end())  // a misspelt `group` would otherwise be ignored: wrong answers
      throw config_error(t.header_where(), h,
                         "unknown column (the columns are name,K,O,S,IC,OC,B,im2col,iprec,wprec and optionally groups)");
  for (const std::string& c : cols)
    if (c != "groups" && !t.has_column(c)) throw config_error(t.header_where(), c, "required column missing from the header");
  const bool has_groups = t.has_column("groups");
  std::vector<layer> out;
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    const std::string where = t.where(r);
    auto cell = [&](const char* field) -> const std::string& {
      const std::string& s = t.cell(r, field);
      if (s.empty()) throw config_error(where, field, "missing value");
      return s;
    };
    auto integer = [&](const char* field) {
      cell(field);
      return t.get<std::int64_t>(r, field);
    };
    auto positive = [&](const char* field) {
      const std::int64_t v = integer(field);
      if (v <= 0) throw config_error(where, field, "must be positive, got " + std::to_string(v));
      if (v > max_layer_dim)
        throw config_error(where, field, "too large (" + std::to_string(v) + " > " + std::to_string(max_layer_dim) + ")");
      return v;
    };
    auto prec = [&](const char* field) {
      const std::int64_t v = integer(field);
      if (!valid_bits(v)) throw config_error(where, field, "precision must be in 1..8, got " + std::to_string(v));
      return static_cast<int>(v);
    };
    layer l;
    l.name = cell("name");
    l.K = positive("K");
    l.O = positive("O");
    l.S = positive("S");
    l.IC = positive("IC");
    l.OC = positive("OC");
    l.B = positive("B");
    const std::int64_t im = integer("im2col");
    if (im != 0 && im != 1) throw config_error(where, "im2col", "must be 0 or 1, got " + std::to_string(im));
    l.im2col = im == 1;
    l.iprec = prec("iprec");
    l.wprec = prec("wprec");
    if (has_groups && !t.cell(r, "groups").empty()) l.groups = positive("groups");
    if (l.IC % l.groups != 0 || l.OC % l.groups != 0)
      throw config_error(where, "groups",
                         std::to_string(l.groups) + " does not divide IC=" + std::to_string(l.IC) + " and OC=" + std::to_string(l.OC));
    out.push_back(std::move(l));
  }
  return out;
}

/// Reads layers from a stream of CSV text (see parse_layers_csv).
inline std::vector<layer> read_layers_csv(std::istream& in, const std::string& file) {
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw data_error(file, "read error");
  return parse_layers_csv(text, file);
}

/// Reads layers from a CSV file.
inline std::vector<layer> read_layers_csv(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw config_error(path, "file", "is a folder, not a layer CSV file");
  if (!std::filesystem::exists(path, ec)) throw config_error(path, "file", "not found");
  return parse_layers_csv(read_file(path), path);
}

/// The output columns, in order.
inline const std::vector<std::string>& mapping_csv_columns() {
  static const std::vector<std::string> cols = {"name",           "b",
                                                "num_b",          "ow",
                                                "num_ow",         "oh",
                                                "num_oh",         "ic",
                                                "num_ic",         "oc",
                                                "num_oc",         "order",
                                                "total_cycles",   "compute_cycles",
                                                "stall_cycles",   "energy_nJ",
                                                "energy_core_nJ", "energy_sram_nJ",
                                                "energy_dram_nJ", "dram_rd_bits",
                                                "dram_wr_bits",   "wbuf_rd_bits",
                                                "wbuf_wr_bits",   "ibuf_rd_bits",
                                                "ibuf_wr_bits",   "obuf_rd_bits",
                                                "obuf_wr_bits",   "note"};
  return cols;
}

/// A double with 17 significant digits (reads back to the same double).
inline std::string format_energy(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

/// The layers as read_layers_csv reads them: name,K,O,S,IC,OC,B,im2col,iprec,wprec,groups. A name
/// is quoted where CSV needs it (a comma, a quote, a line break), so any name reads back.
inline void write_layers_csv(std::ostream& os, const std::vector<layer>& layers) {
  os << "name,K,O,S,IC,OC,B,im2col,iprec,wprec,groups\n";
  for (const layer& l : layers)
    os << report::csv_quote(l.name) << ',' << l.K << ',' << l.O << ',' << l.S << ',' << l.IC << ',' << l.OC << ',' << l.B << ','
       << (l.im2col ? 1 : 0) << ',' << l.iprec << ',' << l.wprec << ',' << l.groups << '\n';
}

/// One output row (no newline). The last column, `note`, is "ok", or says which SRAM energies
/// were interpolated/extrapolated from the CACTI table, or holds the no-fit error (then every
/// numeric field is empty).
inline std::string mapping_csv_row(const mapping_result& r, const std::string& name) {
  std::ostringstream os;
  const auto quoted = report::csv_quote;
  os << quoted(name);
  if (!r.ok()) {
    for (std::size_t i = 1; i + 1 < mapping_csv_columns().size(); ++i) os << ',';
    os << ',' << quoted(r.error().message());
    return os.str();
  }
  const layer_mapping& m = r.value();
  const tiling& t = m.tile;
  os << ',' << t.b << ',' << t.num_b << ',' << t.ow << ',' << t.num_ow << ',' << t.oh << ',' << t.num_oh << ',' << t.ic << ',' << t.num_ic
     << ',' << t.oc << ',' << t.num_oc << ',' << m.order.to_string() << ',' << m.total_cycles << ',' << m.compute_cycles << ','
     << m.stall_cycles << ',' << format_energy(m.energy_nJ) << ',' << format_energy(m.energy_core_nJ) << ','
     << format_energy(m.energy_sram_nJ) << ',' << format_energy(m.energy_dram_nJ) << ',' << m.dram_rd_bits << ',' << m.dram_wr_bits << ','
     << m.wbuf_rd_bits << ',' << m.wbuf_wr_bits << ',' << m.ibuf_rd_bits << ',' << m.ibuf_wr_bits << ',' << m.obuf_rd_bits << ','
     << m.obuf_wr_bits << ',';
  if (m.energies_exact()) {
    os << "ok";
  } else {
    os << "sram energies wbuf " << to_string(m.wbuf_fit) << " ibuf " << to_string(m.ibuf_fit) << " obuf " << to_string(m.obuf_fit);
  }
  return os.str();
}

/// Header line plus one row per result (`names[i]` names results[i]).
inline void write_mapping_csv(std::ostream& os, const std::vector<mapping_result>& results, const std::vector<std::string>& names) {
  const auto& cols = mapping_csv_columns();
  for (std::size_t i = 0; i < cols.size(); ++i) os << (i ? "," : "") << cols[i];
  os << '\n';
  for (std::size_t i = 0; i < results.size(); ++i) os << mapping_csv_row(results[i], names[i]) << '\n';
}

}  // namespace jaq::hw
