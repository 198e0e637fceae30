// The joint search with its supernet trained through the device engine's seam
// (joint_search::train_on), here on the host twin, against the same search on jaq's CPU engine:
// both with every layer initialised from the first batch, the same settings and data. The two
// differ by float rounding only, so the epochs' losses, the held-out accuracies, the derived
// network and the accelerator agree. On a GPU the seam is the same with device_trainer.
#include <doctest/doctest.h>

#include <cmath>
#include <memory>
#include <sstream>

#include "jaq/search/joint_search.hpp"
#include "kernels/host_trainer.hpp"
#include "kernels/train_supernet.hpp"
#include "tests/search/toy_data.hpp"

namespace js = jaq::search;

namespace {

jaq::nas::space_config two_blocks() {
  return {.name = "toy2",
          .in_channels = 1,
          .image_size = 8,
          .classes = 3,
          .stem_channels = 4,
          .stage_channels = {4, 8},
          .stage_blocks = {1, 1},
          .stage_strides = {1, 2},
          .head_channels = 16};
}

js::search_settings quick_settings(double csq) {
  js::search_settings s;
  s.warmup_epochs = 1;
  s.epochs = 2;
  s.batch = 32;
  s.lr = 0.05;
  s.arch_lr = 0.01;
  s.csq_percent = csq;
  s.hw_every = 2;
  s.hwgen_iterations = 5;
  s.final_hwgen_iterations = 10;
  s.eval_images = 64;
  s.report_every = 1000;
  s.threads = 1;
  return s;
}

void check_same_search(const js::search_settings& set) {
  CAPTURE(set.csq_percent);
  const auto data = toy_images(512, 1);
  js::joint_search cpu(two_blocks(), set, &data), dev(two_blocks(), set, &data);
  cpu.initialize_layers();
  dev.train_on([](jaq::nas::supernet<float>& net, jaq::optim::sgd<float>& sgd) {
    return std::make_unique<jaq::cuda::supernet_engine_on<jaq::cuda::host_trainer>>(net, sgd, jaq::data::image_shape{1, 8, 8}, 32,
                                                                                    "the host twin");
  });
  CHECK(dev.train_engine() == "an engine made at the first step");
  std::ostringstream log;
  while (!cpu.finished()) cpu.run_epoch(&log);
  while (!dev.finished()) dev.run_epoch(&log);
  CHECK(dev.train_engine() == "the host twin");
  REQUIRE(cpu.history().size() == dev.history().size());
  for (std::size_t e = 0; e < cpu.history().size(); ++e) {
    CAPTURE(e);
    const auto& a = cpu.history()[e];
    const auto& b = dev.history()[e];
    CHECK(b.train_loss == doctest::Approx(a.train_loss).epsilon(1e-3));
    CHECK(b.train_accuracy == doctest::Approx(a.train_accuracy).epsilon(1e-2));
    CHECK(std::fabs(b.val_accuracy - a.val_accuracy) <= 2.0 / 64);  // eval_images: a flip or two
    CHECK(b.derived == a.derived);
  }
  cpu.final_hardware();
  dev.final_hardware();
  std::ostringstream da, db;
  da << cpu.derived() << " " << cpu.accel();
  db << dev.derived() << " " << dev.accel();
  CHECK(db.str() == da.str());
  const auto ac = cpu.net().arch_parameters(), ad = dev.net().arch_parameters();
  for (std::size_t k = 0; k < ac.size(); ++k)
    for (std::int64_t i = 0; i < ac[k]->value.size(); ++i) CHECK(ad[k]->value[i] == doctest::Approx(ac[k]->value[i]).epsilon(1e-3));
}

}  // namespace

TEST_CASE("the joint search through the engine seam (host twin) is the CPU's search: CSQ and all channels") {
  check_same_search(quick_settings(50));
  check_same_search(quick_settings(0));
}
