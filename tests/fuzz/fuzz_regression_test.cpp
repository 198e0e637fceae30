// Every parser of tests/fuzz/targets.hpp on its valid seeds and on thousands of deterministic
// mutations of them (bit flips, interesting bytes and tokens, deletions, duplications,
// truncations): each input must parse or raise a jaq::error. A crash, a sanitizer report or
// another exception type fails the test and names the target, the mutant and its bytes. The
// open-ended search is tools/fuzz.sh (libFuzzer); this runs in the suite on every build.
#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <sstream>
#include <string>
#include <typeinfo>
#include <vector>

#include "jaq/core/atomic_file.hpp"
#include "jaq/core/rng.hpp"
#include "jaq/hw/accel_config.hpp"
#include "tests/fuzz/targets.hpp"

namespace {

std::string idx_seed() {
  std::string b = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2};  // 2 images of 2x2
  for (int i = 0; i < 8; ++i) b.push_back(char(i * 30));
  return b;
}

const std::vector<std::string>& tokens() {
  static const std::vector<std::string> t{"nan",
                                          "inf",
                                          "-inf",
                                          "-1",
                                          "0",
                                          "1e309",
                                          "-1e309",
                                          "99999999999999999999",
                                          "4294967297",
                                          "\xEF\xBB\xBF",
                                          "\"",
                                          "\"\"",
                                          ",",
                                          "\n",
                                          "\r\n",
                                          "{",
                                          "}",
                                          "[",
                                          "]",
                                          ":",
                                          "null",
                                          "true",
                                          "1.5",
                                          "0x10",
                                          " ",
                                          "\t",
                                          std::string(1, '\0'),
                                          "\xff\xfe",
                                          "name",
                                          "groups",
                                          "K"};
  return t;
}

std::string mutate(std::string s, jaq::rng& r) {
  const int edits = 1 + int(r.uniform() * 4);
  for (int e = 0; e < edits; ++e) {
    const std::size_t n = s.size();
    const std::size_t at = n ? std::size_t(r.uniform() * double(n)) : 0;
    switch (int(r.uniform() * 7)) {
      case 0:
        if (n) s[at] = char(s[at] ^ (1 << int(r.uniform() * 8)));
        break;
      case 1:
        if (n) s[at] = "\0\xff\",\n-9e.{[:"[std::size_t(r.uniform() * 13)];
        break;
      case 2:
        s.insert(at, tokens()[std::size_t(r.uniform() * double(tokens().size()))]);
        break;
      case 3:
        if (n) s.erase(at, 1 + std::size_t(r.uniform() * 8));
        break;
      case 4:
        if (n) s.insert(at, s.substr(at, 1 + std::size_t(r.uniform() * 16)));
        break;
      case 5:
        s.resize(std::size_t(r.uniform() * double(n + 1)));
        break;
      default: {  // replace a number-looking run with a token
        const auto& t = tokens()[std::size_t(r.uniform() * double(tokens().size()))];
        if (n) s.replace(at, std::min<std::size_t>(3, n - at), t);
      }
    }
  }
  return s;
}

void fuzz(const std::string& target, const std::vector<std::string>& seeds, int mutants) {
  const auto& f = jaq_fuzz::all_targets().at(target);
  jaq::rng r(0x5eed + target.size());
  for (const auto& s : seeds) CHECK_NOTHROW(f(s));
  for (int i = 0; i < mutants; ++i) {
    const std::string m = mutate(seeds[std::size_t(i) % seeds.size()], r);
    try {
      f(m);
    } catch (const std::exception& e) {
      std::ostringstream bytes;
      for (unsigned char c : m) bytes << (c >= 32 && c < 127 && c != '\\' ? std::string(1, char(c)) : "\\x" + std::to_string(c));
      FAIL_CHECK(target << " mutant " << i << ": " << std::string(typeid(e).name()) << " (not a jaq::error): " << std::string(e.what())
                        << "\n  input: " << bytes.str());
    }
  }
}

}  // namespace

TEST_CASE("fuzz: layer CSV") {
  fuzz("layer_csv",
       {"name,K,O,S,IC,OC,B,im2col,iprec,wprec\nconv1,3,56,1,64,64,1,0,8,8\nfc,1,1,1,512,1000,1,0,4,4\n",
        "\xEF\xBB\xBFname,K,O,S,IC,OC,B,im2col,iprec,wprec,groups\ndw,3,28,2,32,32,1,0,2,2,32\n"},
       6000);
}

TEST_CASE("fuzz: accelerator JSON") { fuzz("accel_json", {jaq::hw::to_accel_json(jaq::hw::reference_config()).dump(2)}, 6000); }

TEST_CASE("fuzz: presets") {
  fuzz("preset", {jaq::read_file("examples/presets/fmnist.json"), jaq::read_file("examples/presets/cifar10.json")}, 3000);
}

TEST_CASE("fuzz: CSV and bit lists") {
  fuzz("csv", {"a,b,c\n1,2,3\n\"x, y\",4,5\n"}, 6000);
  fuzz("bit_list", {"2,3,4,8", "4"}, 6000);
}

TEST_CASE("fuzz findings stay fixed") {
  // idx dims whose product overflows 64 bits (libFuzzer, ubsan: signed overflow in elements())
  const std::string huge("\x00\x00\x08\x03N3jaq5errorE\x00\x00\x00\x04", 20);
  const std::span<const std::uint8_t> b(reinterpret_cast<const std::uint8_t*>(huge.data()), huge.size());
  CHECK_THROWS_WITH_AS(jaq::data::detail::parse_idx("x", b, 0x00000803u, "images"), doctest::Contains("more bytes than the file"),
                       jaq::data_error);
  // a JSON number beyond double (nlohmann's out_of_range escaped every JSON reader)
  CHECK_THROWS_AS(jaq::report::parse_json(R"({"lr": 1e309})", "x.json"), jaq::data_error);
  // an integer field given a number beyond int64 (libFuzzer, ubsan: 1e63 converted to long in
  // nlohmann's get, through the preset reader): refused before the conversion
  auto p = jaq::report::parse_json(jaq::read_file("examples/presets/fmnist.json"), "p.json");
  p["space"]["stage_strides"][0] = nlohmann::json::parse("999999999999999999999999999999999999999999999999999999999999991");
  CHECK_THROWS_WITH_AS(jaq::search::parse_preset(p, "p.json"),
                       doctest::Contains("stage_strides: must be an array each of whose items is an integer, got [1e+63,1,2,2]"),
                       jaq::config_error);
  p = jaq::report::parse_json(jaq::read_file("examples/presets/fmnist.json"), "p.json");
  p["search"]["epochs"] = 10000000000LL;  // fits int64, not int: would have been truncated
  CHECK_THROWS_WITH_AS(jaq::search::parse_preset(p, "p.json"), doctest::Contains("epochs: must be an integer in range, got 10000000000"),
                       jaq::config_error);
  CHECK_THROWS_WITH_AS(jaq::report::json_get<int>(nlohmann::json::parse(R"({"n": 1e63})"), "n", "x.json"),
                       "x.json: n: must be an integer, got 1e+63", jaq::config_error);
}

TEST_CASE("fuzz: checkpoint entries and idx headers") {
  fuzz("checkpoint", {jaq_fuzz::checkpoint_seed()}, 3000);
  fuzz("idx", {idx_seed()}, 6000);
}

TEST_CASE("fuzz: CIFAR-10 batches and derived.json") {
  std::string rec(3073, '\0');
  for (std::size_t i = 1; i < rec.size(); ++i) rec[i] = char(i * 7);
  rec[0] = 3;
  fuzz("cifar", {rec + rec}, 400);  // each mutant is a file read (and maybe a gzip stream)
  fuzz("derived", {jaq::read_file("tests/fuzz/corpus/derived/search_derived.json")}, 2000);
}

TEST_CASE("the checked-in corpus replays: every file parses or raises a jaq::error") {
  // tests/fuzz/corpus/<target>/: seeds (the docs' examples, presets, the tests' bad inputs) and
  // what tools/fuzz.sh runs kept for coverage; a crasher found there is kept here too.
  const std::filesystem::path root = "tests/fuzz/corpus";
  REQUIRE(std::filesystem::is_directory(root));
  std::size_t files = 0;
  for (const auto& target : jaq_fuzz::all_targets()) {
    const std::string& name = target.first;  // (a structured binding cannot be captured by INFO's lambda before clang 16)
    const auto& f = target.second;
    const auto dir = root / name;
    INFO("target " << name);
    REQUIRE(std::filesystem::is_directory(dir));
    std::size_t here = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      if (!e.is_regular_file()) continue;
      const std::string bytes = jaq::read_file(e.path());
      try {
        f(bytes);
      } catch (const std::exception& ex) {
        FAIL_CHECK(name << ": " << e.path().string() << ": " << typeid(ex).name() << " (not a jaq::error): " << ex.what());
      }
      ++here;
    }
    CHECK(here >= 1);
    files += here;
  }
  CHECK(files >= 25);  // the seeds alone are 29
}
