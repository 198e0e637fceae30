// kernels/detail/train_program.hpp: one training step of a train::net (forward, cross-entropy,
// backward, SGD), written once over an executor. kernels/train.cu runs it with the CUDA
// executor (kernels launched back to back on one stream, cuBLAS for the GEMMs, nothing copied
// to the host but the loss and the hit count); kernels/detail/host_exec.hpp is the host twin
// that the CPU tests run, against jaq's own engine.
//
// An executor provides:
//   buffer<T>, alloc<T>(n)                        storage (device memory, or a host vector)
//   for_each(n, f)                                f(i) for i in [0, n), in any order
//   row_sums(rows, len, f, out)                   out[r] = sum_i f(r, i), in double, fixed grouping
//   row_max(rows, len, f, out)                    out[r] = max_i f(r, i), in double (len >= 1)
//   gemm(ta, tb, m, n, k, A, lda, B, ldb, C, ldc) C = op(A) op(B), row-major, float
//   zero(p, n), upload(dst, src, n), download(dst, src, n)
// Every element function is JAQ_HOST_DEVICE and captures only scalars and pointers.
//
// What each op computes (the CPU's definitions, docs in kernels/README.md):
//   conv       LSQ, PACT or min/max of x, (*) LSQ, min/max or DoReFa of w: im2col + GEMM per group,
//              or a direct depthwise kernel
//   batch_norm training statistics (biased variance, running: unbiased), fused ReLU/ReLU6
//   add, global_avg_pool, linear (quantized as conv), softmax cross-entropy (mean)
//   mixed_conv a search layer over candidate widths, CSQ's stacked convolution
//              (kernels/detail/train_mixed.hpp); its mixture weights come with the step's plan
//   mix        two sampled operators mixed with straight-through weights; channel_shuffle
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "jaq/config.hpp"
#include "jaq/quant/dorefa.hpp"
#include "jaq/quant/lsq.hpp"
#include "jaq/quant/minmax.hpp"
#include "jaq/quant/pact.hpp"
#include "kernels/detail/train_mixed.hpp"
#include "kernels/detail/train_net.hpp"
#include "kernels/detail/window_taps.hpp"

namespace jaq::cuda::train {

/// A network's whole training state on an executor: parameters, their gradients and momentum in
/// three arenas of the same layout, the forward values and their gradients, running statistics,
/// and per-op saved tensors. Sized for batches of up to max_batch images.
template <class Exec>
struct program {
  template <class T>
  using buffer = typename Exec::template buffer<T>;

  Exec& ex;
  net nt;
  std::int64_t max_batch;
  std::vector<std::int64_t> p_off, v_off, bn_off;  // arena offsets (params, values, bn stats)
  std::int64_t p_total = 0, v_total = 0, bn_total = 0, run_total = 0;
  buffer<float> params, grads, momentum, values, vgrads;
  buffer<float> running;              // each bn's mean then var, then each min/max observer's {seen, lo, hi}
  std::vector<buffer<float>> xq, wq;  // per op: quantized input, weight
  // per op: the quantizers' ranges, in double (exact copies of float extremes): min/max
  // {input lo, hi, then lo, hi per weight row}; DoReFa {M = max |tanh w|, first index reaching it}
  std::vector<buffer<double>> qstat;
  std::vector<buffer<float>> bn_stats;  // per op: mean, 1/std (2 C)
  buffer<float> col, gcol, gxq, gwq;    // scratch shared by the ops
  buffer<double> sums, sums2;           // reduction outputs
  buffer<std::int32_t> labels;
  buffer<double> row_loss;  // per image: loss, hit (2 N)
  // search steps: the mixture arena and its gradients, the mixed_convs' stacking tables (one
  // upload per step, per-op offsets), their masks and this step's stacking on the host, and
  // which parameters a trained op read this step
  buffer<float> mixture, gmixture;
  buffer<float> wst, gwst, gstk, wmix;  // mixed_conv scratch: W~, its gradient, X~'s gradient, W_mix
  buffer<std::int32_t> tables;
  std::vector<std::int64_t> tab_off;
  std::int64_t tab_total = 0;
  std::vector<std::vector<std::int32_t>> masks;
  std::vector<mixed_step> mstep;
  std::vector<char> touched;
  const step_plan* plan_ = nullptr;  // during step()

  program(Exec& e, net n, std::int64_t batch) : ex(e), nt(std::move(n)), max_batch(batch) {
    for (const auto& p : nt.params) {
      p_off.push_back(p_total);
      p_total += p.size;
    }
    for (const auto& v : nt.values) {
      v_off.push_back(v_total);
      v_total += v.per_image * max_batch;
    }
    for (std::int64_t c : nt.bn_channels) {
      bn_off.push_back(bn_total);
      bn_total += 2 * c;
    }
    params = ex.template alloc<float>(p_total);
    grads = ex.template alloc<float>(p_total);
    momentum = ex.template alloc<float>(p_total);
    values = ex.template alloc<float>(v_total);
    vgrads = ex.template alloc<float>(v_total);
    run_total = bn_total + 3 * nt.observers;
    running = ex.template alloc<float>(std::max<std::int64_t>(run_total, 1));
    // every executor starts from zeros (device memory comes uninitialised)
    ex.zero(params.data(), p_total);
    ex.zero(grads.data(), p_total);
    ex.zero(momentum.data(), p_total);
    ex.zero(running.data(), std::max<std::int64_t>(run_total, 1));
    std::int64_t col_max = 1, gx_max = 1, w_max = 1, red_max = 2;  // the loss sums 2 rows
    std::int64_t stack_w_max = 1, stack_x_max = 1;
    for (const op& o : nt.ops) {
      const bool weighted = o.kind == op_kind::conv || o.kind == op_kind::linear;
      const bool mixed = o.kind == op_kind::mixed_conv;
      const std::int64_t in_size = weighted || mixed ? nt.values[o.in].per_image * max_batch : 0;
      const std::int64_t w_size = weighted || mixed ? nt.params[o.weight].size : 0;
      const std::int64_t nb = std::int64_t(o.mixed.widths.size());
      xq.push_back(ex.template alloc<float>(o.q.on ? in_size : mixed ? nb * in_size : 0));  // mixed: X~'s quantized part
      wq.push_back(ex.template alloc<float>(o.q.on ? w_size : 0));
      bn_stats.push_back(ex.template alloc<float>(o.kind == op_kind::batch_norm ? 2 * o.c_in : 0));
      qstat.push_back(ex.template alloc<double>(o.q.on ? 2 + 2 * o.c_out : 0));
      tab_off.push_back(tab_total);
      masks.push_back(o.mixed.selected);
      if (mixed) {
        const mixed_layout L = mixed_layout::of(o);
        tab_total += L.size();
        const std::int64_t kk = o.kernel * o.kernel;
        const bool dw = o.groups > 1;
        col_max = std::max(col_max, L.cs_max * kk * max_batch * o.oh * o.ow);
        gx_max = std::max(gx_max, in_size);
        w_max = std::max(w_max, w_size);
        stack_w_max = std::max(stack_w_max, dw ? L.cs_max * kk : o.c_out * L.cs_max * kk);
        stack_x_max = std::max(stack_x_max, L.cs_max * o.h * o.w * max_batch);
        red_max = std::max({red_max, o.c_out, L.cs_max * kk, nb});
      } else if (o.kind == op_kind::conv) {
        col_max = std::max(col_max, o.c_in * o.kernel * o.kernel * max_batch * o.oh * o.ow);
        gx_max = std::max(gx_max, in_size);
        w_max = std::max(w_max, w_size);
        red_max = std::max({red_max, o.c_out, o.c_in * o.kernel * o.kernel});
      } else if (o.kind == op_kind::linear) {
        gx_max = std::max(gx_max, in_size);
        w_max = std::max(w_max, w_size);
        red_max = std::max(red_max, o.c_out);
      } else if (o.kind == op_kind::batch_norm) {
        red_max = std::max(red_max, o.c_in);
      } else if (o.kind == op_kind::global_avg_pool) {
        red_max = std::max(red_max, o.c_in * max_batch);
      }
    }
    col = ex.template alloc<float>(col_max);
    gcol = ex.template alloc<float>(col_max);
    gxq = ex.template alloc<float>(gx_max);
    gwq = ex.template alloc<float>(w_max);
    sums = ex.template alloc<double>(red_max);
    sums2 = ex.template alloc<double>(red_max);
    labels = ex.template alloc<std::int32_t>(max_batch);
    row_loss = ex.template alloc<double>(2 * max_batch);
    const std::int64_t mix_n = std::max<std::int64_t>(nt.mixtures, 1);
    mixture = ex.template alloc<float>(mix_n);
    gmixture = ex.template alloc<float>(mix_n);
    ex.zero(mixture.data(), mix_n);
    ex.zero(gmixture.data(), mix_n);
    const bool any_mixed = tab_total > 0;
    wst = ex.template alloc<float>(any_mixed ? stack_w_max : 0);
    gwst = ex.template alloc<float>(any_mixed ? stack_w_max : 0);
    gstk = ex.template alloc<float>(any_mixed ? stack_x_max : 0);
    wmix = ex.template alloc<float>(any_mixed ? w_max : 0);
    tables = ex.template alloc<std::int32_t>(std::max<std::int64_t>(tab_total, 1));
    mstep.resize(nt.ops.size());
    touched.assign(nt.params.size(), 1);
  }

  /// Replaces mixed_conv op i's CSQ mask (its selected input channels, ascending).
  void set_mask(std::size_t i, std::vector<std::int32_t> selected) { masks[i] = std::move(selected); }

  float* param(int i) { return params.data() + p_off[std::size_t(i)]; }
  float* grad(int i) { return grads.data() + p_off[std::size_t(i)]; }
  float* val(int i) { return values.data() + v_off[std::size_t(i)]; }
  float* vgrad(int i) { return vgrads.data() + v_off[std::size_t(i)]; }

  /// One step on n images (host pointers: n * image elements, channel-major (C, N, H, W) as
  /// jaq::nn::batch_tensor gives them, and n labels): forward, loss, backward, SGD at lr.
  /// With a plan (a search step): its mixture weights and run modes; the mixture's gradients
  /// are in gmixture afterwards.
  step_stats step(const float* images, const std::int32_t* host_labels, std::int64_t n, float lr, const sgd_settings& opt,
                  const step_plan* plan = nullptr) {
    ex.upload(val(0), images, nt.values[0].per_image * n);
    ex.upload(labels.data(), host_labels, n);
    ex.zero(grads.data(), p_total);
    ex.zero(vgrads.data(), v_total);
    plan_ = plan;
    auto mode = [&](std::size_t i) { return plan && !plan->run.empty() ? plan->run[i] : run_mode::train; };
    if (plan && nt.mixtures > 0) ex.upload(mixture.data(), plan->mixture.data(), nt.mixtures);
    ex.zero(gmixture.data(), std::max<std::int64_t>(nt.mixtures, 1));
    if (tab_total > 0) {  // the stacking of every mixed_conv, in one upload
      std::vector<std::int32_t> host(static_cast<std::size_t>(tab_total), 0);
      for (std::size_t i = 0; i < nt.ops.size(); ++i)
        if (nt.ops[i].kind == op_kind::mixed_conv && mode(i) != run_mode::skip)
          build_mixed_table(nt.ops[i], masks[i], plan->mixture.data(), p_off, host.data() + tab_off[i], mstep[i]);
      ex.upload(tables.data(), host.data(), tab_total);
    }
    std::fill(touched.begin(), touched.end(), char(plan ? 0 : 1));
    for (std::size_t i = 0; i < nt.ops.size(); ++i)
      if (mode(i) != run_mode::skip) forward(i, n);
    const step_stats st = loss(n);
    for (std::size_t i = nt.ops.size(); i-- > 0;)
      if (mode(i) == run_mode::train) {
        backward(i, n);
        if (plan) touch(i);
      }
    if (!plan || plan->update) update(lr, opt);
    plan_ = nullptr;
    return st;
  }

  /// Marks the parameters that trained op i gave a gradient.
  void touch(std::size_t i) {
    const op& o = nt.ops[i];
    auto mark = [&](int p) {
      if (p >= 0) touched[std::size_t(p)] = 1;
    };
    switch (o.kind) {
      case op_kind::conv:
      case op_kind::linear:
        mark(o.weight);
        mark(o.bias);
        if (o.q.on) {
          mark(o.q.s_a);
          mark(o.q.s_w);
        }
        return;
      case op_kind::batch_norm:
        mark(o.weight);
        mark(o.bias);
        return;
      case op_kind::mixed_conv:
        mark(o.weight);
        for (int b : mstep[i].active) mark(o.mixed.widths[std::size_t(b)].s_a);
        for (int b : mstep[i].wactive) mark(o.mixed.widths[std::size_t(b)].s_w);
        return;
      default:
        return;
    }
  }

  // ---- forward ---------------------------------------------------------------------------------

  void forward(std::size_t i, std::int64_t n) {
    const op& o = nt.ops[i];
    switch (o.kind) {
      case op_kind::conv:
        return conv_forward(i, n);
      case op_kind::batch_norm:
        return bn_forward(i, n);
      case op_kind::add: {
        const float* a = val(o.in);
        const float* b = val(o.in2);
        float* y = val(o.out);
        ex.for_each(nt.values[o.out].per_image * n, [=] JAQ_HOST_DEVICE(std::int64_t k) { y[k] = a[k] + b[k]; });
        return;
      }
      case op_kind::global_avg_pool: {
        const std::int64_t c = o.c_in, hw = o.h * o.w;
        const float* x = val(o.in);
        float* y = val(o.out);
        double* s = sums.data();
        ex.row_sums(
            c * n, hw, [=] JAQ_HOST_DEVICE(std::int64_t r, std::int64_t k) { return double(x[r * hw + k]); }, s);
        ex.for_each(c * n, [=] JAQ_HOST_DEVICE(std::int64_t r) {  // r = channel * n + image
          y[(r % n) * c + r / n] = float(s[r] / double(hw));
        });
        return;
      }
      case op_kind::linear:
        return linear_forward(i, n);
      case op_kind::mixed_conv:
        return mixed_conv_op<program>{*this, i, n}.forward();
      case op_kind::mix: {  // weighted_mix: zeros, then each branch of nonzero weight added in order
        float* y = val(o.out);
        const std::int64_t size = nt.values[o.out].per_image * n;
        ex.zero(y, size);
        for (std::size_t j = 0; j < o.mix.inputs.size(); ++j) {
          const float c = plan_->mixture[std::size_t(o.mix.c) + j];
          if (!(c > 0.0f)) continue;  // 0: weighted 0 in value; -1: not run
          const float* a = val(o.mix.inputs[j]);
          ex.for_each(size, [=] JAQ_HOST_DEVICE(std::int64_t k) { y[k] += c * a[k]; });
        }
        return;
      }
      case op_kind::channel_shuffle: {  // output channel j groups + i <- input channel i k + j
        const std::int64_t g = o.groups, kc = o.c_in / o.groups, plane = o.h * o.w * n;
        const float* x = val(o.in);
        float* y = val(o.out);
        ex.for_each(o.c_in * plane, [=] JAQ_HOST_DEVICE(std::int64_t e) {
          const std::int64_t oc = e / plane;
          y[e] = x[((oc % g) * kc + oc / g) * plane + e % plane];
        });
        return;
      }
    }
  }

  /// The layer's input and weight as the convolution reads them: LSQ values, or the originals.
  const float* quantized_input(std::size_t i, std::int64_t n) {
    const op& o = nt.ops[i];
    const float* x = val(o.in);
    if (!o.q.on) return x;
    float* out = xq[i].data();
    const float* s = param(o.q.s_a);
    const int qn = o.q.a_qn, qp = o.q.a_qp;
    const std::int64_t size = nt.values[o.in].per_image * n;
    switch (o.q.a) {
      case quantizer::pact:
        ex.for_each(size, [=] JAQ_HOST_DEVICE(std::int64_t k) { out[k] = quant::pact_value(x[k], s[0], qp); });
        break;
      case quantizer::minmax: {
        const double* r = input_range(i, n);
        ex.for_each(size, [=] JAQ_HOST_DEVICE(std::int64_t k) { out[k] = quant::minmax_value(x[k], float(r[0]), float(r[1]), qp); });
        break;
      }
      default:
        ex.for_each(size, [=] JAQ_HOST_DEVICE(std::int64_t k) { out[k] = quant::lsq_value(x[k], s[0], qn, qp); });
    }
    return out;
  }

  /// min/max of the input: the batch's range into qstat[i][0, 1], and the running range that
  /// evaluation reads updated as jaq::quant::minmax_observer::observe does while training.
  const double* input_range(std::size_t i, std::int64_t n) {
    const op& o = nt.ops[i];
    const float* x = val(o.in);
    double* r = qstat[i].data();
    const std::int64_t size = nt.values[o.in].per_image * n;
    ex.row_max(
        1, size, [=] JAQ_HOST_DEVICE(std::int64_t, std::int64_t k) { return -double(x[k]); }, r);
    ex.row_max(
        1, size, [=] JAQ_HOST_DEVICE(std::int64_t, std::int64_t k) { return double(x[k]); }, r + 1);
    float* obs = running.data() + bn_total + 3 * o.q.observer;
    const float m = o.q.observer_momentum;
    ex.for_each(1, [=] JAQ_HOST_DEVICE(std::int64_t) {
      r[0] = -r[0];
      const float lo = float(r[0]), hi = float(r[1]);
      if (obs[0] == 0.0f) {
        obs[0] = 1.0f;
        obs[1] = lo;
        obs[2] = hi;
      } else {
        obs[1] += m * (lo - obs[1]);
        obs[2] += m * (hi - obs[2]);
      }
    });
    return r;
  }

  const float* quantized_weight(std::size_t i) {
    const op& o = nt.ops[i];
    const float* w = param(o.weight);
    if (!o.q.on) return w;
    float* out = wq[i].data();
    const float* s = param(o.q.s_w);
    const int qn = o.q.w_qn, qp = o.q.w_qp;
    const std::int64_t size = nt.params[o.weight].size, inner = o.q.w_per_channel ? size / o.c_out : size;
    double* r = qstat[i].data() + 2;
    switch (o.q.w) {
      case quantizer::minmax: {  // per row: lo, hi at r[2 row], r[2 row + 1]
        const std::int64_t rows = size / inner;
        double* hi = sums.data();
        double* neg_lo = sums2.data();
        ex.row_max(
            rows, inner, [=] JAQ_HOST_DEVICE(std::int64_t row, std::int64_t k) { return double(w[row * inner + k]); }, hi);
        ex.row_max(
            rows, inner, [=] JAQ_HOST_DEVICE(std::int64_t row, std::int64_t k) { return -double(w[row * inner + k]); }, neg_lo);
        ex.for_each(rows, [=] JAQ_HOST_DEVICE(std::int64_t row) {
          r[2 * row] = -neg_lo[row];
          r[2 * row + 1] = hi[row];
        });
        ex.for_each(size, [=] JAQ_HOST_DEVICE(std::int64_t k) {
          const std::int64_t row = k / inner;
          out[k] = quant::minmax_value(w[k], float(r[2 * row]), float(r[2 * row + 1]), qp);
        });
        break;
      }
      case quantizer::dorefa: {  // M = max |tanh w| (r[0]) and the first index reaching it (r[1])
        ex.row_max(
            1, size, [=] JAQ_HOST_DEVICE(std::int64_t, std::int64_t k) { return fabs(tanh(double(w[k]))); }, r);
        ex.row_max(
            1, size,
            [=] JAQ_HOST_DEVICE(std::int64_t, std::int64_t k) {
              return fabs(tanh(double(w[k]))) == r[0] ? -double(k) : -1.0 - double(size);
            },
            r + 1);
        ex.for_each(1, [=] JAQ_HOST_DEVICE(std::int64_t) { r[1] = -r[1]; });
        ex.for_each(size, [=] JAQ_HOST_DEVICE(std::int64_t k) { out[k] = r[0] > 0.0 ? quant::dorefa_value(w[k], float(r[0]), qp) : 0.0f; });
        break;
      }
      default:
        ex.for_each(size, [=] JAQ_HOST_DEVICE(std::int64_t k) { out[k] = quant::lsq_value(w[k], s[k / inner], qn, qp); });
    }
    return out;
  }
  /// The input as forward read it (for backward): the saved LSQ values, or the input itself.
  const float* saved_input(std::size_t i) { return nt.ops[i].q.on ? xq[i].data() : val(nt.ops[i].in); }
  const float* saved_weight(std::size_t i) { return nt.ops[i].q.on ? wq[i].data() : param(nt.ops[i].weight); }

  /// Whether the input's quantizer has a step (LSQ) or clip (PACT) to learn; min/max has none.
  static bool input_step_learns(const op& o) { return o.q.on && o.q.a != quantizer::minmax; }
  static bool depthwise(const op& o) { return o.groups > 1 && o.groups == o.c_in && o.groups == o.c_out; }
  static bool pointwise(const op& o) { return o.kernel == 1 && o.stride == 1 && o.pad == 0; }

  /// col (c_in k k, n oh ow) from x (c_in, n, h, w): row (ci, kh, kw), column (image, oy, ox).
  void im2col(const op& o, std::int64_t n, const float* x, float* c) {
    const std::int64_t k = o.kernel, s = o.stride, p = o.pad, h = o.h, w = o.w, oh = o.oh, ow = o.ow;
    const std::int64_t cols = n * oh * ow;
    ex.for_each(o.c_in * k * k * cols, [=] JAQ_HOST_DEVICE(std::int64_t e) {
      const std::int64_t row = e / cols, colm = e % cols;
      const std::int64_t ci = row / (k * k), kh = row / k % k, kw = row % k;
      const std::int64_t img = colm / (oh * ow), oy = colm / ow % oh, ox = colm % ow;
      const std::int64_t iy = oy * s - p + kh, ix = ox * s - p + kw;
      c[e] = iy >= 0 && iy < h && ix >= 0 && ix < w ? x[((ci * n + img) * h + iy) * w + ix] : 0.0f;
    });
  }

  /// The GEMM's column matrix of x: x itself for a 1x1 stride-1 convolution, else im2col.
  const float* columns(const op& o, std::int64_t n, const float* x) {
    if (pointwise(o)) return x;
    im2col(o, n, x, col.data());
    return col.data();
  }

  void conv_forward(std::size_t i, std::int64_t n) {
    const op& o = nt.ops[i];
    const float* x = quantized_input(i, n);
    const float* w = quantized_weight(i);
    float* y = val(o.out);
    const std::int64_t k = o.kernel, s = o.stride, p = o.pad, h = o.h, wd = o.w, oh = o.oh, ow = o.ow;
    if (depthwise(o)) {
      ex.for_each(o.c_out * n * oh * ow, [=] JAQ_HOST_DEVICE(std::int64_t e) {
        const std::int64_t ox = e % ow, oy = e / ow % oh, img = e / (ow * oh) % n, c = e / (ow * oh * n);
        float acc = 0.0f;
        for (std::int64_t kh = 0; kh < k; ++kh) {
          const std::int64_t iy = oy * s - p + kh;
          if (iy < 0 || iy >= h) continue;
          for (std::int64_t kw = 0; kw < k; ++kw) {
            const std::int64_t ix = ox * s - p + kw;
            if (ix < 0 || ix >= wd) continue;
            acc += w[(c * k + kh) * k + kw] * x[((c * n + img) * h + iy) * wd + ix];
          }
        }
        y[e] = acc;
      });
      return;
    }
    const std::int64_t cols = n * oh * ow, icg = o.c_in / o.groups, ocg = o.c_out / o.groups, kk = icg * k * k;
    const float* c = columns(o, n, x);
    for (std::int64_t g = 0; g < o.groups; ++g)
      ex.gemm(false, false, ocg, cols, kk, w + g * ocg * kk, kk, c + g * kk * cols, cols, y + g * ocg * cols, cols);
  }

  void bn_forward(std::size_t i, std::int64_t n) {
    const op& o = nt.ops[i];
    const std::int64_t c = o.c_in, m = n * o.h * o.w;
    const float* x = val(o.in);
    float* y = val(o.out);
    float* st = bn_stats[i].data();
    float* rm = running.data() + bn_off[std::size_t(o.stats)];
    float* rv = rm + c;
    const float* gamma = param(o.weight);
    const float* beta = param(o.bias);
    double* s1 = sums.data();
    double* s2 = sums2.data();
    const double eps = o.eps, mom = o.momentum;
    ex.row_sums(
        c, m, [=] JAQ_HOST_DEVICE(std::int64_t r, std::int64_t k) { return double(x[r * m + k]); }, s1);
    ex.row_sums(
        c, m,
        [=] JAQ_HOST_DEVICE(std::int64_t r, std::int64_t k) {
          const double d = double(x[r * m + k]) - s1[r] / double(m);
          return d * d;
        },
        s2);
    ex.for_each(c, [=] JAQ_HOST_DEVICE(std::int64_t r) {
      const double mean = s1[r] / double(m), var = s2[r] / double(m);
      st[r] = float(mean);
      st[c + r] = float(1.0 / sqrt(var + eps));
      rm[r] = float((1 - mom) * double(rm[r]) + mom * mean);
      rv[r] = float((1 - mom) * double(rv[r]) + mom * var * double(m) / double(m > 1 ? m - 1 : 1));
    });
    const int act = static_cast<int>(o.act);
    ex.for_each(c * m, [=] JAQ_HOST_DEVICE(std::int64_t e) {
      const std::int64_t r = e / m;
      float v = (x[e] - st[r]) * st[c + r] * gamma[r] + beta[r];
      if (act != 0) v = v > 0.0f ? v : 0.0f;
      if (act == 2) v = v < 6.0f ? v : 6.0f;
      y[e] = v;
    });
  }

  void linear_forward(std::size_t i, std::int64_t n) {
    const op& o = nt.ops[i];
    const float* x = quantized_input(i, n);
    const float* w = quantized_weight(i);
    const float* b = param(o.bias);
    float* y = val(o.out);
    const std::int64_t f = o.c_in, out = o.c_out;
    ex.gemm(false, true, n, out, f, x, f, w, f, y, out);
    ex.for_each(n * out, [=] JAQ_HOST_DEVICE(std::int64_t e) { y[e] += b[e % out]; });
  }

  /// Softmax cross-entropy of the logits against the labels: the mean loss and the hits, and
  /// d loss / d logits into the logits' gradient.
  step_stats loss(std::int64_t n) {
    const std::int64_t k = nt.classes;
    const float* z = val(nt.logits);
    float* gz = vgrad(nt.logits);
    const std::int32_t* lab = labels.data();
    double* rl = row_loss.data();
    ex.for_each(n, [=] JAQ_HOST_DEVICE(std::int64_t r) {
      const float* zr = z + r * k;
      std::int64_t best = 0;
      for (std::int64_t j = 1; j < k; ++j)
        if (zr[j] > zr[best]) best = j;
      const double mx = double(zr[best]);
      double sum = 0;
      for (std::int64_t j = 0; j < k; ++j) sum += exp(double(zr[j]) - mx);
      const std::int32_t y = lab[r];
      rl[r] = log(sum) + mx - double(zr[y]);
      rl[n + r] = best == y ? 1.0 : 0.0;
      for (std::int64_t j = 0; j < k; ++j) {
        const double pj = exp(double(zr[j]) - mx) / sum;
        gz[r * k + j] = float((pj - (j == y ? 1.0 : 0.0)) / double(n));
      }
    });
    double* s = sums.data();
    ex.row_sums(
        2, n, [=] JAQ_HOST_DEVICE(std::int64_t r, std::int64_t j) { return rl[r * n + j]; }, s);
    double host[2] = {0, 0};
    ex.download(host, s, 2);
    return {.loss = host[0] / double(n), .correct = static_cast<std::int64_t>(host[1] + 0.5)};
  }

  // ---- backward --------------------------------------------------------------------------------

  void backward(std::size_t i, std::int64_t n) {
    const op& o = nt.ops[i];
    switch (o.kind) {
      case op_kind::conv:
        return conv_backward(i, n);
      case op_kind::batch_norm:
        return bn_backward(i, n);
      case op_kind::add: {
        const float* g = vgrad(o.out);
        float* ga = vgrad(o.in);
        float* gb = vgrad(o.in2);
        ex.for_each(nt.values[o.out].per_image * n, [=] JAQ_HOST_DEVICE(std::int64_t k) {
          ga[k] += g[k];
          gb[k] += g[k];
        });
        return;
      }
      case op_kind::global_avg_pool: {
        const std::int64_t c = o.c_in, hw = o.h * o.w;
        const float* g = vgrad(o.out);
        float* gx = vgrad(o.in);
        ex.for_each(c * n * hw, [=] JAQ_HOST_DEVICE(std::int64_t e) {
          const std::int64_t r = e / hw;  // channel * n + image
          gx[e] += g[(r % n) * c + r / n] / float(hw);
        });
        return;
      }
      case op_kind::linear:
        return linear_backward(i, n);
      case op_kind::mixed_conv:
        return mixed_conv_op<program>{*this, i, n}.backward();
      case op_kind::mix: {
        const std::int64_t size = nt.values[o.out].per_image * n;
        const float* g = vgrad(o.out);
        for (std::size_t j = 0; j < o.mix.inputs.size(); ++j) {  // the branch (when weighted), then <g, branch> to its weight
          const float c = plan_->mixture[std::size_t(o.mix.c) + j];
          if (c < 0.0f) continue;
          const float* y = val(o.mix.inputs[j]);
          float* gb = vgrad(o.mix.inputs[j]);
          if (c != 0.0f) ex.for_each(size, [=] JAQ_HOST_DEVICE(std::int64_t k) { gb[k] += c * g[k]; });
          double* s = sums.data();
          ex.row_sums(
              1, size, [=] JAQ_HOST_DEVICE(std::int64_t, std::int64_t k) { return double(g[k]) * double(y[k]); }, s);
          float* gp = gmixture.data() + o.mix.p + o.mix.index[j];
          ex.for_each(1, [=] JAQ_HOST_DEVICE(std::int64_t) { gp[0] += float(s[0]); });
        }
        return;
      }
      case op_kind::channel_shuffle: {
        const std::int64_t g = o.groups, kc = o.c_in / o.groups, plane = o.h * o.w * n;
        const float* gy = vgrad(o.out);
        float* gx = vgrad(o.in);
        ex.for_each(o.c_in * plane, [=] JAQ_HOST_DEVICE(std::int64_t e) {
          const std::int64_t ic = e / plane;
          gx[e] += gy[((ic % kc) * g + ic / kc) * plane + e % plane];
        });
        return;
      }
    }
  }

  /// d/d input of the layer from gxq (the gradient at the quantized input), and the activation
  /// step's gradient; then the weight's from gwq.
  void finish_weighted(std::size_t i, std::int64_t n, bool input_grad) {
    const op& o = nt.ops[i];
    const std::int64_t in_size = nt.values[o.in].per_image * n;
    if (input_grad) {
      const float* x = val(o.in);
      const float* g = gxq.data();
      float* gx = vgrad(o.in);
      if (!o.q.on) {
        ex.for_each(in_size, [=] JAQ_HOST_DEVICE(std::int64_t k) { gx[k] += g[k]; });
      } else if (o.q.a == quantizer::pact) {
        const float* a = param(o.q.s_a);
        ex.for_each(in_size, [=] JAQ_HOST_DEVICE(std::int64_t k) { gx[k] += g[k] * quant::pact_grad_input(x[k], a[0]); });
        reduce_clip(g, x, in_size, a, grad(o.q.s_a));
      } else if (o.q.a == quantizer::minmax) {  // straight through inside the batch's range; nothing learned
        const double* r = qstat[i].data();
        ex.for_each(in_size,
                    [=] JAQ_HOST_DEVICE(std::int64_t k) { gx[k] += g[k] * quant::minmax_grad_input(x[k], float(r[0]), float(r[1])); });
      } else {
        const float* s = param(o.q.s_a);
        const int qn = o.q.a_qn, qp = o.q.a_qp;
        ex.for_each(in_size, [=] JAQ_HOST_DEVICE(std::int64_t k) { gx[k] += g[k] * quant::lsq_grad_input(x[k], s[0], qn, qp); });
        reduce_step(g, x, in_size, 1, s, qn, qp, o.q.a_scale, grad(o.q.s_a));
      }
    } else if (input_step_learns(o)) {  // the image: no input gradient, but the input's step still learns
      // (the first layer computes gxq only for this)
      if (o.q.a == quantizer::pact)
        reduce_clip(gxq.data(), val(o.in), in_size, param(o.q.s_a), grad(o.q.s_a));
      else
        reduce_step(gxq.data(), val(o.in), in_size, 1, param(o.q.s_a), o.q.a_qn, o.q.a_qp, o.q.a_scale, grad(o.q.s_a));
    }
    const float* w = param(o.weight);
    const float* g = gwq.data();
    float* gw = grad(o.weight);
    const std::int64_t size = nt.params[o.weight].size;
    if (!o.q.on) {
      ex.for_each(size, [=] JAQ_HOST_DEVICE(std::int64_t k) { gw[k] += g[k]; });
      return;
    }
    const std::int64_t rows = o.q.w_per_channel ? o.c_out : 1, inner = size / rows;
    const double* r = qstat[i].data() + 2;
    switch (o.q.w) {
      case quantizer::minmax:
        ex.for_each(size, [=] JAQ_HOST_DEVICE(std::int64_t k) {
          const std::int64_t row = k / inner;
          gw[k] += g[k] * quant::minmax_grad_input(w[k], float(r[2 * row]), float(r[2 * row + 1]));
        });
        return;
      case quantizer::dorefa: {
        // jaq::quant::dorefa_backward: d w_q / d w of the surrogate 2 r(w) - 1, M's arg-max included
        double* dot = sums.data();  // sum_k g_k tanh(w_k)
        ex.row_sums(
            1, size, [=] JAQ_HOST_DEVICE(std::int64_t, std::int64_t k) { return double(g[k]) * tanh(double(w[k])); }, dot);
        ex.for_each(size, [=] JAQ_HOST_DEVICE(std::int64_t k) {
          const double m = r[0];
          if (!(m > 0.0)) return;  // a tensor of zeros passes no gradient
          const double t = tanh(double(w[k]));
          float d = float(double(g[k]) * (1.0 - t * t) / m);
          if (k == std::int64_t(r[1])) {
            const double dm = (t < 0 ? -1.0 : 1.0) * (1.0 - t * t);  // d M / d w_argmax
            d = float(double(d) - dot[0] / (m * m) * dm);
          }
          gw[k] += d;
        });
        return;
      }
      default: {
        const float* s = param(o.q.s_w);
        const int qn = o.q.w_qn, qp = o.q.w_qp;
        ex.for_each(size, [=] JAQ_HOST_DEVICE(std::int64_t k) { gw[k] += g[k] * quant::lsq_grad_input(w[k], s[k / inner], qn, qp); });
        reduce_step(g, w, size, rows, s, qn, qp, o.q.w_scale, grad(o.q.s_w));
      }
    }
  }

  /// gs[r] += scale * sum over row r of g * d v_hat / d s (rows of size / rows elements).
  void reduce_step(const float* g, const float* x, std::int64_t size, std::int64_t rows, const float* s, int qn, int qp, double scale,
                   float* gs) {
    const std::int64_t inner = size / rows;
    double* out = sums.data();
    ex.row_sums(
        rows, inner,
        [=] JAQ_HOST_DEVICE(std::int64_t r, std::int64_t k) {
          const std::int64_t e = r * inner + k;
          return double(g[e]) * double(quant::lsq_grad_step(x[e], s[r], qn, qp));
        },
        out);
    ex.for_each(rows, [=] JAQ_HOST_DEVICE(std::int64_t r) { gs[r] += float(out[r] * scale); });
  }

  /// ga[0] += the sum of g * d PACT(x) / d alpha.
  void reduce_clip(const float* g, const float* x, std::int64_t size, const float* alpha, float* ga) {
    double* out = sums.data();
    ex.row_sums(
        1, size,
        [=] JAQ_HOST_DEVICE(std::int64_t, std::int64_t k) { return double(g[k]) * double(quant::pact_grad_alpha(x[k], alpha[0])); }, out);
    ex.for_each(1, [=] JAQ_HOST_DEVICE(std::int64_t) { ga[0] += float(out[0]); });
  }

  void conv_backward(std::size_t i, std::int64_t n) {
    const op& o = nt.ops[i];
    const bool input_grad = o.in != 0 || input_step_learns(o);  // the first layer needs gxq only for its input step
    const float* x = saved_input(i);
    const float* w = saved_weight(i);
    const float* gy = vgrad(o.out);
    float* gw = gwq.data();
    float* gx = gxq.data();
    const std::int64_t k = o.kernel, s = o.stride, p = o.pad, h = o.h, wd = o.w, oh = o.oh, ow = o.ow;
    const window_taps taps{k, s, p, oh, ow};
    if (depthwise(o)) {
      const std::int64_t len = n * oh * ow;
      ex.row_sums(
          o.c_out * k * k, len,
          [=] JAQ_HOST_DEVICE(std::int64_t r, std::int64_t e) {
            const std::int64_t c = r / (k * k), kh = r / k % k, kw = r % k;
            const std::int64_t ox = e % ow, oy = e / ow % oh, img = e / (ow * oh);
            const std::int64_t iy = oy * s - p + kh, ix = ox * s - p + kw;
            if (iy < 0 || iy >= h || ix < 0 || ix >= wd) return 0.0;
            return double(gy[c * len + e]) * double(x[((c * n + img) * h + iy) * wd + ix]);
          },
          sums.data());
      const double* sw = sums.data();
      ex.for_each(o.c_out * k * k, [=] JAQ_HOST_DEVICE(std::int64_t r) { gw[r] = float(sw[r]); });
      if (input_grad)
        ex.for_each(o.c_in * n * h * wd, [=] JAQ_HOST_DEVICE(std::int64_t e) {
          const std::int64_t ix = e % wd, iy = e / wd % h, img = e / (wd * h) % n, c = e / (wd * h * n);
          gx[e] = taps.gather(iy, ix, [=](std::int64_t kh, std::int64_t kw, std::int64_t oy, std::int64_t ox) {
            return w[(c * k + kh) * k + kw] * gy[((c * n + img) * oh + oy) * ow + ox];
          });
        });
      finish_weighted(i, n, o.in != 0);
      return;
    }
    const std::int64_t cols = n * oh * ow, icg = o.c_in / o.groups, ocg = o.c_out / o.groups, kk = icg * k * k;
    const float* c = columns(o, n, x);
    for (std::int64_t g = 0; g < o.groups; ++g)
      ex.gemm(false, true, ocg, kk, cols, gy + g * ocg * cols, cols, c + g * kk * cols, cols, gw + g * ocg * kk, kk);
    if (input_grad) {
      float* gc = pointwise(o) ? gx : gcol.data();
      for (std::int64_t g = 0; g < o.groups; ++g)
        ex.gemm(true, false, kk, cols, ocg, w + g * ocg * kk, kk, gy + g * ocg * cols, cols, gc + g * kk * cols, cols);
      if (!pointwise(o)) {  // col2im as a gather: each input element sums the columns that read it
        const float* gcc = gcol.data();
        ex.for_each(o.c_in * n * h * wd, [=] JAQ_HOST_DEVICE(std::int64_t e) {
          const std::int64_t ix = e % wd, iy = e / wd % h, img = e / (wd * h) % n, ci = e / (wd * h * n);
          gx[e] = taps.gather(iy, ix, [=](std::int64_t kh, std::int64_t kw, std::int64_t oy, std::int64_t ox) {
            return gcc[((ci * k + kh) * k + kw) * cols + (img * oh + oy) * ow + ox];
          });
        });
      }
    }
    finish_weighted(i, n, o.in != 0);
  }

  /// g' = g through the fused activation whose output was v: zero where the output was clamped.
  JAQ_HOST_DEVICE static float through(int act, float v, float g) {
    const bool pass = act == 0 || (v > 0.0f && (act != 2 || v < 6.0f));
    return pass ? g : 0.0f;
  }

  void bn_backward(std::size_t i, std::int64_t n) {
    const op& o = nt.ops[i];
    const std::int64_t c = o.c_in, m = n * o.h * o.w;
    const float* x = val(o.in);
    const float* y = val(o.out);
    const float* gy = vgrad(o.out);
    const float* st = bn_stats[i].data();
    const float* gamma = param(o.weight);
    float* gx = vgrad(o.in);
    float* ggamma = grad(o.weight);
    float* gbeta = grad(o.bias);
    double* sb = sums.data();
    double* sg = sums2.data();
    const int act = static_cast<int>(o.act);
    ex.row_sums(
        c, m, [=] JAQ_HOST_DEVICE(std::int64_t r, std::int64_t k) { return double(through(act, y[r * m + k], gy[r * m + k])); }, sb);
    ex.row_sums(
        c, m,
        [=] JAQ_HOST_DEVICE(std::int64_t r, std::int64_t k) {
          const std::int64_t e = r * m + k;
          return double(through(act, y[e], gy[e])) * double((x[e] - st[r]) * st[c + r]);
        },
        sg);
    ex.for_each(c, [=] JAQ_HOST_DEVICE(std::int64_t r) {
      gbeta[r] += float(sb[r]);
      ggamma[r] += float(sg[r]);
    });
    ex.for_each(c * m, [=] JAQ_HOST_DEVICE(std::int64_t e) {
      const std::int64_t r = e / m;
      const float xhat = (x[e] - st[r]) * st[c + r];
      const double mean_g = sb[r] / double(m), mean_gx = sg[r] / double(m);
      gx[e] += float(double(gamma[r] * st[c + r]) * (double(through(act, y[e], gy[e])) - mean_g - double(xhat) * mean_gx));
    });
  }

  void linear_backward(std::size_t i, std::int64_t n) {
    const op& o = nt.ops[i];
    const float* x = saved_input(i);
    const float* w = saved_weight(i);
    const float* gy = vgrad(o.out);
    const std::int64_t f = o.c_in, out = o.c_out;
    ex.gemm(true, false, out, f, n, gy, out, x, f, gwq.data(), f);
    ex.gemm(false, false, n, f, out, gy, out, w, f, gxq.data(), f);
    double* sb = sums.data();
    ex.row_sums(
        out, n, [=] JAQ_HOST_DEVICE(std::int64_t r, std::int64_t k) { return double(gy[k * out + r]); }, sb);
    float* gb = grad(o.bias);
    ex.for_each(out, [=] JAQ_HOST_DEVICE(std::int64_t r) { gb[r] += float(sb[r]); });
    finish_weighted(i, n, true);
  }

  // ---- the optimizer ---------------------------------------------------------------------------

  /// jaq::optim::sgd's step over every learned parameter (one pass per run of them in the
  /// arena), then the LSQ steps floored at min_step.
  void update(float lr, const sgd_settings& opt) {
    const float mom = opt.momentum, wdk = opt.weight_decay;
    const bool use_mom = opt.momentum != 0.0f, nesterov = opt.nesterov;
    auto learns = [&](std::size_t j) { return nt.params[j].learned && touched[j]; };
    for (std::size_t j = 0; j < nt.params.size();) {
      if (!learns(j)) {
        ++j;
        continue;
      }
      const std::int64_t from = p_off[j];
      while (j < nt.params.size() && learns(j)) ++j;
      const std::int64_t to = j < nt.params.size() ? p_off[j] : p_total;
      float* w = params.data() + from;
      const float* g = grads.data() + from;
      float* b = momentum.data() + from;
      ex.for_each(to - from, [=] JAQ_HOST_DEVICE(std::int64_t k) {
        float d = g[k] + wdk * w[k];
        if (use_mom) {
          b[k] = mom * b[k] + d;
          d = nesterov ? d + mom * b[k] : b[k];
        }
        w[k] -= lr * d;
      });
    }
    const float floor = opt.min_step;
    for (std::size_t j = 0; j < nt.params.size(); ++j) {
      if (!nt.params[j].is_step) continue;  // every step, as project() floors them all
      float* s = param(int(j));
      ex.for_each(nt.params[j].size, [=] JAQ_HOST_DEVICE(std::int64_t k) { s[k] = s[k] > floor ? s[k] : floor; });
    }
  }
};

}  // namespace jaq::cuda::train
