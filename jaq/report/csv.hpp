// jaq/report/csv.hpp: a CSV writer with RFC 4180 quoting and a reader with line/field errors.
//
// The writer quotes a field only when it must (comma, quote, CR/LF, or leading/trailing space)
// and writes numbers in their shortest round-trip form. The reader accepts quoted fields with
// embedded commas, doubled quotes and newlines, CRLF line ends, blank lines and '#' comment
// lines; every structural problem is a data_error naming the file and line, every bad cell a
// config_error naming "file:line", the column and the value. Tools reuse it for their inputs
// (the mapping tool's `--layers` table).
//
//   jaq::report::csv_writer w(out, {"layer", "bits", "energy_pj"});
//   w.row("conv1", 4, 1.25e6);
//
//   const auto t = jaq::report::read_csv("layers.csv");
//   for (std::size_t r = 0; r < t.rows.size(); ++r)
//     int k = t.get<int>(r, "kernel");     // "layers.csv:7: kernel: expected an integer, got 'x'"
#pragma once

#include <charconv>
#include <concepts>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <limits>
#include <ostream>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

#include "jaq/core/atomic_file.hpp"
#include "jaq/core/error.hpp"

namespace jaq::report {

/// The field as it must appear in a CSV file (quoted if needed, inner quotes doubled).
inline std::string csv_quote(std::string_view field) {
  bool need = field.find_first_of(",\"\r\n") != std::string_view::npos;
  if (!field.empty() &&
      (field.front() == ' ' || field.front() == '\t' || field.back() == ' ' || field.back() == '\t' || field.front() == '#')) {
    need = true;
  }
  if (!need) return std::string(field);
  std::string s = "\"";
  for (char c : field) {
    if (c == '"') s += '"';
    s += c;
  }
  s += '"';
  return s;
}

/// A value as CSV text: strings as given, integers in decimal, floating point in the shortest
/// form that reads back to the same value.
template <class T>
std::string csv_text(const T& v) {
  if constexpr (std::is_same_v<T, bool>) {
    return v ? "true" : "false";
  } else if constexpr (std::is_arithmetic_v<T>) {
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, r.ptr);
  } else {
    return std::string(std::string_view(v));
  }
}

/// Writes a header, then rows with the same number of fields.
class csv_writer {
 public:
  csv_writer(std::ostream& out, const std::vector<std::string>& header) : out_(&out), columns_(header.size()) {
    if (header.empty()) throw config_error("csv_writer", "header", "must name at least one column");
    write_fields(header);
  }

  /// One row of already formatted fields.
  void row_fields(const std::vector<std::string>& fields) {
    if (fields.size() != columns_) {
      throw config_error("csv_writer", "row " + std::to_string(rows_ + 1),
                         "expected " + std::to_string(columns_) + " fields (as in the header), got " + std::to_string(fields.size()));
    }
    write_fields(fields);
    ++rows_;
  }

  /// One row of values of any printable kind (strings, integers, floating point, bool).
  template <class... Ts>
  void row(const Ts&... values) {
    row_fields({csv_text(values)...});
  }

  std::size_t rows() const { return rows_; }

 private:
  void write_fields(const std::vector<std::string>& f) {
    for (std::size_t i = 0; i < f.size(); ++i) *out_ << (i ? "," : "") << csv_quote(f[i]);
    *out_ << '\n';
  }
  std::ostream* out_;
  std::size_t columns_;
  std::size_t rows_ = 0;
};

struct csv_options {
  char comment = '#';  // lines starting with this (outside quotes) are skipped; '\0': none
  bool trim = true;    // strip spaces and tabs around unquoted fields
};

/// A parsed table: the header and rows of string cells, with the line each row started on.
struct csv_table {
  std::string source;  // file name, for messages
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::vector<std::int64_t> lines;  // 1-based line of each row
  std::int64_t header_line = 0;     // 1-based line of the header

  bool has_column(std::string_view name) const {
    for (const auto& h : header)
      if (h == name) return true;
    return false;
  }
  /// Index of a column; config_error naming the file and the columns it has.
  std::size_t column(std::string_view name) const {
    for (std::size_t i = 0; i < header.size(); ++i)
      if (header[i] == name) return i;
    std::string have;
    for (const auto& h : header) have += (have.empty() ? "" : ", ") + h;
    throw config_error(source, std::string(name), "missing column (the header has: " + have + ")");
  }
  const std::string& cell(std::size_t row, std::string_view name) const { return rows.at(row).at(column(name)); }

  /// "file:line" of the header, for messages about a column.
  std::string header_where() const { return source + ":" + std::to_string(header_line); }
  /// "file:line", for messages about a row.
  std::string where(std::size_t row) const { return source + ":" + std::to_string(lines.at(row)); }

  /// The cell parsed as T (an integer, floating point, bool or string type); config_error naming
  /// file:line, the column and the text otherwise.
  template <class T>
  T get(std::size_t row, std::string_view name) const {
    const std::string& s = cell(row, name);
    auto bad = [&](const char* expected) {
      return config_error(where(row), std::string(name), std::string("expected ") + expected + ", got '" + s + "'");
    };
    if constexpr (std::is_same_v<T, std::string>) {
      return s;
    } else if constexpr (std::is_same_v<T, bool>) {
      if (s == "true" || s == "1") return true;
      if (s == "false" || s == "0") return false;
      throw bad("true/false/1/0");
    } else if constexpr (std::is_integral_v<T>) {
      T v{};
      const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
      if (r.ec == std::errc::result_out_of_range) throw bad("an integer in range");
      if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size()) throw bad("an integer");
      return v;
    } else if constexpr (std::is_floating_point_v<T>) {
      T v{};
      const char* b = s.data();
      if (!s.empty() && s[0] == '+') ++b;  // from_chars rejects a leading '+'
      const auto r = std::from_chars(b, s.data() + s.size(), v);
      if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size()) throw bad("a number");
      return v;
    } else {
      static_assert(std::is_arithmetic_v<T> || std::is_same_v<T, std::string>,
                    "csv_table::get<T>: T must be an integer, floating point, bool or std::string");
    }
  }
};

/// Parses CSV text; the first non-comment line is the header.
inline csv_table parse_csv(std::string_view text, std::string source, const csv_options& opt = {}) {
  csv_table t;
  t.source = std::move(source);
  auto fail = [&](std::int64_t line, const std::string& what) {
    return data_error(t.source, "line " + std::to_string(line) + ": " + what);
  };
  auto trimmed = [&](std::string s, bool quoted) {
    if (!opt.trim || quoted) return s;
    const auto b = s.find_first_not_of(" \t");
    if (b == std::string::npos) return std::string();
    const auto e = s.find_last_not_of(" \t");
    return s.substr(b, e - b + 1);
  };

  std::size_t i = 0;
  std::int64_t line = 1;
  const std::size_t n = text.size();
  while (i < n) {
    // At the start of a record.
    const std::int64_t start_line = line;
    std::size_t k = i;
    while (k < n && (text[k] == ' ' || text[k] == '\t')) ++k;
    if (k == n) break;                         // trailing blanks
    if (text[k] == '\n' || text[k] == '\r') {  // blank line
      i = k;
      if (text[i] == '\r' && i + 1 < n && text[i + 1] == '\n') ++i;
      ++i;
      ++line;
      continue;
    }
    if (opt.comment != '\0' && text[i] == opt.comment) {
      while (i < n && text[i] != '\n') ++i;
      if (i < n) ++i;
      ++line;
      continue;
    }
    std::vector<std::string> fields;
    bool record_done = false;
    while (!record_done) {
      std::string f;
      bool quoted = false;
      // Leading blanks before an opening quote are allowed.
      std::size_t j = i;
      while (j < n && (text[j] == ' ' || text[j] == '\t')) ++j;
      if (j < n && text[j] == '"') {
        quoted = true;
        const std::int64_t qline = line;
        i = j + 1;
        for (;;) {
          if (i >= n) throw fail(qline, "unterminated quoted field (field " + std::to_string(fields.size() + 1) + ")");
          const char c = text[i];
          if (c == '"') {
            if (i + 1 < n && text[i + 1] == '"') {
              f += '"';
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          if (c == '\n') ++line;
          f += c;
          ++i;
        }
        while (i < n && (text[i] == ' ' || text[i] == '\t')) ++i;
        if (i < n && text[i] != ',' && text[i] != '\n' && text[i] != '\r') {
          throw fail(line, "field " + std::to_string(fields.size() + 1) + ": unexpected character '" + std::string(1, text[i]) +
                               "' after a closing quote");
        }
      } else {
        while (i < n && text[i] != ',' && text[i] != '\n' && text[i] != '\r') {
          if (text[i] == '"') {
            throw fail(line, "field " + std::to_string(fields.size() + 1) +
                                 ": a quote inside an unquoted field (quote the whole field and double the quote)");
          }
          f += text[i++];
        }
      }
      fields.push_back(trimmed(std::move(f), quoted));
      if (i >= n) {
        record_done = true;
      } else if (text[i] == ',') {
        ++i;
      } else {  // end of line
        if (text[i] == '\r' && i + 1 < n && text[i + 1] == '\n') ++i;
        ++i;
        ++line;
        record_done = true;
      }
    }
    if (t.header.empty()) {
      for (std::size_t a = 0; a < fields.size(); ++a) {
        if (fields[a].empty()) throw fail(start_line, "header field " + std::to_string(a + 1) + " is empty");
        for (std::size_t b = 0; b < a; ++b)
          if (fields[a] == fields[b]) throw fail(start_line, "header names column '" + fields[a] + "' twice");
      }
      t.header = std::move(fields);
      t.header_line = start_line;
    } else {
      if (fields.size() != t.header.size()) {
        throw fail(start_line,
                   "expected " + std::to_string(t.header.size()) + " fields (as in the header), found " + std::to_string(fields.size()));
      }
      t.rows.push_back(std::move(fields));
      t.lines.push_back(start_line);
    }
  }
  if (t.header.empty()) throw data_error(t.source, "empty: expected a header line");
  return t;
}

/// Reads and parses a CSV file.
inline csv_table read_csv(const std::filesystem::path& path, const csv_options& opt = {}) {
  return parse_csv(read_file(path), path.string(), opt);
}

}  // namespace jaq::report
