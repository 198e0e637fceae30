// kernels/detail/train_mixed.hpp: the device training program's search layer, op_kind::mixed_conv:
// CSQ's mixed-precision convolution (jaq/nas/mixed_conv.hpp) forward and backward over an
// executor, as one convolution of a stacked input and a stacked weight:
//     X~ = [x_U ; Qa_b1(x_S) ; Qa_b2(x_S) ; ...]         (b over the widths with p_b != 0)
//     W~ = [sum_b p_b Qw_b(w)[:, U] ; p_b1 Qw_b1(w)[:, S] ; ...]
// or, with separate weight widths pw, W~ = [P W_mix[:, U] ; p_a1 W_mix[:, S] ; ...] with
// W_mix = sum_i pw_i Qw_i(w) and P = sum_a p_a. Dense layers run im2col + GEMM over X~,
// depthwise ones a direct kernel per stacked channel whose outputs are summed back onto their
// source channels in stacking order.
//
// Backward gives what mixed_conv2d's gives: the input (the unselected channels straight, the
// selected ones through each width's STE), each active width's input and weight steps, the
// weight, and the mixture weights p (and pw), whose gradients go to the mixture-gradient arena.
// The stacking (which input channel and width each stacked channel is) is built on the host per
// step from the mask and the mixture weights the host drew, and uploaded with them in one copy.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "jaq/config.hpp"
#include "jaq/quant/lsq.hpp"
#include "kernels/detail/train_net.hpp"
#include "kernels/detail/window_taps.hpp"

namespace jaq::cuda::train {

/// Where one mixed_conv's step table lives: the stack's sources and widths (cs_max each), each
/// input channel's first stacked channel (c_in), then nb entries per width field.
struct mixed_layout {
  std::int64_t cs_max = 0, c_in = 0, nb = 0;
  enum field : std::int64_t { slot, s_a, s_w, a_qn, a_qp, w_qn, w_qp, active, wactive, fields };
  static mixed_layout of(const op& o) {
    const auto nb = std::int64_t(o.mixed.widths.size());
    return {.cs_max = nb * o.c_in, .c_in = o.c_in, .nb = nb};
  }
  JAQ_HOST_DEVICE std::int64_t src() const { return 0; }
  JAQ_HOST_DEVICE std::int64_t cand() const { return cs_max; }
  JAQ_HOST_DEVICE std::int64_t inv() const { return 2 * cs_max; }
  JAQ_HOST_DEVICE std::int64_t at(field f) const { return 2 * cs_max + c_in + std::int64_t(f) * nb; }
  std::int64_t size() const { return at(fields); }
};

/// One mixed_conv's stacking in this step (host side).
struct mixed_step {
  std::int64_t cs = 0, nu = 0, ns = 0;
  std::vector<int> active, wactive;  ///< widths with p_b != 0 (pw_i != 0), ascending
};

/// Fills `tab` (layout.size() entries) and `st` from the mask, the mixture weights of this step
/// and the parameter offsets of the steps. Stacked channel j: the unselected channels first
/// (ascending), then the selected ones once per active width.
inline void build_mixed_table(const op& o, const std::vector<std::int32_t>& selected, const float* mixture,
                              const std::vector<std::int64_t>& p_off, std::int32_t* tab, mixed_step& st) {
  const mixed_layout L = mixed_layout::of(o);
  const std::int64_t nb = L.nb;
  st.active.clear();
  st.wactive.clear();
  for (int b = 0; b < int(nb); ++b) {
    if (mixture[o.mixed.p + b] != 0.0f) st.active.push_back(b);
    if (o.mixed.pw >= 0 && mixture[o.mixed.pw + b] != 0.0f) st.wactive.push_back(b);
  }
  if (o.mixed.pw < 0) st.wactive = st.active;
  std::vector<char> is_sel(std::size_t(o.c_in), 0);
  for (std::int32_t c : selected) is_sel[std::size_t(c)] = 1;
  st.ns = std::int64_t(selected.size());
  st.nu = o.c_in - st.ns;
  st.cs = st.nu + std::int64_t(st.active.size()) * st.ns;
  std::int64_t j = 0;
  for (std::int64_t c = 0; c < o.c_in; ++c)
    if (!is_sel[std::size_t(c)]) {
      tab[L.src() + j] = std::int32_t(c);
      tab[L.cand() + j] = -1;
      tab[L.inv() + c] = std::int32_t(j++);
    }
  for (std::size_t k = 0; k < st.active.size(); ++k)
    for (std::size_t s = 0; s < selected.size(); ++s) {
      tab[L.src() + j] = selected[s];
      tab[L.cand() + j] = st.active[k];
      if (k == 0) tab[L.inv() + selected[s]] = std::int32_t(j);
      ++j;
    }
  for (std::int64_t b = 0; b < nb; ++b) {
    const width_quant& w = o.mixed.widths[std::size_t(b)];
    tab[L.at(mixed_layout::slot) + b] = -1;
    tab[L.at(mixed_layout::s_a) + b] = std::int32_t(p_off[std::size_t(w.s_a)]);
    tab[L.at(mixed_layout::s_w) + b] = std::int32_t(p_off[std::size_t(w.s_w)]);
    tab[L.at(mixed_layout::a_qn) + b] = w.a_qn;
    tab[L.at(mixed_layout::a_qp) + b] = w.a_qp;
    tab[L.at(mixed_layout::w_qn) + b] = w.w_qn;
    tab[L.at(mixed_layout::w_qp) + b] = w.w_qp;
  }
  for (std::size_t k = 0; k < st.active.size(); ++k) {
    tab[L.at(mixed_layout::slot) + st.active[k]] = std::int32_t(k);
    tab[L.at(mixed_layout::active) + std::int64_t(k)] = st.active[k];
  }
  for (std::size_t k = 0; k < st.wactive.size(); ++k) tab[L.at(mixed_layout::wactive) + std::int64_t(k)] = st.wactive[k];
}

/// The mixed_conv op over a program (kernels/detail/train_program.hpp): its buffers and this
/// step's table are the program's; these functions are its forward and backward.
template <class Prog>
struct mixed_conv_op {
  Prog& pr;
  std::size_t i;
  std::int64_t batch;  // images in this step

  const op& o() const { return pr.nt.ops[i]; }
  bool depthwise() const { return o().groups > 1; }

  /// The captures every element function shares.
  struct view {
    const std::int32_t* tab;
    mixed_layout L;
    const float* P;   // the parameter arena (the steps are read through the table's offsets)
    const float* x;   // the layer's input (C, plane)
    const float* q;   // the quantized part of X~ ((cs - nu), plane)
    const float* w;   // the weight
    const float* mx;  // p (and pw) in the mixture arena
    const float* mxw;
    std::int64_t cs, nu, ns, na, nwa, plane, co, cin_w, kk, nw;
    bool depthwise, separate;

    JAQ_HOST_DEVICE std::int32_t fld(mixed_layout::field f, std::int64_t b) const { return tab[L.at(f) + b]; }
    JAQ_HOST_DEVICE float step_a(std::int64_t b) const { return P[fld(mixed_layout::s_a, b)]; }
    JAQ_HOST_DEVICE float step_w(std::int64_t b, std::int64_t o) const { return P[fld(mixed_layout::s_w, b) + o]; }
    /// Plane of stacked channel j.
    JAQ_HOST_DEVICE const float* plane_of(std::int64_t j) const { return j < nu ? x + tab[L.src() + j] * plane : q + (j - nu) * plane; }
    /// Weight element k as (output channel o, input channel c, tap t).
    JAQ_HOST_DEVICE void split(std::int64_t k, std::int64_t& o, std::int64_t& c, std::int64_t& t) const {
      t = k % kk;
      c = depthwise ? k / kk : k / kk % cin_w;
      o = depthwise ? c : k / (kk * cin_w);
    }
    /// W~'s index of weight element (o, c, t) in stacked channel j.
    JAQ_HOST_DEVICE std::int64_t dst(std::int64_t o, std::int64_t j, std::int64_t t) const {
      return depthwise ? j * kk + t : (o * cs + j) * kk + t;
    }
    /// The stacked channel of input channel c at width b (c unselected: its only one).
    JAQ_HOST_DEVICE std::int64_t stacked(std::int64_t c, std::int64_t b) const {
      const std::int64_t u = tab[L.inv() + c];
      return u < nu ? u : u + std::int64_t(fld(mixed_layout::slot, b)) * ns;
    }
    JAQ_HOST_DEVICE float hat(std::int64_t k, std::int64_t b, std::int64_t o) const {
      return quant::lsq_value(w[k], step_w(b, o), fld(mixed_layout::w_qn, b), fld(mixed_layout::w_qp, b));
    }
    /// d loss / d w_hat_b at weight element k, from W~'s gradient gws (or, separate, W_mix's gm).
    JAQ_HOST_DEVICE float ghat(const float* gws, const float* gm, std::int64_t k, std::int64_t b) const {
      std::int64_t o, c, t;
      split(k, o, c, t);
      return separate ? mxw[b] * gm[k] : mx[b] * gws[dst(o, stacked(c, b), t)];
    }
    /// sum_a p_a over the active widths, in order.
    JAQ_HOST_DEVICE float psum() const {
      float t = 0;
      for (std::int64_t k = 0; k < na; ++k) t += mx[fld(mixed_layout::active, k)];
      return t;
    }
  };

  view make_view() {
    const op& op_ = o();
    const auto& st = pr.mstep[i];
    view v{};
    v.tab = pr.tables.data() + pr.tab_off[i];
    v.L = mixed_layout::of(op_);
    v.P = pr.params.data();
    v.x = pr.val(op_.in);
    v.q = pr.xq[i].data();
    v.w = pr.param(op_.weight);
    v.mx = pr.mixture.data() + op_.mixed.p;
    v.mxw = op_.mixed.pw >= 0 ? pr.mixture.data() + op_.mixed.pw : v.mx;
    v.cs = st.cs;
    v.nu = st.nu;
    v.ns = st.ns;
    v.na = std::int64_t(st.active.size());
    v.nwa = std::int64_t(st.wactive.size());
    v.plane = batch * op_.h * op_.w;
    v.depthwise = depthwise();
    v.co = op_.c_out;
    v.cin_w = v.depthwise ? 1 : op_.c_in;
    v.kk = op_.kernel * op_.kernel;
    v.nw = pr.nt.params[std::size_t(op_.weight)].size;
    v.separate = op_.mixed.pw >= 0;
    return v;
  }

  /// W_mix into pr.wmix (separate widths only).
  void weight_mix(const view& v) {
    float* wm = pr.wmix.data();
    pr.ex.for_each(v.nw, [=] JAQ_HOST_DEVICE(std::int64_t k) {
      std::int64_t o, c, t;
      v.split(k, o, c, t);
      float m = 0;
      for (std::int64_t r = 0; r < v.nwa; ++r) {
        const std::int64_t b = v.fld(mixed_layout::wactive, r);
        m += v.mxw[b] * v.hat(k, b, o);
      }
      wm[k] = m;
    });
  }

  /// W~ into pr.wst, element by element in its storage order.
  void build_wstack(const view& v) {
    float* ws = pr.wst.data();
    const float* wm = pr.wmix.data();
    const std::int64_t size = v.depthwise ? v.cs * v.kk : v.co * v.cs * v.kk;
    if (v.separate) weight_mix(v);
    pr.ex.for_each(size, [=] JAQ_HOST_DEVICE(std::int64_t d) {
      const std::int64_t t = d % v.kk, j = d / v.kk % v.cs;
      const std::int64_t c = v.tab[v.L.src() + j];
      const std::int32_t b = v.tab[v.L.cand() + j];
      const std::int64_t o = v.depthwise ? c : d / (v.kk * v.cs);
      const std::int64_t k = v.depthwise ? c * v.kk + t : (o * v.cin_w + c) * v.kk + t;
      float val = 0;
      if (v.separate) {
        val = (b < 0 ? v.psum() : v.mx[b]) * wm[k];
      } else if (b >= 0) {
        val = v.mx[b] * v.hat(k, b, o);
      } else {
        for (std::int64_t r = 0; r < v.na; ++r) {
          const std::int64_t a = v.fld(mixed_layout::active, r);
          val += v.mx[a] * v.hat(k, a, o);
        }
      }
      ws[d] = val;
    });
  }

  /// The column matrix of X~ into pr.col: row (j, kh, kw), column (image, oy, ox).
  void stacked_columns(const view& v) {
    const std::int64_t n = batch;
    const op& op_ = o();
    const std::int64_t k = op_.kernel, s = op_.stride, p = op_.pad, h = op_.h, w = op_.w, oh = op_.oh, ow = op_.ow;
    const std::int64_t cols = n * oh * ow;
    float* c = pr.col.data();
    pr.ex.for_each(v.cs * k * k * cols, [=] JAQ_HOST_DEVICE(std::int64_t e) {
      const std::int64_t row = e / cols, colm = e % cols;
      const std::int64_t j = row / (k * k), kh = row / k % k, kw = row % k;
      const std::int64_t img = colm / (oh * ow), oy = colm / ow % oh, ox = colm % ow;
      const std::int64_t iy = oy * s - p + kh, ix = ox * s - p + kw;
      c[e] = iy >= 0 && iy < h && ix >= 0 && ix < w ? v.plane_of(j)[(img * h + iy) * w + ix] : 0.0f;
    });
  }

  void forward() {
    const std::int64_t n = batch;
    const op& op_ = o();
    view v = make_view();
    // the quantized part of X~: each selected channel at each active width
    float* q = pr.xq[i].data();
    pr.ex.for_each((v.cs - v.nu) * v.plane, [=] JAQ_HOST_DEVICE(std::int64_t e) {
      const std::int64_t j = v.nu + e / v.plane;
      const std::int64_t c = v.tab[v.L.src() + j];
      const std::int32_t b = v.tab[v.L.cand() + j];
      q[e] = quant::lsq_value(v.x[c * v.plane + e % v.plane], v.step_a(b), v.fld(mixed_layout::a_qn, b), v.fld(mixed_layout::a_qp, b));
    });
    build_wstack(v);
    float* y = pr.val(op_.out);
    const float* ws = pr.wst.data();
    const std::int64_t k = op_.kernel, s = op_.stride, p = op_.pad, h = op_.h, wd = op_.w, oh = op_.oh, ow = op_.ow;
    const std::int64_t cols = n * oh * ow;
    if (!v.depthwise) {
      stacked_columns(v);
      pr.ex.gemm(false, false, v.co, cols, v.cs * v.kk, ws, v.cs * v.kk, pr.col.data(), cols, y, cols);
      return;
    }
    float* ys = pr.col.data();  // (cs, cols): each stacked channel's depthwise output
    pr.ex.for_each(v.cs * cols, [=] JAQ_HOST_DEVICE(std::int64_t e) {
      const std::int64_t j = e / cols, r = e % cols;
      const std::int64_t ox = r % ow, oy = r / ow % oh, img = r / (ow * oh);
      const float* xp = v.plane_of(j);
      float acc = 0.0f;
      for (std::int64_t kh = 0; kh < k; ++kh) {
        const std::int64_t iy = oy * s - p + kh;
        if (iy < 0 || iy >= h) continue;
        for (std::int64_t kw = 0; kw < k; ++kw) {
          const std::int64_t ix = ox * s - p + kw;
          if (ix < 0 || ix >= wd) continue;
          acc += ws[(j * k + kh) * k + kw] * xp[(img * h + iy) * wd + ix];
        }
      }
      ys[e] = acc;
    });
    // each channel: its stacked channels' outputs added in stacking order
    pr.ex.for_each(v.co * cols, [=] JAQ_HOST_DEVICE(std::int64_t e) {
      const std::int64_t c = e / cols, r = e % cols;
      const std::int64_t u = v.tab[v.L.inv() + c];
      float acc = ys[u * cols + r];
      if (u >= v.nu)
        for (std::int64_t a = 1; a < v.na; ++a) acc += ys[(u + a * v.ns) * cols + r];
      y[e] = acc;
    });
  }

  void backward() {
    const std::int64_t n = batch;
    const op& op_ = o();
    view v = make_view();
    const std::int64_t k = op_.kernel, s = op_.stride, p = op_.pad, h = op_.h, wd = op_.w, oh = op_.oh, ow = op_.ow;
    const std::int64_t cols = n * oh * ow;
    const float* gy = pr.vgrad(op_.out);
    build_wstack(v);
    const float* ws = pr.wst.data();
    float* gws = pr.gwst.data();
    float* gxs = pr.gstk.data();  // (cs, plane): the gradient at X~
    const window_taps taps{k, s, p, oh, ow};
    if (!v.depthwise) {
      stacked_columns(v);
      pr.ex.gemm(false, true, v.co, v.cs * v.kk, cols, gy, cols, pr.col.data(), cols, gws, v.cs * v.kk);
      pr.ex.gemm(true, false, v.cs * v.kk, cols, v.co, ws, v.cs * v.kk, gy, cols, pr.gcol.data(), cols);
      const float* gc = pr.gcol.data();
      pr.ex.for_each(v.cs * v.plane, [=] JAQ_HOST_DEVICE(std::int64_t e) {
        const std::int64_t ix = e % wd, iy = e / wd % h, img = e / (wd * h) % n, j = e / (wd * h * n);
        gxs[e] = taps.gather(iy, ix, [=](std::int64_t kh, std::int64_t kw, std::int64_t oy, std::int64_t ox) {
          return gc[((j * k + kh) * k + kw) * cols + (img * oh + oy) * ow + ox];
        });
      });
    } else {
      double* sw = pr.sums.data();
      pr.ex.row_sums(
          v.cs * v.kk, cols,
          [=] JAQ_HOST_DEVICE(std::int64_t r, std::int64_t e) {
            const std::int64_t j = r / (k * k), kh = r / k % k, kw = r % k;
            const std::int64_t ox = e % ow, oy = e / ow % oh, img = e / (ow * oh);
            const std::int64_t iy = oy * s - p + kh, ix = ox * s - p + kw;
            if (iy < 0 || iy >= h || ix < 0 || ix >= wd) return 0.0;
            const std::int64_t c = v.tab[v.L.src() + j];
            return double(gy[c * cols + e]) * double(v.plane_of(j)[(img * h + iy) * wd + ix]);
          },
          sw);
      pr.ex.for_each(v.cs * v.kk, [=] JAQ_HOST_DEVICE(std::int64_t r) { gws[r] = float(sw[r]); });
      pr.ex.for_each(v.cs * v.plane, [=] JAQ_HOST_DEVICE(std::int64_t e) {
        const std::int64_t ix = e % wd, iy = e / wd % h, img = e / (wd * h) % n, j = e / (wd * h * n);
        const std::int64_t c = v.tab[v.L.src() + j];
        gxs[e] = taps.gather(iy, ix, [=](std::int64_t kh, std::int64_t kw, std::int64_t oy, std::int64_t ox) {
          return ws[(j * k + kh) * k + kw] * gy[((c * n + img) * oh + oy) * ow + ox];
        });
      });
    }
    weight_grads(v);
    input_grads(v);
  }

  /// W~'s gradient (pr.gwst) into the weight's, each width's weight step's and the mixture's.
  void weight_grads(const view& v) {
    const op& op_ = o();
    const float* gws = pr.gwst.data();
    float* gw = pr.grad(op_.weight);
    float* gmx = pr.gmixture.data() + op_.mixed.p;
    double* red = pr.sums.data();
    const std::int64_t nw = v.nw;
    float* ghat_mix = pr.gwq.data();  // separate: d loss / d W_mix
    if (v.separate) {
      const float* wm = pr.wmix.data();
      pr.ex.for_each(nw, [=] JAQ_HOST_DEVICE(std::int64_t kx) {
        std::int64_t o, c, t;
        v.split(kx, o, c, t);
        const std::int64_t u = v.tab[v.L.inv() + c];
        float d = 0;
        if (u < v.nu) {
          d = v.psum() * gws[v.dst(o, u, t)];
        } else {
          for (std::int64_t a = 0; a < v.na; ++a) d += v.mx[v.fld(mixed_layout::active, a)] * gws[v.dst(o, u + a * v.ns, t)];
        }
        ghat_mix[kx] = d;
      });
      // p_a: <g, W_mix> over its selected block, plus the unselected block's through P
      double* gu = pr.sums2.data();
      pr.ex.row_sums(
          1, nw,
          [=] JAQ_HOST_DEVICE(std::int64_t, std::int64_t kx) {
            std::int64_t o, c, t;
            v.split(kx, o, c, t);
            const std::int64_t u = v.tab[v.L.inv() + c];
            return u < v.nu ? double(gws[v.dst(o, u, t)]) * double(wm[kx]) : 0.0;
          },
          gu);
      pr.ex.row_sums(
          v.na, nw,
          [=] JAQ_HOST_DEVICE(std::int64_t r, std::int64_t kx) {
            std::int64_t o, c, t;
            v.split(kx, o, c, t);
            const std::int64_t u = v.tab[v.L.inv() + c];
            return u < v.nu ? 0.0 : double(gws[v.dst(o, u + r * v.ns, t)]) * double(wm[kx]);
          },
          red);
      pr.ex.for_each(1, [=] JAQ_HOST_DEVICE(std::int64_t) {
        for (std::int64_t r = 0; r < v.na; ++r) gmx[v.fld(mixed_layout::active, r)] += float(red[r] + gu[0]);
      });
      // pw_i: <d W_mix, w_hat_i>
      float* gmxw = pr.gmixture.data() + op_.mixed.pw;
      pr.ex.row_sums(
          v.nwa, nw,
          [=] JAQ_HOST_DEVICE(std::int64_t r, std::int64_t kx) {
            std::int64_t o, c, t;
            v.split(kx, o, c, t);
            return double(ghat_mix[kx]) * double(v.hat(kx, v.fld(mixed_layout::wactive, r), o));
          },
          red);
      pr.ex.for_each(1, [=] JAQ_HOST_DEVICE(std::int64_t) {
        for (std::int64_t r = 0; r < v.nwa; ++r) gmxw[v.fld(mixed_layout::wactive, r)] += float(red[r]);
      });
    } else {
      // p_b: <W~'s gradient, w_hat_b> over the stacked channels that read width b
      pr.ex.row_sums(
          v.na, nw,
          [=] JAQ_HOST_DEVICE(std::int64_t r, std::int64_t kx) {
            std::int64_t o, c, t;
            v.split(kx, o, c, t);
            const std::int64_t b = v.fld(mixed_layout::active, r);
            return double(gws[v.dst(o, v.stacked(c, b), t)]) * double(v.hat(kx, b, o));
          },
          red);
      pr.ex.for_each(1, [=] JAQ_HOST_DEVICE(std::int64_t) {
        for (std::int64_t r = 0; r < v.na; ++r) gmx[v.fld(mixed_layout::active, r)] += float(red[r]);
      });
    }
    pr.ex.for_each(nw, [=] JAQ_HOST_DEVICE(std::int64_t kx) {
      std::int64_t o, c, t;
      v.split(kx, o, c, t);
      for (std::int64_t r = 0; r < v.nwa; ++r) {
        const std::int64_t b = v.fld(mixed_layout::wactive, r);
        gw[kx] += v.ghat(gws, ghat_mix, kx, b) *
                  quant::lsq_grad_input(v.w[kx], v.step_w(b, o), v.fld(mixed_layout::w_qn, b), v.fld(mixed_layout::w_qp, b));
      }
    });
    const std::int64_t inner = nw / v.co;
    for (int b : pr.mstep[i].wactive) {
      const width_quant& wq = op_.mixed.widths[std::size_t(b)];
      const double scale = quant::lsq_grad_scale(inner, wq.w_qp);
      pr.ex.row_sums(
          v.co, inner,
          [=] JAQ_HOST_DEVICE(std::int64_t o, std::int64_t kk2) {
            const std::int64_t kx = o * inner + kk2;
            return double(v.ghat(gws, ghat_mix, kx, b)) *
                   double(quant::lsq_grad_step(v.w[kx], v.step_w(b, o), v.fld(mixed_layout::w_qn, b), v.fld(mixed_layout::w_qp, b)));
          },
          red);
      float* gs = pr.grad(wq.s_w);
      pr.ex.for_each(v.co, [=] JAQ_HOST_DEVICE(std::int64_t o) { gs[o] += float(red[o] * scale); });
    }
  }

  /// X~'s gradient (pr.gstk) into the input's (unless the input is the image) and each active
  /// width's input step.
  void input_grads(const view& v) {
    const op& op_ = o();
    const float* gxs = pr.gstk.data();
    if (op_.in != 0) {
      float* gx = pr.vgrad(op_.in);
      pr.ex.for_each(op_.c_in * v.plane, [=] JAQ_HOST_DEVICE(std::int64_t e) {
        const std::int64_t c = e / v.plane, r = e % v.plane;
        const std::int64_t u = v.tab[v.L.inv() + c];
        if (u < v.nu) {
          gx[e] += gxs[u * v.plane + r];
          return;
        }
        for (std::int64_t a = 0; a < v.na; ++a) {
          const std::int64_t b = v.fld(mixed_layout::active, a);
          gx[e] += gxs[(u + a * v.ns) * v.plane + r] *
                   quant::lsq_grad_input(v.x[e], v.step_a(b), v.fld(mixed_layout::a_qn, b), v.fld(mixed_layout::a_qp, b));
        }
      });
    }
    double* red = pr.sums.data();
    const std::int64_t per_width = v.ns * v.plane;
    const std::int64_t count = std::max<std::int64_t>(v.ns * op_.h * op_.w, 1);  // per example, over the selected channels
    for (std::size_t a = 0; a < pr.mstep[i].active.size(); ++a) {
      const int b = pr.mstep[i].active[a];
      const width_quant& wq = op_.mixed.widths[std::size_t(b)];
      const double scale = quant::lsq_grad_scale(count, wq.a_qp);
      float* gs = pr.grad(wq.s_a);
      if (per_width == 0) continue;  // no selected channel: a zero gradient
      const std::int64_t first = v.nu + std::int64_t(a) * v.ns;
      pr.ex.row_sums(
          1, per_width,
          [=] JAQ_HOST_DEVICE(std::int64_t, std::int64_t e) {
            const std::int64_t j = first + e / v.plane, r = e % v.plane;
            const std::int64_t c = v.tab[v.L.src() + j];
            return double(gxs[j * v.plane + r]) * double(quant::lsq_grad_step(v.x[c * v.plane + r], v.step_a(b),
                                                                              v.fld(mixed_layout::a_qn, b), v.fld(mixed_layout::a_qp, b)));
          },
          red);
      pr.ex.for_each(1, [=] JAQ_HOST_DEVICE(std::int64_t) { gs[0] += float(red[0] * scale); });
    }
  }
};

}  // namespace jaq::cuda::train
