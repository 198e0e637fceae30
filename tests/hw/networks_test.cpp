#include "jaq/hw/networks.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <set>

#include "jaq/hw/reference_mapper.hpp"

namespace hw = jaq::hw;
namespace nets = jaq::hw::networks;

namespace {
const hw::layer& find(const std::vector<hw::layer>& v, const std::string& name) {
  auto it = std::find_if(v.begin(), v.end(), [&](const hw::layer& l) { return l.name == name; });
  REQUIRE(it != v.end());
  return *it;
}
}  // namespace

TEST_CASE("ResNet-18: 20 convs and the fc, torchvision shapes at 224x224") {
  const auto v = nets::resnet18({.batch = 16, .precision = {.iprec = 4, .wprec = 2}});
  CHECK(v.size() == 21);
  CHECK(v.front() ==
        hw::layer{.name = "conv1", .K = 7, .O = 112, .S = 2, .IC = 3, .OC = 64, .B = 16, .im2col = true, .iprec = 4, .wprec = 2});
  CHECK(v.back() == hw::layer{.name = "fc", .K = 1, .O = 1, .S = 1, .IC = 512, .OC = 1000, .B = 16, .iprec = 4, .wprec = 2});
  const hw::layer& d = find(v, "layer3.0.downsample.0");
  CHECK((d.K == 1 && d.O == 14 && d.S == 2 && d.IC == 128 && d.OC == 256));
  const hw::layer& c = find(v, "layer4.1.conv2");
  CHECK((c.K == 3 && c.O == 7 && c.S == 1 && c.IC == 512 && c.OC == 512));
  CHECK(find(v, "layer2.0.conv1").S == 2);
  CHECK(std::count_if(v.begin(), v.end(), [](const hw::layer& l) { return l.im2col; }) == 1);
  // MACs: the torchvision count, 1.81 GMAC per image
  std::int64_t macs = 0;
  for (const auto& l : v) macs += l.K * l.K * l.O * l.O * l.IC / l.groups * l.OC;
  CHECK(macs == 1814073344);
}

TEST_CASE("MobileNetV2-CIFAR: 17 inverted residuals with depthwise convs at 32x32") {
  const auto v = nets::mobilenetv2_cifar();
  // first conv + 2 (t=1 block) + 16 x 3 + last conv + classifier
  CHECK(v.size() == 1 + 2 + 16 * 3 + 2);
  CHECK(v.front() == hw::layer{.name = "conv_first", .K = 3, .O = 32, .S = 1, .IC = 3, .OC = 32, .B = 1, .im2col = true});
  const hw::layer& dw = find(v, "block3.dw");  // first block of (6,32,3,2): stride 2
  CHECK((dw.K == 3 && dw.O == 16 && dw.S == 2 && dw.IC == 144 && dw.groups == 144));
  CHECK(find(v, "block16.project").OC == 320);
  CHECK(find(v, "conv_last") == hw::layer{.name = "conv_last", .K = 1, .O = 4, .S = 1, .IC = 320, .OC = 1280, .B = 1});
  for (const auto& l : v) CHECK_NOTHROW(hw::validate(l));
}

TEST_CASE("the search-space network has 22 blocks at kernel 5, expansion 6") {
  const auto v = nets::search_space_22({.batch = 2});
  CHECK(v.size() == 1 + 22 * 3 + 2);
  std::set<std::string> stages;
  int dws = 0;
  for (const auto& l : v)
    if (l.groups > 1) {
      ++dws;
      CHECK(l.K == 5);
      CHECK(l.IC == l.OC);
      CHECK(l.B == 2);
    }
  CHECK(dws == 22);
  CHECK(find(v, "s0.b0.expand").OC == 96);  // 16 * 6
  CHECK(find(v, "s2.b0.dw").O == 16);       // stride 2
  CHECK(find(v, "s3.b0.dw").O == 8);
  CHECK(find(v, "s5.b0.dw").O == 4);
  CHECK(find(v, "s6.b0.project").OC == 352);
  CHECK(find(v, "head") == hw::layer{.name = "head", .K = 1, .O = 4, .S = 1, .IC = 352, .OC = 1504, .B = 2});
}

TEST_CASE("by_name knows the three networks and nothing else") {
  for (auto n : nets::names) CHECK(nets::by_name(n).has_value());
  CHECK_FALSE(nets::by_name("vgg16").has_value());
}

TEST_CASE("every built-in layer maps on the reference configuration") {
  const hw::energy_model em = hw::make_energy_model(hw::reference_config());
  for (auto n : nets::names) {
    const std::vector<hw::layer> v = *nets::by_name(n);
    for (const auto& l : v) {
      CAPTURE(l);
      CHECK(hw::map_layer_reference(hw::reference_config(), l, em).ok());
    }
  }
}
