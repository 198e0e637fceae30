// Tests of kernels/device.hpp as every machine sees it: the probe never throws; --device auto
// falls back to the CPU with a reason when there is no device, --device cuda is then a clear
// error naming the flag, and a device call fails with a jaq::error, not a crash. On a GPU
// machine the same cases check the other branch (the device is found, memory round-trips).
#include "kernels/device.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "jaq/hw/networks.hpp"
#include "kernels/batchtile.hpp"
#include "kernels/fake_quant.hpp"

namespace cu = jaq::cuda;
namespace hw = jaq::hw;

TEST_CASE("the probe and the --device choice") {
  const cu::device_probe pr = cu::probe();
  CHECK(pr.count >= 0);
  CHECK(cu::choose_device("cpu").kind == cu::device_kind::cpu);
  CHECK_THROWS_WITH_AS(cu::choose_device("gpu"), doctest::Contains("--device"), jaq::config_error);
  if (pr.count == 0) {
    CHECK(pr.reason.find("no CUDA device") == 0);
    const cu::device_choice a = cu::choose_device("auto");
    CHECK(a.kind == cu::device_kind::cpu);
    CHECK(a.note.find(pr.reason) != std::string::npos);
    CHECK_THROWS_WITH_AS(cu::choose_device("cuda"), doctest::Contains("--device cpu or auto"), jaq::config_error);
  } else {
    CHECK(pr.reason.empty());
    CHECK_FALSE(pr.name.empty());
    CHECK(cu::choose_device("auto").kind == cu::device_kind::cuda);
    CHECK(cu::choose_device("cuda").kind == cu::device_kind::cuda);
  }
}

TEST_CASE("device memory: a clear error without a device, a round trip with one") {
  std::vector<float> h{1.5f, -2.0f, 3.25f};
  if (cu::probe().count == 0) {
    CHECK_THROWS_WITH_AS(cu::device_array<float>(3), doctest::Contains("CUDA: cannot allocate 12 bytes"), jaq::error);
    cu::device_array<float> empty;  // nothing allocated, nothing to free
    CHECK(empty.size() == 0);
    return;
  }
  cu::device_array<float> d(3);
  REQUIRE(d.upload(h).ok());
  std::vector<float> back(3);
  REQUIRE(d.download(back).ok());
  CHECK(back == h);
  const cu::status bad = d.upload(std::vector<float>(2));
  CHECK_FALSE(bad.ok());
  CHECK(bad.message.find("upload of 2 elements") != std::string::npos);
  cu::device_array<float> moved = std::move(d);
  CHECK(moved.size() == 3);
}

TEST_CASE("BatchTile on the device: without one, a jaq::error; with one, BatchTile's answer") {
  const hw::accel_config cfg = hw::reference_config();
  const auto net = hw::networks::resnet18({.batch = 1, .precision = {.iprec = 4, .wprec = 4}});
  const std::vector<hw::layer> layers(net.begin(), net.end());
  const hw::energy_model em = hw::make_energy_model(cfg);
  if (cu::probe().count == 0) {
    CHECK_THROWS_WITH_AS(cu::map_layers(jaq::cuda_backend{}, cfg, std::span<const hw::layer>(layers), em), doctest::Contains("CUDA"),
                         jaq::error);
    return;
  }
  const auto cpu = jaq::batchtile::map_layers(jaq::serial_backend{}, cfg, std::span<const hw::layer>(layers), em);
  CHECK(jaq::batchtile::map_layers(jaq::cuda_backend{}, cfg, std::span<const hw::layer>(layers), em) == cpu);  // through the seam
}

TEST_CASE("fake-quant launchers return a failed status, never crash, without a device") {
  if (cu::probe().count > 0) return;  // gpu_test covers the device
  const cu::status s = cu::lsq_forward(nullptr, 4, nullptr, jaq::quant::qrange::of(4, true, "t"), nullptr);
  CHECK_FALSE(s.ok());
  CHECK_FALSE(s.message.empty());
}
