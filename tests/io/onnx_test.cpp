// Tests of jaq/io/onnx.hpp: a small derived network with every kind of block (expand, grouped
// project with a shuffle, residual, skip with a conv, identity) exported and read back: it passes
// ONNX's checker, each quantized layer has its Q/DQ pair and int8 weight codes on its grid, the
// metadata names the version and settings. (Its numbers against ONNX Runtime:
// tests/io/onnx_runtime_test.sh.)
#include "jaq/io/onnx.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>

#include "jaq/data/dataset.hpp"
#include "jaq/nn/training.hpp"
#include "jaq/optim/sgd.hpp"

namespace {

jaq::nas::space_config tiny_space() {
  jaq::nas::space_config s;
  s.name = "tiny";
  s.in_channels = 1;
  s.image_size = 8;
  s.classes = 3;
  s.stem_channels = 8;
  s.stage_channels = {8, 12};
  s.stage_blocks = {2, 2};
  s.stage_strides = {1, 2};
  s.head_channels = 16;
  s.ops = {"k3_e3", "k3_e1_g2", "k5_e1", "skip"};
  s.bits = {2, 3, 4};
  s.fixed_bits = 8;
  return s;
}

}  // namespace

TEST_CASE("a derived network exports to a checked ONNX model with Q/DQ around every quantized layer") {
  const auto sp = tiny_space();
  jaq::rng gen(3);
  // blocks: 8->8 residual expand, 8->8 grouped residual (shuffle), 8->12 stride-2 skip (a conv), 12->12 identity skip
  jaq::nas::derived_net<float> net(sp, {.ops = {"k3_e3", "k3_e1_g2", "skip", "skip"}, .bits = {2, 3, 4, 4}}, gen);
  jaq::quant::quantized_model<float> q(net, {.method = jaq::quant::method::lsq,
                                             .first_bits = 8,
                                             .last_bits = 8,
                                             .layer_bits = net.layer_bits(),
                                             .layer_act_bits = net.layer_act_bits()});
  CHECK_THROWS_WITH_AS(jaq::io::to_onnx(net, q, {.mean = {0.5f}, .stddev = {0.25f}}), doctest::Contains("not initialised"),
                       jaq::config_error);
  // one training step initialises every activation step
  jaq::data::dataset ds;
  ds.name = "toy";
  ds.shape = {.channels = 1, .height = 8, .width = 8};
  ds.num_classes = 3;
  jaq::rng dg(5);
  for (int i = 0; i < 16; ++i) {
    ds.labels.push_back(i % 3);
    for (int k = 0; k < 64; ++k) ds.images.push_back(float(dg.uniform(-1, 1)));  // as normalised images: signed
  }
  jaq::data::batch_iterator it(ds, {.batch_size = 16}, dg);
  jaq::data::batch b;
  REQUIRE(it.next(b));
  jaq::optim::sgd<float> opt(q.parameters(net.parameters()), {.lr = 0.01});
  jaq::tape<float> tp({.threads = 1});
  jaq::nn::train_step(net, opt, tp, b, 0);

  const auto m = jaq::io::to_onnx(net, q, {.mean = {0.5f}, .stddev = {0.25f}}, {.settings = "unit test 7"});
  const auto path = std::filesystem::path(std::getenv("TEST_TMPDIR") ? std::getenv("TEST_TMPDIR") : "/tmp") / "tiny.onnx";
  jaq::io::write_onnx(path, m);
  const auto r = jaq::io::read_onnx(path);
  CHECK(r.SerializeAsString() == m.SerializeAsString());
  CHECK(r.opset_import(0).version() == 13);
  CHECK(r.producer_name() == "jaq");
  std::map<std::string, std::string> meta;
  for (const auto& p : r.metadata_props()) meta[p.key()] = p.value();
  CHECK(meta["jaq_version"] == jaq::version_string);
  CHECK(meta["settings"] == "unit test 7");

  std::map<std::string, int> ops;
  for (const auto& n : r.graph().node()) ++ops[n.op_type()];
  const auto quants = q.layers();
  const int layers = int(quants.size());
  // stem, 2 + 2 convs in the two MBConvs... count what the net has
  int convs = 0;
  for (const auto& s : net.sites()) convs += s.layer->name != "fc";
  CHECK(ops["Conv"] == convs);
  CHECK(ops["Gemm"] == 1);
  CHECK(ops["QuantizeLinear"] == layers);
  CHECK(ops["DequantizeLinear"] == 2 * layers);  // input and weight of each
  CHECK(ops["Add"] == 2);                        // the two residual blocks
  CHECK(ops["Transpose"] == 1);                  // the grouped block's shuffle
  int low = 0;
  for (const auto& lq : quants) low += lq.abits < 8;
  CHECK(ops["Clip"] == low);  // only grids narrower than their 8-bit container are clipped
  CHECK(low > 0);

  // weight codes are int8 on each layer's grid, and dequantize with its steps
  std::map<std::string, const onnx::TensorProto*> init;
  for (const auto& t : r.graph().initializer()) init[t.name()] = &t;
  for (const auto& lq : quants) {
    const auto* codes = init.at(lq.name + ".weight_codes");
    CHECK(codes->data_type() == onnx::TensorProto::INT8);
    const int qn = 1 << (lq.wbits - 1), qp = qn - 1;
    int lo = 0, hi = 0;
    for (int v : codes->int32_data()) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    CHECK(lo >= -qn);
    CHECK(hi <= qp);
    const auto* zp = init.at(lq.name + ".input_zero_point");
    CHECK(zp->data_type() == (lq.act_signed ? onnx::TensorProto::INT8 : onnx::TensorProto::UINT8));
    CHECK(init.at(lq.name + ".input_scale")->float_data(0) == lq.s_a->value[0]);
  }
  CHECK(init.at("stem.input_zero_point")->data_type() == onnx::TensorProto::INT8);  // a signed input: int8 codes
  CHECK(init.at("fc.input_zero_point")->data_type() == onnx::TensorProto::UINT8);   // after the head's ReLU: uint8
}
