// Tests of jaq/hw/timeloop.hpp: every layer's factors multiply to its (padded) problem, the
// problem covers the layer, the temporal factors count exactly the cost model's compute cycles,
// the permutations are jaq's loop order, and the YAML says what the structure says.
#include "jaq/hw/timeloop.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "jaq/hw/networks.hpp"
#include "jaq/hw/reference_mapper.hpp"

namespace hw = jaq::hw;
using hw::tl_dim;

namespace {

std::vector<hw::layer> test_layers() {
  std::vector<hw::layer> ls;
  for (const hw::precision_pair pp : {hw::precision_pair{8, 8}, {4, 4}, {2, 4}})
    for (const auto& l : hw::networks::resnet18({.batch = 1, .precision = pp})) ls.push_back(l);
  for (const auto& l : hw::networks::resnet18({.batch = 16, .precision = {4, 4}})) ls.push_back(l);
  for (const auto& l : hw::networks::mobilenetv2_cifar({.batch = 1})) ls.push_back(l);  // depthwise: groups
  ls.push_back({.name = "odd", .K = 3, .O = 7, .S = 1, .IC = 40, .OC = 50, .B = 3, .iprec = 4, .wprec = 2});
  ls.push_back({.name = "g4", .K = 5, .O = 9, .S = 2, .IC = 48, .OC = 96, .B = 2, .groups = 4});
  return ls;
}

// The "factors: C=.. M=.." lines and the instance of a written document.
struct parsed {
  std::map<char, std::int64_t> instance;
  std::vector<std::map<char, std::int64_t>> factors;
  std::vector<std::string> permutations;
};
parsed parse_yaml(const std::string& text) {
  parsed p;
  std::istringstream in(text);
  std::string line;
  bool in_instance = false;
  while (std::getline(in, line)) {
    if (line == "  instance:") {
      in_instance = true;
      continue;
    }
    if (in_instance && line.size() > 7 && line.substr(0, 4) == "    " && line[5] == ':' && line[4] != ' ')
      p.instance[line[4]] = std::stoll(line.substr(7));
    else if (in_instance && line.rfind("    ", 0) != 0)
      in_instance = false;
    if (const auto at = line.find("factors: "); at != std::string::npos) {
      std::map<char, std::int64_t> f;
      std::istringstream fs(line.substr(at + 9));
      std::string tok;
      while (fs >> tok) f[tok[0]] = std::stoll(tok.substr(2));
      p.factors.push_back(f);
    }
    if (const auto at = line.find("permutation: "); at != std::string::npos) p.permutations.push_back(line.substr(at + 13));
  }
  return p;
}

}  // namespace

TEST_CASE("every layer's factors multiply to its problem, which covers the layer, and count its compute cycles") {
  const hw::accel_config cfg = hw::reference_config();
  const hw::energy_model em = hw::make_energy_model(cfg);
  int checked = 0, padded = 0;
  for (const hw::layer& l : test_layers()) {
    const hw::mapping_result r = hw::map_layer_reference(cfg, l, em);
    if (!r.ok()) continue;
    const hw::layer_mapping& m = r.value();
    const hw::timeloop_layer t = hw::to_timeloop(l, m, cfg);
    INFO(l << " " << m.tile);
    REQUIRE(t.mapping.size() == 5);
    for (int d = 0; d < hw::tl_num_dims; ++d) {
      CHECK(t.factor_product(static_cast<tl_dim>(d)) == t.instance[static_cast<std::size_t>(d)]);
      for (const auto& lv : t.mapping) CHECK(lv.factors[static_cast<std::size_t>(d)] >= 1);
    }
    // the problem is one group, padded to whole tiles: at least the layer, less than a tile more
    const hw::layer g = hw::group_layer(l);
    CHECK(t[tl_dim::R] == l.K);
    CHECK(t[tl_dim::S] == l.K);
    CHECK(t[tl_dim::C] >= g.IC);
    CHECK(t[tl_dim::M] >= g.OC);
    CHECK(t[tl_dim::N] >= l.B);
    CHECK(t[tl_dim::P] >= l.O);
    CHECK(t[tl_dim::Q] >= l.O);
    CHECK(t[tl_dim::P] < l.O + m.tile.ow);
    CHECK(t[tl_dim::N] < l.B + m.tile.b);
    padded += t[tl_dim::P] != l.O || t[tl_dim::C] != g.IC || t[tl_dim::M] != g.OC;
    // the array: C on at most N*pf rows, M on at most M columns
    const hw::timeloop_level& arr = t.mapping.back();
    CHECK(arr.spatial);
    CHECK(arr[tl_dim::C] <= t.fused_rows);
    CHECK(arr[tl_dim::M] <= cfg.M);
    // temporal factors of all levels: the cost model's compute cycles (one group), direct convs
    if (!l.im2col) {
      std::int64_t temporal = 1;
      for (const auto& lv : t.mapping)
        if (!lv.spatial)
          for (auto f : lv.factors) temporal *= f;
      CHECK(temporal * l.groups == m.compute_cycles);
    }
    // the DRAM permutation is jaq's loop order, innermost first
    const std::string& perm = t.mapping.front().permutation;
    std::string sorted = perm;
    std::sort(sorted.begin(), sorted.end());
    CHECK(sorted == "CMNPQRS");
    const char want[] = {'N', 'P', 'Q', 'C', 'M'};  // loop::B, OW, OH, IC, OC
    CHECK(perm.back() == want[static_cast<int>(m.order[0])]);
    CHECK(perm[2] == want[static_cast<int>(m.order[4])]);
    ++checked;
  }
  CHECK(checked >= 130);  // of 139: ResNet-18 at four settings, MobileNetV2-CIFAR, two odd layers
  CHECK(padded > 0);      // some layers do not divide into whole tiles (the padding is exercised)
}

TEST_CASE("the YAML gives the structure's instance, factors and permutations, the units and the version") {
  const hw::accel_config cfg = hw::reference_config();
  const hw::layer l{.name = "odd", .K = 3, .O = 7, .S = 2, .IC = 40, .OC = 50, .B = 3, .iprec = 4, .wprec = 2};
  const hw::layer_mapping m = hw::map_layer_reference(cfg, l).value();
  const hw::timeloop_layer t = hw::to_timeloop(l, m, cfg);
  std::ostringstream os;
  hw::write_timeloop_yaml(os, t, "test settings 42");
  const std::string y = os.str();
  const parsed p = parse_yaml(y);
  REQUIRE(p.instance.size() == 7);
  for (int d = 0; d < hw::tl_num_dims; ++d)
    CHECK(p.instance.at(hw::tl_dim_names[static_cast<std::size_t>(d)]) == t.instance[static_cast<std::size_t>(d)]);
  REQUIRE(p.factors.size() == t.mapping.size());
  for (std::size_t i = 0; i < t.mapping.size(); ++i) {
    for (int d = 0; d < hw::tl_num_dims; ++d)
      CHECK(p.factors[i].at(hw::tl_dim_names[static_cast<std::size_t>(d)]) == t.mapping[i].factors[static_cast<std::size_t>(d)]);
    CHECK(p.permutations[i] == t.mapping[i].permutation);
  }
  CHECK(y.find(std::string("jaq ") + jaq::version_string) != std::string::npos);
  CHECK(y.find("test settings 42") != std::string::npos);
  CHECK(y.find("total_cycles=" + std::to_string(m.total_cycles) + " cycles") != std::string::npos);
  CHECK(y.find(" nJ") != std::string::npos);
  CHECK(y.find("Wstride: 2") != std::string::npos);
  CHECK(y.find("keep: [ Weights ]") != std::string::npos);
  CHECK(y.find("bypass: [ Inputs, Outputs ]") != std::string::npos);
}

TEST_CASE("a mapping of another layer is refused, naming both") {
  const hw::accel_config cfg = hw::reference_config();
  const hw::layer a{.name = "a", .K = 3, .O = 7, .S = 1, .IC = 8, .OC = 8, .B = 1};
  hw::layer b = a;
  b.name = "b";
  const hw::layer_mapping m = hw::map_layer_reference(cfg, a).value();
  CHECK_THROWS_WITH_AS(hw::to_timeloop(b, m, cfg), doctest::Contains("'a' given for layer 'b'"), jaq::config_error);
}
