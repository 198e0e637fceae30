// jaq/hw/layer_csv.hpp: layer lists from CSV, mapping results to CSV (the map tool's formats).
//
// Input: a header row naming the columns in any order, `name,K,O,S,IC,OC,B,im2col,iprec,wprec`
// and optionally `groups`; one layer per row. Any bad cell is a config_error naming the file,
// line and field. Output: one row per layer with the columns of `mapping_csv_header()`; energies
// with 17 significant digits (round-trip exact).
//
//   std::vector<jaq::hw::layer> ls = jaq::hw::read_layers_csv("layers.csv");
//   jaq::hw::write_mapping_csv(std::cout, results);
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <istream>
#include <map>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "jaq/core/error.hpp"
#include "jaq/hw/layer.hpp"
#include "jaq/hw/mapping.hpp"

namespace jaq::hw {

namespace detail {
inline std::string trim(const std::string& s) {
  std::size_t a = 0, b = s.size();
  while (a < b && (s[a] == ' ' || s[a] == '\t' || s[a] == '\r' || s[a] == '\n')) ++a;
  while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t' || s[b - 1] == '\r' || s[b - 1] == '\n'))
    --b;
  return s.substr(a, b - a);
}
inline std::vector<std::string> split_cells(const std::string& line) {
  std::vector<std::string> out;
  std::string cell;
  for (char ch : line) {
    if (ch == ',') {
      out.push_back(trim(cell));
      cell.clear();
    } else {
      cell += ch;
    }
  }
  out.push_back(trim(cell));
  return out;
}
}  // namespace detail

/// Reads layers from CSV text; `file` names the source in error messages.
inline std::vector<layer> read_layers_csv(std::istream& in, const std::string& file) {
  static const char* required[] = {"name", "K", "O", "S", "IC", "OC", "B", "im2col", "iprec",
                                   "wprec"};
  std::map<std::string, int> col;
  std::vector<layer> out;
  std::string line;
  int lineno = 0;
  bool have_header = false;
  while (std::getline(in, line)) {
    ++lineno;
    if (lineno == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);  // a UTF-8 byte-order mark
    if (detail::trim(line).empty()) continue;
    const std::string where = file + ":" + std::to_string(lineno);
    if (line.find('"') != std::string::npos)
      throw config_error(where, "row", "holds a double quote: quoted fields are not supported (names cannot hold commas)");
    const std::vector<std::string> cells = detail::split_cells(line);
    if (!have_header) {
      for (int i = 0; i < static_cast<int>(cells.size()); ++i) {
        if (cells[i].empty()) throw config_error(where, "header", "empty column name");
        if (col.count(cells[i])) throw config_error(where, cells[i], "column appears twice");
        bool known = cells[i] == "groups";
        for (const char* r : required) known = known || cells[i] == r;
        if (!known)  // a misspelt column (say `group`) would otherwise be ignored and give wrong answers
          throw config_error(where, cells[i],
                             "unknown column (the columns are name,K,O,S,IC,OC,B,im2col,iprec,wprec and optionally groups)");
        col[cells[i]] = i;
      }
      for (const char* r : required)
        if (!col.count(r)) throw config_error(where, r, "required column missing from the header");
      have_header = true;
      continue;
    }
    auto cell = [&](const std::string& field) -> const std::string& {
      const int i = col.at(field);
      if (i >= static_cast<int>(cells.size()) || cells[i].empty())
        throw config_error(where, field, "missing value");
      return cells[i];
    };
    auto integer = [&](const std::string& field) -> std::int64_t {
      const std::string& s = cell(field);
      errno = 0;
      char* end = nullptr;
      const long long v = std::strtoll(s.c_str(), &end, 10);
      if (end == s.c_str() || *end != '\0' || errno == ERANGE)
        throw config_error(where, field, "not an integer: '" + s + "'");
      return v;
    };
    auto positive = [&](const std::string& field) -> std::int64_t {
      const std::int64_t v = integer(field);
      if (v <= 0) throw config_error(where, field, "must be positive, got " + std::to_string(v));
      if (v > max_layer_dim)
        throw config_error(where, field,
                           "too large (" + std::to_string(v) + " > " +
                               std::to_string(max_layer_dim) + ")");
      return v;
    };
    auto prec = [&](const std::string& field) -> int {
      const std::int64_t v = integer(field);
      if (!valid_bits(v))
        throw config_error(where, field, "precision must be in 1..8, got " + std::to_string(v));
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
    if (im != 0 && im != 1)
      throw config_error(where, "im2col", "must be 0 or 1, got " + std::to_string(im));
    l.im2col = im == 1;
    l.iprec = prec("iprec");
    l.wprec = prec("wprec");
    if (col.count("groups")) {
      const int i = col.at("groups");
      if (i < static_cast<int>(cells.size()) && !cells[i].empty()) l.groups = positive("groups");
    }
    if (l.IC % l.groups != 0 || l.OC % l.groups != 0)
      throw config_error(where, "groups",
                         std::to_string(l.groups) + " does not divide IC=" + std::to_string(l.IC) +
                             " and OC=" + std::to_string(l.OC));
    if (cells.size() > col.size())
      throw config_error(where, "row", std::to_string(cells.size()) + " cells, header has " +
                                           std::to_string(col.size()));
    out.push_back(std::move(l));
  }
  if (!have_header) throw config_error(file, "header", "empty file, no header row");
  return out;
}

/// Reads layers from a CSV file.
inline std::vector<layer> read_layers_csv(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw config_error(path, "file", "is a folder, not a layer CSV file");
  if (!std::filesystem::exists(path, ec)) throw config_error(path, "file", "not found");
  std::ifstream in(path);
  if (!in) throw config_error(path, "file", "cannot open");
  return read_layers_csv(in, path);
}

/// The output columns, in order.
inline const std::vector<std::string>& mapping_csv_columns() {
  static const std::vector<std::string> cols = {
      "name", "b", "num_b", "ow", "num_ow", "oh", "num_oh", "ic", "num_ic", "oc", "num_oc",
      "order", "total_cycles", "compute_cycles", "stall_cycles", "energy_nJ", "energy_core_nJ",
      "energy_sram_nJ", "energy_dram_nJ", "dram_rd_bits", "dram_wr_bits", "wbuf_rd_bits",
      "wbuf_wr_bits", "ibuf_rd_bits", "ibuf_wr_bits", "obuf_rd_bits", "obuf_wr_bits", "note"};
  return cols;
}

/// A double with 17 significant digits (reads back to the same double).
inline std::string format_energy(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

namespace detail {
/// A CSV field, quoted when it holds a comma, a quote or a newline.
inline std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char ch : s) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return q + "\"";
}
}  // namespace detail

/// The layers as read_layers_csv reads them: name,K,O,S,IC,OC,B,im2col,iprec,wprec,groups. The
/// reader splits at every comma (no quoting), so a name holding a comma, a quote or a newline is
/// a config_error naming the layer rather than a file it would misread.
inline void write_layers_csv(std::ostream& os, const std::vector<layer>& layers) {
  for (const layer& l : layers)
    if (l.name.find_first_of(",\"\n") != std::string::npos)
      throw config_error("layer CSV", "name", "'" + l.name + "' holds a comma, quote or newline, which the layer CSV cannot hold");
  os << "name,K,O,S,IC,OC,B,im2col,iprec,wprec,groups\n";
  for (const layer& l : layers)
    os << l.name << ',' << l.K << ',' << l.O << ',' << l.S << ',' << l.IC << ',' << l.OC << ',' << l.B << ','
       << (l.im2col ? 1 : 0) << ',' << l.iprec << ',' << l.wprec << ',' << l.groups << '\n';
}

/// One output row (no newline). The last column, `note`, is "ok", or says which SRAM energies
/// were interpolated/extrapolated from the CACTI table, or holds the no-fit error (then every
/// numeric field is empty).
inline std::string mapping_csv_row(const mapping_result& r, const std::string& name) {
  std::ostringstream os;
  const auto quoted = detail::csv_field;
  os << quoted(name);
  if (!r.ok()) {
    for (std::size_t i = 1; i + 1 < mapping_csv_columns().size(); ++i) os << ',';
    os << ',' << quoted(r.error().message());
    return os.str();
  }
  const layer_mapping& m = r.value();
  const tiling& t = m.tile;
  os << ',' << t.b << ',' << t.num_b << ',' << t.ow << ',' << t.num_ow << ',' << t.oh << ','
     << t.num_oh << ',' << t.ic << ',' << t.num_ic << ',' << t.oc << ',' << t.num_oc << ','
     << m.order.to_string() << ',' << m.total_cycles << ',' << m.compute_cycles << ','
     << m.stall_cycles << ',' << format_energy(m.energy_nJ) << ','
     << format_energy(m.energy_core_nJ) << ',' << format_energy(m.energy_sram_nJ) << ','
     << format_energy(m.energy_dram_nJ) << ',' << m.dram_rd_bits << ',' << m.dram_wr_bits << ','
     << m.wbuf_rd_bits << ',' << m.wbuf_wr_bits << ',' << m.ibuf_rd_bits << ','
     << m.ibuf_wr_bits << ',' << m.obuf_rd_bits << ',' << m.obuf_wr_bits << ',';
  if (m.energies_exact()) {
    os << "ok";
  } else {
    os << "sram energies wbuf " << to_string(m.wbuf_fit) << " ibuf " << to_string(m.ibuf_fit)
       << " obuf " << to_string(m.obuf_fit);
  }
  return os.str();
}

/// Header line plus one row per result (`names[i]` names results[i]).
inline void write_mapping_csv(std::ostream& os, const std::vector<mapping_result>& results,
                              const std::vector<std::string>& names) {
  const auto& cols = mapping_csv_columns();
  for (std::size_t i = 0; i < cols.size(); ++i) os << (i ? "," : "") << cols[i];
  os << '\n';
  for (std::size_t i = 0; i < results.size(); ++i)
    os << mapping_csv_row(results[i], names[i]) << '\n';
}

}  // namespace jaq::hw
