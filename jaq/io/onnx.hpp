// jaq/io/onnx.hpp: a trained network as an ONNX model: the search's retrained derived network
// (jaq::nas::derived_net, LSQ-quantized at its searched widths), or small-cnn and mbconv-small
// as //examples:train trains them (LSQ-quantized or full precision). Written with ONNX's own
// protobuf classes (Debian's libonnx-dev) rather than an encoder of our own.
//
// The graph, opset 13:
//   images float32 (N, C, H, W) in [0, 1]  ->  Sub(mean) -> Mul(1/std)      (the normalisation)
//   every quantized conv / linear: its input through Clip -> QuantizeLinear -> DequantizeLinear
//     (scale = the LSQ activation step, zero point 0, uint8 for a non-negative input and int8
//     otherwise; the Clip to [-Q_N s, Q_P s] is what makes an 8-bit container hold a 2-7 bit
//     grid), its weight as int8 codes -> DequantizeLinear (per output channel, axis 0, scale =
//     the LSQ weight steps), then Conv (or Gemm with transB for the classifier)
//   BatchNormalization (running statistics, epsilon as trained) -> Relu where jaq fuses one
//   channel shuffle as Reshape -> Transpose -> Reshape, residual Add, GlobalAveragePool ->
//   Flatten -> the classifier  ->  logits float32 (N, classes)
// The codes are jaq's: round half to even of clip(x / s), as ONNX's QuantizeLinear rounds, so
// the model computes jaq's fake-quant forward in float. The model carries the jaq version, the
// settings that made it and the units in its metadata.
//
//   auto m = jaq::io::to_onnx(net, quant, jaq::data::fashion_mnist_normalization(),
//                             {.settings = "search --preset fmnist --seed 1"});
//   jaq::io::write_onnx("model.onnx", m);   // checked by onnx::checker, written atomically
#pragma once

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "jaq/core/atomic_file.hpp"
#include "jaq/core/error.hpp"
#include "jaq/data/normalize.hpp"
#include "jaq/nas/derived_net.hpp"
#include "jaq/nn/mbconv_small.hpp"
#include "jaq/nn/small_cnn.hpp"
#include "jaq/quant/bit_set.hpp"
#include "jaq/quant/grid.hpp"
#include "jaq/quant/integer_model.hpp"
#include "jaq/quant/quantize_model.hpp"
#include "jaq/report/csv.hpp"
#include "jaq/version.hpp"

namespace jaq::io {

struct onnx_options {
  std::string settings;     ///< what made the model (command line, preset, seed): metadata
  std::int64_t opset = 13;  ///< 13 or later: per-axis DequantizeLinear
  std::string input_name = "images";
  std::string output_name = "logits";
};

namespace detail {

/// Adds nodes and initializers to a graph under unique names.
class graph_builder {
 public:
  explicit graph_builder(::onnx::GraphProto& g) : g_(g) {}

  std::string floats(const std::string& name, const std::vector<std::int64_t>& dims, const float* v, std::int64_t n) {
    auto* t = init(name, dims, ::onnx::TensorProto::FLOAT);
    t->mutable_float_data()->Add(v, v + n);
    return name;
  }
  std::string scalar(const std::string& name, float v) { return floats(name, {}, &v, 1); }
  std::string int64s(const std::string& name, const std::vector<std::int64_t>& v) {
    auto* t = init(name, {static_cast<std::int64_t>(v.size())}, ::onnx::TensorProto::INT64);
    for (auto x : v) t->add_int64_data(x);
    return name;
  }
  /// int8 or uint8 values (ONNX stores both in int32_data).
  std::string bytes(const std::string& name, const std::vector<std::int64_t>& dims, const std::vector<int>& v, bool is_signed) {
    auto* t = init(name, dims, is_signed ? ::onnx::TensorProto::INT8 : ::onnx::TensorProto::UINT8);
    for (int x : v) t->add_int32_data(x);
    return name;
  }

  ::onnx::NodeProto& node(const std::string& op, const std::vector<std::string>& in, const std::string& out, const std::string& name) {
    auto* n = g_.add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (const auto& i : in) n->add_input(i);
    n->add_output(out);
    return *n;
  }
  static void attr(::onnx::NodeProto& n, const std::string& key, std::int64_t v) {
    auto* a = n.add_attribute();
    a->set_name(key);
    a->set_type(::onnx::AttributeProto::INT);
    a->set_i(v);
  }
  static void attr(::onnx::NodeProto& n, const std::string& key, float v) {
    auto* a = n.add_attribute();
    a->set_name(key);
    a->set_type(::onnx::AttributeProto::FLOAT);
    a->set_f(v);
  }
  static void attr(::onnx::NodeProto& n, const std::string& key, const std::vector<std::int64_t>& v) {
    auto* a = n.add_attribute();
    a->set_name(key);
    a->set_type(::onnx::AttributeProto::INTS);
    for (auto x : v) a->add_ints(x);
  }

 private:
  ::onnx::TensorProto* init(const std::string& name, const std::vector<std::int64_t>& dims, int type) {
    auto* t = g_.add_initializer();
    t->set_name(name);
    t->set_data_type(type);
    for (auto d : dims) t->add_dims(d);
    return t;
  }
  ::onnx::GraphProto& g_;
};

/// A tensor's shape as ONNX dims.
inline std::vector<std::int64_t> dims_of(const tensor<float>& t) {
  std::vector<std::int64_t> d;
  for (int i = 0; i < t.shape().rank; ++i) d.push_back(t.shape()[i]);
  return d;
}

/// Writes `net` (its forward, layer for layer) into a graph.
class onnx_writer {
 public:
  using layer_quant = typename quant::quantized_model<float>::layer_quant;

  /// `q` null: a full-precision model (plain Conv and Gemm, float weights).
  onnx_writer(::onnx::GraphProto& g, const quant::quantized_model<float>* q) : b_(g) {
    if (q) quants_ = q->layers();
  }

  /// The input of a quantized layer, fake-quantized as jaq does: Clip, QuantizeLinear, DequantizeLinear.
  std::string quantize_input(const std::string& x, const layer_quant& lq) {
    const float s = lq.s_a->value[0];
    const bool sgn = lq.act_signed;
    const quant::qrange g = quant::qrange::of(lq.abits, sgn, lq.name + ".input");
    const int qn = g.q_n, qp = g.q_p;
    std::string in = x;
    if (lq.abits < 8) {  // an 8-bit container saturates to its own range only
      const std::string lo = b_.scalar(lq.name + ".input_min", -float(qn) * s), hi = b_.scalar(lq.name + ".input_max", float(qp) * s);
      in = lq.name + ".input_clipped";
      b_.node("Clip", {x, lo, hi}, in, lq.name + ".input_clip");
    }
    const std::string scale = b_.scalar(lq.name + ".input_scale", s);
    const std::string zp = b_.bytes(lq.name + ".input_zero_point", {}, {0}, sgn);
    b_.node("QuantizeLinear", {in, scale, zp}, lq.name + ".input_codes", lq.name + ".input_quantize");
    b_.node("DequantizeLinear", {lq.name + ".input_codes", scale, zp}, lq.name + ".input_fq", lq.name + ".input_dequantize");
    return lq.name + ".input_fq";
  }

  /// The weight of a quantized layer as int8 codes and a DequantizeLinear (per output channel).
  std::string quantize_weight(const tensor<float>& w, const layer_quant& lq) {
    const auto& sw = lq.s_w->value;
    const std::int64_t steps = sw.size();
    std::vector<int> codes(static_cast<std::size_t>(w.size()));
    quant::with_grid(lq.wbits, true, lq.name + ".weight", [&](auto grid) {
      using G = decltype(grid);
      const auto c = quant::detail::lsq_integer_codes<G>(tbb_backend{1}, w.data(), sw.data(), w.size(), w.size() / steps);
      for (std::size_t i = 0; i < c.size(); ++i) codes[i] = c[i];
    });
    const std::string wc = b_.bytes(lq.name + ".weight_codes", dims_of(w), codes, true);
    const bool per_channel = steps > 1;
    const std::string scale =
        per_channel ? b_.floats(lq.name + ".weight_scale", {steps}, sw.data(), steps) : b_.scalar(lq.name + ".weight_scale", sw[0]);
    const std::string zp =
        b_.bytes(lq.name + ".weight_zero_point", per_channel ? std::vector<std::int64_t>{steps} : std::vector<std::int64_t>{},
                 std::vector<int>(static_cast<std::size_t>(steps), 0), true);
    auto& n = b_.node("DequantizeLinear", {wc, scale, zp}, lq.name + ".weight_fq", lq.name + ".weight_dequantize");
    if (per_channel) graph_builder::attr(n, "axis", std::int64_t{0});
    return lq.name + ".weight_fq";
  }

  std::string conv(const std::string& x, const nn::conv2d<float>& c) {
    const layer_quant* lq = quant_of(c.name);
    const std::string xin = lq ? quantize_input(x, *lq) : x;
    const std::string w = lq ? quantize_weight(c.weight.value, *lq) : weight(c.name, c.weight.value);
    const auto& s = c.spec;
    auto& n = b_.node("Conv", {xin, w}, c.name + ".out", c.name);
    graph_builder::attr(n, "kernel_shape", std::vector<std::int64_t>{s.kernel, s.kernel});
    graph_builder::attr(n, "strides", std::vector<std::int64_t>{s.stride, s.stride});
    graph_builder::attr(n, "pads", std::vector<std::int64_t>{s.padding, s.padding, s.padding, s.padding});
    graph_builder::attr(n, "group", s.groups);
    return c.name + ".out";
  }

  std::string batch_norm(const std::string& x, const nn::batch_norm<float>& bn) {
    const std::int64_t c = bn.channels();
    const std::string g = b_.floats(bn.name + ".gamma", {c}, bn.gamma.value.data(), c);
    const std::string be = b_.floats(bn.name + ".beta", {c}, bn.beta.value.data(), c);
    const std::string m = b_.floats(bn.name + ".running_mean", {c}, bn.state.running_mean.data(), c);
    const std::string v = b_.floats(bn.name + ".running_var", {c}, bn.state.running_var.data(), c);
    auto& n = b_.node("BatchNormalization", {x, g, be, m, v}, bn.name + ".out", bn.name);
    graph_builder::attr(n, "epsilon", static_cast<float>(bn.eps));
    std::string y = bn.name + ".out";
    if (bn.activation == fused_activation::relu) {
      b_.node("Relu", {y}, bn.name + ".relu", bn.name + ".relu");
      y = bn.name + ".relu";
    } else if (bn.activation == fused_activation::relu6) {
      const std::string lo = b_.scalar(bn.name + ".relu6_min", 0.0f), hi = b_.scalar(bn.name + ".relu6_max", 6.0f);
      b_.node("Clip", {y, lo, hi}, bn.name + ".relu6", bn.name + ".relu6");
      y = bn.name + ".relu6";
    }
    return y;
  }

  /// channel j * groups + i <- channel i * k + j (jaq::channel_shuffle), in NCHW.
  std::string shuffle(const std::string& x, const std::string& name, std::int64_t groups, std::int64_t channels, std::int64_t side) {
    const std::string s1 = b_.int64s(name + ".shape_split", {0, groups, channels / groups, -1});
    b_.node("Reshape", {x, s1}, name + ".split", name + ".split");
    auto& t = b_.node("Transpose", {name + ".split"}, name + ".swapped", name + ".transpose");
    graph_builder::attr(t, "perm", std::vector<std::int64_t>{0, 2, 1, 3});
    const std::string s2 = b_.int64s(name + ".shape_merge", {0, channels, side, side});
    b_.node("Reshape", {name + ".swapped", s2}, name + ".out", name + ".merge");
    return name + ".out";
  }

  std::string block(const std::string& x, const nas::candidate_op<float>& op, const std::string& name) {
    if (op.identity()) return x;
    const auto& convs = op.convs();
    const auto bns = op.batch_norms();
    if (op.spec.skip) return batch_norm(conv(x, *convs[0].conv), *bns[0]);
    std::string h = x;
    std::size_t k = 0;
    if (op.spec.expansion != 1) {
      h = batch_norm(conv(h, *convs[k].conv), *bns[k]);
      ++k;
    }
    h = batch_norm(conv(h, *convs[k].conv), *bns[k]);
    ++k;
    if (op.spec.groups > 1) h = shuffle(h, name + ".shuffle", op.spec.groups, convs[k].conv->spec.in_channels, op.geom.out_size);
    h = batch_norm(conv(h, *convs[k].conv), *bns[k]);
    if (!op.residual()) return h;
    b_.node("Add", {h, x}, name + ".out", name + ".residual");
    return name + ".out";
  }

  std::string classifier(const std::string& x, const nn::linear<float>& fc) {
    const layer_quant* lq = quant_of(fc.name);
    const std::string xin = lq ? quantize_input(x, *lq) : x;
    const std::string w = lq ? quantize_weight(fc.weight.value, *lq) : weight(fc.name, fc.weight.value);
    const std::int64_t o = fc.spec.out_features;
    const std::string bias = b_.floats(fc.name + ".bias", {o}, fc.bias.value.data(), o);
    auto& n = b_.node("Gemm", {xin, w, bias}, fc.name + ".out", fc.name);
    graph_builder::attr(n, "transB", std::int64_t{1});
    return fc.name + ".out";
  }

  /// One MBConv block of mbconv-small (jaq/nn/mbconv.hpp).
  std::string block(const std::string& x, const nn::mbconv_block<float>& blk, const std::string& name) {
    std::string h = x;
    if (blk.expand) h = batch_norm(conv(h, *blk.expand), *blk.expand_bn);
    h = batch_norm(conv(h, blk.depthwise), blk.depthwise_bn);
    h = batch_norm(conv(h, blk.project), blk.project_bn);
    if (!blk.residual()) return h;
    b_.node("Add", {h, x}, name + ".out", name + ".residual");
    return name + ".out";
  }

  std::string pooled_classifier(const std::string& x, const nn::linear<float>& fc) {
    b_.node("GlobalAveragePool", {x}, "pooled", "global_avg_pool");
    auto& f = b_.node("Flatten", {"pooled"}, "features", "flatten");
    graph_builder::attr(f, "axis", std::int64_t{1});
    return classifier("features", fc);
  }

  /// The whole forward of each model jaq has, from the normalised input; returns the logits'
  /// name. Each follows its model's forward() op for op.
  std::string network(const std::string& x0, const nas::derived_net<float>& net) {
    std::string x = batch_norm(conv(x0, net.stem()), net.stem_bn());
    for (const auto& op : net.blocks()) x = block(x, *op, "blocks." + std::to_string(op->geom.index));
    x = batch_norm(conv(x, net.head()), net.head_bn());
    return pooled_classifier(x, net.fc());
  }
  std::string network(const std::string& x0, const nn::small_cnn<float>& net) {
    std::string x = batch_norm(conv(x0, net.conv1), net.bn1);
    x = batch_norm(conv(x, net.conv2), net.bn2);
    x = batch_norm(conv(x, net.conv3), net.bn3);
    return pooled_classifier(x, net.fc);
  }
  std::string network(const std::string& x0, const nn::mbconv_small<float>& net) {
    std::string x = batch_norm(conv(x0, net.stem), net.stem_bn);
    for (std::size_t i = 0; i < net.blocks.size(); ++i) x = block(x, *net.blocks[i], "blocks." + std::to_string(i));
    x = batch_norm(conv(x, *net.head), *net.head_bn);
    return pooled_classifier(x, *net.fc);
  }

  /// Every quantized layer of the model got its Q/DQ (a quantizer of another model is refused).
  void check_all_used() const {
    for (const auto& lq : quants_)
      if (!used_.count(lq.name))
        throw config_error(lq.name, "quantizer", "quantizes a layer the exported model does not have (another model's quantizer?)");
  }

  graph_builder& builder() { return b_; }

 private:
  /// The layer's quantizer; null for a full-precision model.
  const layer_quant* quant_of(const std::string& layer) {
    if (quants_.empty()) return nullptr;
    for (const auto& lq : quants_)
      if (lq.name == layer) {
        if (lq.act_method != quant::method::lsq || lq.weight_method != quant::method::lsq)
          throw config_error(layer, "method", "ONNX export covers LSQ layers only (the search retrains with LSQ)");
        if (!lq.initialized) throw config_error(layer, "act_step", "not initialised: train (or run a training step) before exporting");
        used_.insert(layer);
        return &lq;
      }
    throw config_error(layer, "quantizer", "layer not quantized: export needs every conv and the classifier quantized, or none");
  }

  /// A full-precision weight as a float initializer.
  std::string weight(const std::string& layer, const tensor<float>& w) {
    return b_.floats(layer + ".weight", dims_of(w), w.data(), w.size());
  }

  graph_builder b_;
  std::vector<layer_quant> quants_;
  std::set<std::string> used_;
};

inline void set_tensor_type(::onnx::ValueInfoProto& v, const std::string& name, const std::vector<std::string>& sym,
                            const std::vector<std::int64_t>& dims) {
  v.set_name(name);
  auto* t = v.mutable_type()->mutable_tensor_type();
  t->set_elem_type(::onnx::TensorProto::FLOAT);
  for (std::size_t i = 0; i < dims.size(); ++i) {
    auto* d = t->mutable_shape()->add_dim();
    if (i < sym.size() && !sym[i].empty())
      d->set_dim_param(sym[i]);
    else
      d->set_dim_value(dims[i]);
  }
}

}  // namespace detail

/// Model `net` with its quantizer `q` (LSQ, every layer initialised; null: full precision) as an
/// ONNX model that takes images in [0, 1] of side `image_size` and normalises them with `norm`
/// itself. The models jaq has are covered: derived networks (jaq::nas::derived_net), small-cnn
/// and mbconv-small. Throws config_error for what it cannot express (another model, another
/// quantizer, an uninitialised step).
inline ::onnx::ModelProto to_onnx(const nn::model<float>& net, const quant::quantized_model<float>* q, std::int64_t image_size,
                                  const data::normalization& norm, const onnx_options& opt = {}) {
  const auto* derived = dynamic_cast<const nas::derived_net<float>*>(&net);
  const auto* cnn = dynamic_cast<const nn::small_cnn<float>*>(&net);
  const auto* mb = dynamic_cast<const nn::mbconv_small<float>*>(&net);
  if (!derived && !cnn && !mb) throw config_error("onnx export", "model", "no ONNX writer for model '" + net.name() + "'");
  const std::int64_t in_channels = derived ? derived->space().in_channels : cnn ? cnn->conv1.spec.in_channels : mb->stem.spec.in_channels;
  const std::int64_t classes = derived ? derived->space().classes : cnn ? cnn->fc.spec.out_features : mb->fc->spec.out_features;
  if (opt.opset < 13) throw config_error("onnx export", "opset", std::to_string(opt.opset) + " (13 or later: per-axis DequantizeLinear)");
  if (image_size < 1) throw config_error("onnx export", "image_size", "must be >= 1");
  if (norm.mean.size() != std::size_t(in_channels) || norm.stddev.size() != std::size_t(in_channels))
    throw config_error("onnx export", "normalization", "expected " + std::to_string(in_channels) + " channel(s) of mean and std");
  ::onnx::ModelProto m;
  m.set_ir_version(7);
  m.set_producer_name("jaq");
  m.set_producer_version(version_string);
  m.set_model_version(1);
  m.set_doc_string("jaq " + std::string(version_string) + ": " + net.name() + (q ? ", LSQ-quantized at its widths" : ", full precision") +
                   ". Input: float32 images (N, C, H, W) scaled to [0, 1] (the graph normalises them). Output: logits (N, classes). " +
                   "Settings: " + opt.settings);
  auto* ops = m.add_opset_import();
  ops->set_domain("");
  ops->set_version(opt.opset);
  auto meta = [&](const std::string& k, const std::string& v) {
    auto* p = m.add_metadata_props();
    p->set_key(k);
    p->set_value(v);
  };
  meta("jaq_version", version_string);
  meta("model", net.name());
  meta("settings", opt.settings);
  meta("input", opt.input_name + ": float32 (N, " + std::to_string(in_channels) + ", " + std::to_string(image_size) + ", " +
                    std::to_string(image_size) + "), pixels scaled to [0, 1]");
  meta("output", opt.output_name + ": float32 (N, " + std::to_string(classes) + ") logits");
  std::string widths;
  if (q)
    for (const auto& lq : q->layers())
      widths += (widths.empty() ? "" : ", ") + lq.name + "=" + std::to_string(lq.wbits) + "/" + std::to_string(lq.abits);
  meta("widths_bits_weight_activation", q ? widths : std::string("full precision (float32)"));

  auto* g = m.mutable_graph();
  g->set_name("jaq_" + net.name());
  detail::set_tensor_type(*g->add_input(), opt.input_name, {"N"}, {0, in_channels, image_size, image_size});
  detail::onnx_writer w(*g, q);
  auto& b = w.builder();
  std::vector<float> inv(norm.stddev.size());
  for (std::size_t c = 0; c < inv.size(); ++c) inv[c] = 1.0f / norm.stddev[c];  // as jaq::data::normalize computes it
  b.floats("normalize.mean", {1, in_channels, 1, 1}, norm.mean.data(), in_channels);
  b.floats("normalize.inv_std", {1, in_channels, 1, 1}, inv.data(), in_channels);
  b.node("Sub", {opt.input_name, "normalize.mean"}, "centred", "normalize.sub");
  b.node("Mul", {"centred", "normalize.inv_std"}, "normalized", "normalize.mul");
  const std::string logits = derived ? w.network("normalized", *derived)
                             : cnn   ? w.network("normalized", *cnn)
                                     : w.network("normalized", *mb);
  w.check_all_used();
  b.node("Identity", {logits}, opt.output_name, "output");
  detail::set_tensor_type(*g->add_output(), opt.output_name, {"N"}, {0, classes});
  try {
    ::onnx::checker::check_model(m);
  } catch (const std::exception& e) {
    throw error("onnx export: the model fails ONNX's checker: " + std::string(e.what()));
  }
  return m;
}

/// A retrained derived network (the search's result) with its quantizer.
inline ::onnx::ModelProto to_onnx(const nas::derived_net<float>& net, const quant::quantized_model<float>& q,
                                  const data::normalization& norm, const onnx_options& opt = {}) {
  return to_onnx(net, &q, net.space().image_size, norm, opt);
}

/// jaq's own predictions of `net` on `ds` (evaluation mode, the fake-quant forward if a quantizer
/// is installed) as CSV `index,label,prediction`, written atomically: what tools/onnx_check.py
/// compares a runtime's predictions with. Leaves `net` in evaluation mode.
inline void write_predictions_csv(const std::filesystem::path& path, nn::model<float>& net, const data::dataset& ds,
                                  const nn::eval_options& o = {}) {
  net.set_training(false);
  const auto pred = quant::detail::predict_all(net, ds, o);
  std::ostringstream csv;
  report::csv_writer w(csv, {"index", "label", "prediction"});
  for (std::size_t i = 0; i < pred.size(); ++i) w.row(static_cast<std::int64_t>(i), ds.labels[i], pred[i]);
  write_file_atomic(path, csv.str());
}

/// Writes `m` to `path` atomically.
inline void write_onnx(const std::filesystem::path& path, const ::onnx::ModelProto& m) {
  std::string bytes;
  if (!m.SerializeToString(&bytes)) throw data_error(path.string(), "cannot serialise the ONNX model");
  write_file_atomic(path, bytes);
}

/// Reads an ONNX model (for tests and tools).
inline ::onnx::ModelProto read_onnx(const std::filesystem::path& path) {
  ::onnx::ModelProto m;
  const std::string bytes = read_file(path);
  if (!m.ParseFromString(bytes)) throw data_error(path.string(), "not an ONNX model (protobuf parse failed)");
  return m;
}

}  // namespace jaq::io
