#include "jaq/hw/tech_table.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

namespace hw = jaq::hw;

namespace {
const char* kSram = "jaq/hw/data/tech45/sram_cacti.csv";
const char* kSynth = "jaq/hw/data/tech45/systolic_array_synth.csv";
const char* kSharedSram = "/work/shared/data/tech45/sram_cacti.csv";
const char* kSharedSynth = "/work/shared/data/tech45/systolic_array_synth.csv";

bool exists(const char* p) { return std::ifstream(p).good(); }
std::string slurp(const char* p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void check_equal(const hw::tech_tables& a, const hw::tech_tables& b) {
  REQUIRE(a.sram_rows.size() == b.sram_rows.size());
  for (std::size_t i = 0; i < a.sram_rows.size(); ++i) {
    const auto &x = a.sram_rows[i], &y = b.sram_rows[i];
    CHECK(x.size_bytes == y.size_bytes);
    CHECK(x.block_bytes == y.block_bytes);
    CHECK(x.rw_ports == y.rw_ports);
    CHECK(x.technology_um == y.technology_um);
    CHECK(x.read_energy_nJ == y.read_energy_nJ);
    CHECK(x.write_energy_nJ == y.write_energy_nJ);
    CHECK(x.area_mm2 == y.area_mm2);
    CHECK(x.leak_power_mW == y.leak_power_mW);
    CHECK(x.access_time_ns == y.access_time_ns);
  }
  REQUIRE(a.array_rows.size() == b.array_rows.size());
  for (std::size_t i = 0; i < a.array_rows.size(); ++i) {
    const auto &x = a.array_rows[i], &y = b.array_rows[i];
    CHECK(x.frequency_hz == y.frequency_hz);
    CHECK(x.N == y.N);
    CHECK(x.M == y.M);
    CHECK(x.pmax == y.pmax);
    CHECK(x.pmin == y.pmin);
    CHECK(x.area_um2 == y.area_um2);
    CHECK(x.leakage_nW == y.leakage_nW);
    CHECK(x.dynamic_nW == y.dynamic_nW);
    CHECK(x.total_nW == y.total_nW);
  }
}
}  // namespace

TEST_CASE("the embedded rows equal the CSV files, number for number") {
  const hw::tech_tables& e = hw::tech_tables::embedded();
  CHECK(e.sram_rows.size() == 8);
  CHECK(e.array_rows.size() == 120);
  check_equal(e, hw::tech_tables::load(kSram, kSynth));
}

TEST_CASE("the repository's CSV copies equal the shared originals byte for byte") {
  if (!exists(kSharedSram) || !exists(kSharedSynth)) {
    MESSAGE("shared/data/tech45 not on this machine; compared with the repository copies only");
    return;
  }
  CHECK(slurp(kSram) == slurp(kSharedSram));
  CHECK(slurp(kSynth) == slurp(kSharedSynth));
  check_equal(hw::tech_tables::embedded(), hw::tech_tables::load(kSharedSram, kSharedSynth));
}

TEST_CASE("a bank size with a row reads that row exactly") {
  const auto& t = hw::tech_tables::embedded();
  const hw::sram_figures w = t.sram(128, 0);
  CHECK(w.fit == hw::table_fit::exact);
  CHECK(w.read_nJ == 0.0006837010000000001);
  CHECK(w.write_nJ == 0.000925317);
  CHECK(w.block_bits == 32);
  // 4096 bytes has a 0-port and a 1-port row: the port count selects.
  CHECK(t.sram(4096, 0).read_nJ == 0.00342953);
  CHECK(t.sram(4096, 1).read_nJ == 0.00398324);
}

TEST_CASE("a bank size between rows is interpolated log-log and flagged") {
  const auto& t = hw::tech_tables::embedded();
  const hw::sram_figures f = t.sram(3072, 0);  // between 2048 and 4096
  CHECK(f.fit == hw::table_fit::interpolated);
  // log-log: e = e0^(1-u) * e1^u with u = log2(3072/2048) = 0.58496...
  const double u = std::log2(1.5);
  CHECK(f.read_nJ == doctest::Approx(std::pow(0.00190318, 1 - u) * std::pow(0.00342953, u)).epsilon(1e-13));
  CHECK(f.write_nJ == doctest::Approx(std::pow(0.00363853, 1 - u) * std::pow(0.00431011, u)).epsilon(1e-13));
  CHECK(f.read_nJ > 0.00190318);
  CHECK(f.read_nJ < 0.00342953);
  // the 1-port rows are 512 and 4096 only
  const hw::sram_figures o = t.sram(1024, 1);
  CHECK(o.fit == hw::table_fit::interpolated);
  CHECK(o.read_nJ == doctest::Approx(0.00106097 * std::pow(0.00398324 / 0.00106097, 1.0 / 3.0)).epsilon(1e-13));
}

TEST_CASE("a bank size outside the table is extrapolated from the two nearest rows, flagged") {
  const auto& t = hw::tech_tables::embedded();
  const hw::sram_figures lo = t.sram(64, 0);  // below 128: line through 128 and 1024
  CHECK(lo.fit == hw::table_fit::extrapolated);
  const double u = std::log(64.0 / 128.0) / std::log(1024.0 / 128.0);  // -1/3
  CHECK(lo.read_nJ == doctest::Approx(0.0006837010000000001 * std::pow(0.00113324 / 0.0006837010000000001, u)).epsilon(1e-13));
  const hw::sram_figures hi = t.sram(65536, 0);  // above 16384: line through 8192 and 16384
  CHECK(hi.fit == hw::table_fit::extrapolated);
  CHECK(hi.read_nJ ==
        doctest::Approx(0.009981700000000001 * (0.009981700000000001 / 0.00639163) * (0.009981700000000001 / 0.00639163)).epsilon(1e-13));
}

TEST_CASE("lookups that cannot be answered throw hardware_error") {
  const auto& t = hw::tech_tables::embedded();
  CHECK_THROWS_AS(t.sram(0, 0), jaq::hardware_error);
  CHECK_THROWS_AS(t.sram(128, 2), jaq::hardware_error);  // no 2-port rows
  CHECK_THROWS_AS(t.array(3, 3, 8, 2), jaq::hardware_error);
  CHECK(t.array(4, 4, 8, 2).dynamic_nW == 3673500);
  CHECK(t.array(4, 4, 8, 2).area_um2 == 27752.83558);
}

TEST_CASE("loading a bad table names the file, line and field") {
  const std::string path = "bad_sram_table.csv";
  {
    std::ofstream out(path);
    out << "size_bytes,block_bytes,rw_ports,technology_um,read_energy_nJ,write_energy_nJ,area_mm2,"
           "leak_power_mW,access_time_ns\n128,4,0,0.045,abc,1,1,1,1\n";
  }
  CHECK_THROWS_WITH_AS(hw::tech_tables::load(path, kSynth), "bad_sram_table.csv:2: read_energy_nJ: expected a number, got 'abc'",
                       jaq::config_error);
  {
    std::ofstream out(path);
    out << "size_bytes,block_bytes\n128,4\n";
  }
  CHECK_THROWS_WITH_AS(hw::tech_tables::load(path, kSynth),
                       "bad_sram_table.csv: rw_ports: missing column (the header has: size_bytes, block_bytes)", jaq::config_error);
  {
    std::ofstream out(path);
    out << "size_bytes,block_bytes,rw_ports,technology_um,read_energy_nJ,write_energy_nJ,area_mm2,"
           "leak_power_mW,access_time_ns\n128,4,0,0.045,inf,1,1,1,1\n";
  }
  CHECK_THROWS_WITH_AS(hw::tech_tables::load(path, kSynth), "bad_sram_table.csv:2: read_energy_nJ: expected a finite number, got 'inf'",
                       jaq::config_error);
  CHECK_THROWS_AS(hw::tech_tables::load("no_such_file.csv", kSynth), jaq::data_error);
  std::remove(path.c_str());
}
