// Shared by the tests of the device training program's search ops (train_search_test on the
// CPU, against jaq's engine; gpu_test on a GPU, device against host twin): parameters with values
// in the trainer's order, mixed_conv widths, and a block-like search net of two sampled operators.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "jaq/autograd/parameter.hpp"
#include "jaq/core/rng.hpp"
#include "jaq/quant/grid.hpp"
#include "kernels/detail/train_net.hpp"
#include "tests/kernels/train_cases.hpp"

namespace jaq_test {

namespace tr = jaq::cuda::train;

inline const std::vector<int> kBits{2, 3, 4, 8};

/// Parameters with values, shared by both sides: the tape reads them in place, the trainer
/// gets them flattened in the same order.
struct param_set {
  std::vector<jaq::parameter<float>> ps;
  std::vector<float> flat() const {
    std::vector<float> f;
    for (const auto& p : ps) f.insert(f.end(), p.value.begin(), p.value.end());
    return f;
  }
  int add(tr::net& nt, const std::string& name, jaq::shape s, bool is_step = false) {
    ps.push_back({.name = name, .value = jaq::tensor<float>(s), .grad = {}});
    nt.params.push_back({.name = name, .size = s.numel(), .is_step = is_step});
    return int(ps.size()) - 1;
  }
};

/// The widths of a mixed_conv over kBits with steps added to `s` (signed input grids).
inline std::vector<tr::width_quant> add_widths(tr::net& nt, param_set& s, const std::string& name, std::int64_t co, jaq::rng& r) {
  std::vector<tr::width_quant> out;
  for (int b : kBits) {
    const auto g = jaq::quant::qrange::of(b, true, "g");
    const int sa = s.add(nt, name + ".act_step." + std::to_string(b) + "b", {1}, true);
    const int sw = s.add(nt, name + ".weight_step." + std::to_string(b) + "b", {co}, true);
    s.ps[std::size_t(sa)].value[0] = float(2.0 / std::sqrt(double(g.q_p)) * (1 + 0.1 * r.uniform()));
    for (auto& v : s.ps[std::size_t(sw)].value) v = float(0.8 / std::sqrt(double(g.q_p)) * (1 + 0.1 * r.uniform()));
    out.push_back({.a_qn = g.q_n, .a_qp = g.q_p, .w_qn = g.q_n, .w_qp = g.q_p, .s_a = sa, .s_w = sw});
  }
  return out;
}

/// Operator A (a mixed 1x1 conv over kBits with a CSQ mask, BN+ReLU, channel shuffle) trained;
/// operator B (3x3 conv, BN) forward only, weighted 0 in value; operator C (1x1 conv) skipped;
/// A and B mixed straight through ({1, 0} at mixture[7..8]) with the operator weights at
/// mixture[0..2] (A is index 2, B 0), A's widths' at mixture[3..6]. Then pool and linear.
struct search_block {
  static constexpr std::int64_t c = 4, h = 6, classes = 5;
  tr::net nt;
  param_set s;
  std::vector<tr::width_quant> widths;
  int pre = 0, aw = 0, ag = 0, ab = 0, bw = 0, bg = 0, bb = 0, cw = 0, fcw = 0, fcb = 0;
  std::vector<float> op_p{0.3f, 0.0f, 0.7f}, width_p{0.1f, 0.2f, 0.3f, 0.4f};
  std::vector<std::int32_t> selected{1, 2};

  tr::step_plan plan() const {
    tr::step_plan pl{.mixture = op_p, .run = std::vector<tr::run_mode>(nt.ops.size(), tr::run_mode::train)};
    pl.mixture.insert(pl.mixture.end(), width_p.begin(), width_p.end());
    pl.mixture.insert(pl.mixture.end(), {1.0f, 0.0f});
    pl.run[4] = pl.run[5] = tr::run_mode::forward;
    pl.run[6] = tr::run_mode::skip;
    return pl;
  }
  /// Fresh running statistics of the two batch norms.
  std::vector<float> running() const {
    std::vector<float> r(4 * std::size_t(c), 0.0f);
    std::fill(r.begin() + c, r.begin() + 2 * c, 1.0f);
    std::fill(r.begin() + 3 * c, r.end(), 1.0f);
    return r;
  }
};

inline search_block make_search_block(jaq::rng& r) {
  search_block sb;
  constexpr std::int64_t c = search_block::c, h = search_block::h, classes = search_block::classes, plane = h * h;
  tr::net& nt = sb.nt;
  param_set& s = sb.s;
  sb.pre = s.add(nt, "pre.w", {c, c, 1, 1});
  sb.aw = s.add(nt, "a.w", {c, c, 1, 1});
  sb.ag = s.add(nt, "a.bn.gamma", {c});
  sb.ab = s.add(nt, "a.bn.beta", {c});
  sb.bw = s.add(nt, "b.w", {c, c, 3, 3});
  sb.bg = s.add(nt, "b.bn.gamma", {c});
  sb.bb = s.add(nt, "b.bn.beta", {c});
  sb.cw = s.add(nt, "c.w", {c, c, 1, 1});
  sb.fcw = s.add(nt, "fc.w", {classes, c});
  sb.fcb = s.add(nt, "fc.b", {classes});
  for (auto& p : s.ps) {
    const bool is_gamma = p.name.find("gamma") != std::string::npos;
    for (auto& v : p.value) v = static_cast<float>(is_gamma ? 1.0 + 0.2 * r.normal() : 0.5 * r.normal());
  }
  sb.widths = add_widths(nt, s, "a", c, r);
  nt.values = std::vector<tr::value>(11, tr::value{c * plane});
  nt.values[9] = {c};
  nt.values[10] = {classes};
  auto conv = [&](int in, int out, int w, std::int64_t k, const std::string& name) {
    return tr::op{.kind = tr::op_kind::conv,
                  .in = in,
                  .out = out,
                  .weight = w,
                  .c_in = c,
                  .c_out = c,
                  .kernel = k,
                  .pad = k / 2,
                  .h = h,
                  .w = h,
                  .oh = h,
                  .ow = h,
                  .name = name};
  };
  auto bn = [&](int in, int out, int g, int b, int stats, tr::activation act) {
    return tr::op{.kind = tr::op_kind::batch_norm,
                  .in = in,
                  .out = out,
                  .weight = g,
                  .bias = b,
                  .stats = stats,
                  .c_in = c,
                  .c_out = c,
                  .h = h,
                  .w = h,
                  .act = act};
  };
  nt.ops.push_back(conv(0, 1, sb.pre, 1, "pre"));  // 0
  tr::op m{.kind = tr::op_kind::mixed_conv,
           .in = 1,
           .out = 2,
           .weight = sb.aw,
           .c_in = c,
           .c_out = c,
           .h = h,
           .w = h,
           .oh = h,
           .ow = h,
           .name = "a"};
  m.mixed = {.widths = sb.widths, .p = 3, .pw = -1, .selected = sb.selected};
  nt.ops.push_back(m);                                                // 1
  nt.ops.push_back(bn(2, 3, sb.ag, sb.ab, 0, tr::activation::relu));  // 2
  nt.ops.push_back({.kind = tr::op_kind::channel_shuffle, .in = 3, .out = 4, .c_in = c, .c_out = c, .groups = 2, .h = h, .w = h});
  nt.ops.push_back(conv(1, 5, sb.bw, 3, "b"));                        // 4
  nt.ops.push_back(bn(5, 6, sb.bg, sb.bb, 1, tr::activation::none));  // 5
  nt.ops.push_back(conv(1, 7, sb.cw, 1, "c"));                        // 6
  nt.ops.push_back({.kind = tr::op_kind::mix, .out = 8, .mix = {.inputs = {4, 6}, .index = {2, 0}, .c = 7, .p = 0}});
  nt.ops.push_back({.kind = tr::op_kind::global_avg_pool, .in = 8, .out = 9, .c_in = c, .c_out = c, .h = h, .w = h});
  nt.ops.push_back({.kind = tr::op_kind::linear, .in = 9, .out = 10, .weight = sb.fcw, .bias = sb.fcb, .c_in = c, .c_out = classes});
  nt.bn_channels = {c, c};
  nt.logits = 10;
  nt.classes = classes;
  nt.mixtures = 3 + 4 + 2;  // the operators' weights, A's widths', the branches' straight-through {1, 0}
  return sb;
}

}  // namespace jaq_test
