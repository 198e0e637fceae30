#include "jaq/nas/train_session.hpp"

#include <doctest/doctest.h>

#include <CLI/CLI.hpp>

#include <sstream>
#include <string>
#include <vector>

#include "jaq/nn/small_cnn.hpp"
#include "jaq/optim/sgd.hpp"

using namespace jaq::nas;

namespace {
train_flags parse(std::vector<std::string> args) {
  CLI::App app;
  train_flags f;
  add_train_flags(app, f);
  std::vector<const char*> argv{"train"};
  for (auto& a : args) argv.push_back(a.c_str());
  app.parse(int(argv.size()), argv.data());
  return f;
}
}  // namespace

TEST_CASE("flags: --quant with --bits, --wbits/--abits; --mixed with --csq") {
  auto f = parse({"--quant", "pact", "--bits", "3", "--abits", "2"});
  CHECK(f.quant == "pact");
  CHECK(f.bits == 3);
  CHECK(f.abits == 2);
  auto g = parse({"--mixed", "2,3,4,8", "--csq", "20", "--csq-every", "2"});
  CHECK(g.csq_given);
  CHECK(g.csq == 20.0);
  CHECK(g.csq_every == 2);
  jaq::rng gen(1);
  jaq::nn::small_cnn<float> m({}, gen);
  train_session<float> qs(g, m, gen);
  REQUIRE(qs.search() != nullptr);
  CHECK(qs.search()->arch_parameters().size() == 2);
  const std::size_t n = m.parameters().size();
  CHECK(qs.parameters(m.parameters()).size() == n + 2 * 2 /* conv1, fc fixed */ + 2 * 4 * 2 /* searched */);
  std::ostringstream os;
  os << qs;
  CHECK(os.str().find("CSQ K=20%") != std::string::npos);
}

TEST_CASE("a fixed-precision session trains with the plain optimizer; no flags: untouched model") {
  jaq::rng gen(1);
  jaq::nn::small_cnn<float> m({}, gen);
  train_session<float> none(train_flags{}, m, gen);
  CHECK(!none.active());
  CHECK(none.parameters(m.parameters()).size() == m.parameters().size());
  jaq::nn::small_cnn<float> m2({}, gen);
  train_session<float> fixed(parse({"--quant", "lsq", "--wbits", "2"}), m2, gen);
  std::ostringstream os;
  os << fixed;
  CHECK(os.str().find("conv2: w2 a4") != std::string::npos);
}

TEST_CASE("bad flag combinations and values are errors naming the flag and value") {
  jaq::rng gen(1);
  jaq::nn::small_cnn<float> m({}, gen);
  CHECK_THROWS_WITH_AS(train_session<float>(parse({"--csq", "20"}), m, gen),
                       "small-cnn: --csq: CSQ is a mixed-precision search option: give --mixed too", jaq::config_error);
  CHECK_THROWS_WITH_AS(train_session<float>(parse({"--mixed", "2,4", "--csq", "0"}), m, gen),
                       "small-cnn: csq K: keep percentage 0 is outside (0, 100]", jaq::config_error);
  CHECK_THROWS_WITH_AS(train_session<float>(parse({"--quant", "lsq", "--bits", "9"}), m, gen),
                       "small-cnn: --wbits: bits: unsupported bit-width 9 (must be 1..8)", jaq::config_error);
  CHECK_THROWS_WITH_AS(train_session<float>(parse({"--quant", "lsq", "--abits", "0", "--bits", "4"}), m, gen),
                       "small-cnn: --abits: bits: unsupported bit-width 0 (must be 1..8)", jaq::config_error);
  CHECK_THROWS_AS(train_session<float>(parse({"--quant", "lsq", "--mixed", "2,4"}), m, gen), jaq::config_error);
  CHECK_THROWS_AS(train_session<float>(parse({"--bits", "4"}), m, gen), jaq::config_error);
  CHECK_THROWS_WITH_AS(train_session<float>(parse({"--mixed", "2,9"}), m, gen),
                       "small-cnn: --mixed: bits: unsupported bit-width 9 (supported: 1,2,3,4,5,6,7,8)", jaq::config_error);
}
