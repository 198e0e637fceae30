// kernels/detail/csq_stack.hpp: one element of CSQ's stacked convolution operands, shared by the
// CUDA kernels (kernels/csq.cu) and their host twin (tests/kernels/csq_stack_test.cpp).
//
// jaq/nas/mixed_conv.hpp writes a CSQ search layer as ONE convolution over a stacked input
//     X~ = [x_U ; Qa_b1(x_S) ; Qa_b2(x_S) ; ...]   (the unselected channels, then the selected
//                                                  ones once per active width b)
// with the stacked weight
//     W~ = [sum_b p_b Qw_b(w)[:, U] ; p_b1 Qw_b1(w)[:, S] ; p_b2 Qw_b2(w)[:, S] ; ...].
// These functions give one element of the quantized part of X~ and one element of W~, with the
// CPU's operations in the CPU's order (LSQ's scalar definition; the products p_b * w_hat and the
// sum over the active widths in their order), so the device's operands equal the CPU's bit for
// bit. One width per candidate drives both weights and activations (the `pw`-less form).
#pragma once

#include <cstdint>

#include "jaq/config.hpp"
#include "jaq/quant/grid.hpp"
#include "jaq/quant/lsq.hpp"

namespace jaq::cuda {

/// One channel of the stacked input: input channel `source` at candidate `candidate` (an index
/// into the candidate widths), or unquantized (candidate -1).
struct csq_channel {
  std::int64_t source = 0;
  std::int32_t candidate = -1;
};

/// The shapes of one CSQ convolution's stacking. x is (C, plane) (plane = N H W), w is
/// (Co, cin_w, kk) with cin_w = C (dense) or 1 (depthwise, C = Co). The stack has `cs` channels,
/// the first `nu` unquantized.
struct csq_shape {
  std::int64_t plane = 0, co = 0, cin_w = 0, kk = 0, cs = 0, nu = 0;
  bool depthwise = false;
  /// Elements of the quantized part of X~ ((cs - nu) planes) and of W~.
  JAQ_HOST_DEVICE std::int64_t q_size() const { return (cs - nu) * plane; }
  JAQ_HOST_DEVICE std::int64_t w_size() const { return depthwise ? cs * kk : co * cs * kk; }
};

namespace detail {

/// Element i of the quantized part of X~ (stacked channel nu + i / plane): Qa_b(x[source]) with
/// the activation step s_a[b] (one per candidate) on grid a_grid[b].
JAQ_HOST_DEVICE inline float csq_input_element(const csq_shape& sh, const float* x, const csq_channel* stack, const float* s_a,
                                               const quant::qrange* a_grid, std::int64_t i) {
  const std::int64_t j = sh.nu + i / sh.plane;
  const csq_channel c = stack[j];
  const float s = s_a[c.candidate];
  return quant::lsq_value(x[c.source * sh.plane + i % sh.plane], s, a_grid[c.candidate].q_n, a_grid[c.candidate].q_p);
}

/// Element d of W~ (storage order: dense (co, cs, kk), depthwise (cs, 1, kk)). s_w is
/// (candidates, co), w_grid the weight grid of each candidate; p the candidates' mixture
/// weights, `active` the candidates with p != 0, in order.
JAQ_HOST_DEVICE inline float csq_weight_element(const csq_shape& sh, const float* w, const csq_channel* stack, const float* s_w,
                                                const quant::qrange* w_grid, const float* p, const std::int32_t* active,
                                                std::int32_t n_active, std::int64_t d) {
  const std::int64_t t = d % sh.kk;
  const std::int64_t j = (d / sh.kk) % sh.cs;
  const std::int64_t o = sh.depthwise ? stack[j].source : d / (sh.kk * sh.cs);
  const csq_channel c = stack[j];
  const std::int64_t src = sh.depthwise ? c.source * sh.kk + t : (o * sh.cin_w + c.source) * sh.kk + t;
  auto hat = [&](std::int32_t b) { return quant::lsq_value(w[src], s_w[b * sh.co + o], w_grid[b].q_n, w_grid[b].q_p); };
  if (c.candidate >= 0) return p[c.candidate] * hat(c.candidate);
  float v = 0;
  for (std::int32_t k = 0; k < n_active; ++k) v += p[active[k]] * hat(active[k]);
  return v;
}

}  // namespace detail
}  // namespace jaq::cuda
