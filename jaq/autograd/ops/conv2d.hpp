// jaq/autograd/ops/conv2d.hpp: 2-D convolution with stride, zero padding and groups
// (depthwise when groups = in channels = out channels), no bias (a BatchNorm follows).
//
//   auto y = jaq::conv2d(tp, x, tp.param(w), {.stride = 2, .padding = 1});
//   // x (Ci, N, H, W), w (Co, Ci/groups, kh, kw) -> y (Co, N, Ho, Wo)
//   // Ho = (H + 2*padding - kh) / stride + 1
//
// im2col + OpenBLAS GEMM on fixed chunks of images run in parallel (one GEMM per group and
// chunk; each chunk's column matrix stays in cache and is rebuilt in backward rather than
// saved); a 1x1, stride-1, unpadded convolution multiplies its input directly.
// Depthwise layers (groups = in channels = out channels) use a direct kernel instead.
#pragma once

#include <algorithm>
#include <ostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "jaq/autograd/detail/depthwise.hpp"
#include "jaq/autograd/detail/gemm.hpp"
#include "jaq/autograd/detail/im2col.hpp"
#include "jaq/autograd/tape.hpp"

namespace jaq {

struct conv2d_options {
  std::int64_t stride = 1;
  std::int64_t padding = 0;
  std::int64_t groups = 1;

  friend std::ostream& operator<<(std::ostream& os, const conv2d_options& o) {
    return os << "{stride " << o.stride << ", padding " << o.padding << ", groups " << o.groups << '}';
  }
};

namespace detail {
inline conv_geometry conv_check(const jaq::shape& xs, const jaq::shape& ws, const conv2d_options& o) {
  auto fail = [&](const std::string& why) {
    std::ostringstream os;
    os << "conv2d: input " << xs << " (C, N, H, W), weight " << ws << " (Co, Ci/groups, kh, kw), options " << o << ": " << why;
    throw model_error(os.str());
  };
  if (xs.rank != 4 || ws.rank != 4) fail("both must have rank 4");
  if (o.stride < 1 || o.padding < 0 || o.groups < 1) fail("stride >= 1, padding >= 0, groups >= 1 required");
  if (xs[0] % o.groups || ws[0] % o.groups) fail("groups must divide in and out channels");
  if (ws[1] * o.groups != xs[0]) fail("weight's second extent must be in channels / groups");
  conv_geometry g{.c = xs[0], .n = xs[1], .h = xs[2], .w = xs[3], .kh = ws[2], .kw = ws[3],
                  .stride = o.stride, .pad = o.padding, .ho = 0, .wo = 0};
  if (g.h + 2 * g.pad < g.kh || g.w + 2 * g.pad < g.kw) fail("kernel larger than padded input");
  g.ho = (g.h + 2 * g.pad - g.kh) / g.stride + 1;
  g.wo = (g.w + 2 * g.pad - g.kw) / g.stride + 1;
  return g;
}
}  // namespace detail

template <scalar T>
var<T> conv2d(tape<T>& tp, var<T> x, var<T> w, conv2d_options o = {}) {
  const detail::conv_geometry g = detail::conv_check(x.shape(), w.shape(), o);
  if (o.groups > 1 && o.groups == g.c && w.shape()[0] == g.c) {
    // Depthwise: direct kernel, nothing saved beyond the input the tape already holds.
    tensor<T> y(jaq::shape{g.c, g.n, g.ho, g.wo});  // (C, N, Ho, Wo)
    detail::depthwise_forward(tp.exec(), g, x.value().data(), w.value().data(), y.data());
    return tp.record("conv2d_depthwise", std::move(y), {x, w}, [g](backward_context<T>& ctx) {
      bool ow = false;
      T* gw = ctx.needs_grad(1) ? ctx.grad_input_for_write(1, ow).data() : nullptr;
      T* gx = ctx.needs_grad(0) ? ctx.grad_input(0).data() : nullptr;
      detail::depthwise_backward(ctx.exec(), g, ctx.input(0).data(), ctx.input(1).data(), ctx.grad_output().data(), gw, ow, gx);
    });
  }
  const std::int64_t co = w.shape()[0], groups = o.groups;
  const std::int64_t cog = co / groups, kg = g.rows() / groups, howo = g.ho * g.wo, ncols = g.cols();
  const bool pointwise = g.kh == 1 && g.kw == 1 && g.stride == 1 && g.pad == 0;
  // The batch is cut into fixed chunks of images; each chunk's column matrix is built in
  // per-thread scratch (cache-resident), multiplied, and forgotten: backward rebuilds it.
  const std::int64_t chunk = detail::images_per_chunk(g);
  const std::int64_t nchunks = (g.n + chunk - 1) / chunk;
  tensor<T> y(jaq::shape{co, g.n, g.ho, g.wo});  // (Co, N, Ho, Wo) = (Co, ncols)
  {
    const detail::phase_layout L(g);
    const T* xv = x.value().data();
    const T* wp = w.value().data();
    T* yp = y.data();
    detail::blas_single_threaded();
    parallel_for(tp.exec(), 0, nchunks, [&](std::int64_t ci) {
      const std::int64_t n0 = ci * chunk, n1 = std::min(g.n, n0 + chunk), cc = (n1 - n0) * howo;
      const T* col;
      std::int64_t ldcol;
      if (pointwise) {
        col = xv + n0 * howo;  // x itself is the column matrix (Ci, N*H*W)
        ldcol = ncols;
      } else {
        T* ph = detail::scratch<T>(2, static_cast<std::size_t>(g.c * (n1 - n0) * L.plane()));
        detail::build_phases(g, L, xv, n0, n1, ph);
        T* buf = detail::scratch<T>(0, static_cast<std::size_t>(g.rows() * cc));
        detail::im2col_from_phases(g, L, ph, n1 - n0, buf);
        col = buf;
        ldcol = cc;
      }
      for (std::int64_t gi = 0; gi < groups; ++gi)
        detail::gemm(false, false, cog, cc, kg, T(1), wp + gi * cog * kg, kg, col + gi * kg * ldcol, ldcol, T(0),
                     yp + gi * cog * ncols + n0 * howo, ncols);
    });
  }
  return tp.record("conv2d", std::move(y), {x, w},
      [g, co, groups, cog, kg, howo, ncols, pointwise, chunk, nchunks](backward_context<T>& ctx) {
        const T* gy = ctx.grad_output().data();  // (Co, N*Ho*Wo)
        const T* xv = ctx.input(0).data();
        const T* wv = ctx.input(1).data();
        const bool need_w = ctx.needs_grad(1), need_x = ctx.needs_grad(0);
        const detail::phase_layout L(g);
        // Weight gradient: one partial (Co, kg) per chunk, added in chunk order.
        std::vector<T> part(need_w ? static_cast<std::size_t>(nchunks * co * kg) : 0);
        T* gx = nullptr;
        bool gx_ow = false;
        if (need_x) gx = ctx.grad_input_for_write(0, gx_ow).data();
        parallel_for(ctx.exec(), 0, nchunks, [&](std::int64_t ci) {
          const std::int64_t n0 = ci * chunk, n1 = std::min(g.n, n0 + chunk), cc = (n1 - n0) * howo;
          if (need_w) {
            const T* col;
            std::int64_t ldcol;
            if (pointwise) {
              col = xv + n0 * howo;
              ldcol = ncols;
            } else {
              T* ph = detail::scratch<T>(2, static_cast<std::size_t>(g.c * (n1 - n0) * L.plane()));
              detail::build_phases(g, L, xv, n0, n1, ph);
              T* buf = detail::scratch<T>(0, static_cast<std::size_t>(g.rows() * cc));
              detail::im2col_from_phases(g, L, ph, n1 - n0, buf);
              col = buf;
              ldcol = cc;
            }
            T* pw = part.data() + ci * co * kg;
            for (std::int64_t gi = 0; gi < groups; ++gi)  // gW_g = gY_g col_g^T
              detail::gemm(false, true, cog, kg, cc, T(1), gy + gi * cog * ncols + n0 * howo, ncols,
                           col + gi * kg * ldcol, ldcol, T(0), pw + gi * cog * kg, kg);
          }
          if (need_x) {  // dcol_g = W_g^T gY_g, then col2im
            if (pointwise) {
              for (std::int64_t gi = 0; gi < groups; ++gi)
                detail::gemm(true, false, kg, cc, cog, T(1), wv + gi * cog * kg, kg, gy + gi * cog * ncols + n0 * howo,
                             ncols, gx_ow ? T(0) : T(1), gx + gi * kg * ncols + n0 * howo, ncols);
            } else {
              T* dcol = detail::scratch<T>(1, static_cast<std::size_t>(g.rows() * cc));
              for (std::int64_t gi = 0; gi < groups; ++gi)
                detail::gemm(true, false, kg, cc, cog, T(1), wv + gi * cog * kg, kg, gy + gi * cog * ncols + n0 * howo,
                             ncols, T(0), dcol + gi * kg * cc, cc);
              const std::size_t phn = static_cast<std::size_t>(g.c * (n1 - n0) * L.plane());
              T* gph = detail::scratch<T>(2, phn);  // the input's phases are no longer needed
              std::fill(gph, gph + phn, T(0));
              detail::col2im_to_phases(g, L, dcol, n1 - n0, gph);
              detail::add_phases_to_input(g, L, gph, n0, n1, gx, gx_ow);
            }
          }
        });
        if (need_w) {
          bool ow = false;
          tensor<T>& gw = ctx.grad_input_for_write(1, ow);
          const std::int64_t m = co * kg;
          for (std::int64_t i = 0; i < m; ++i) {
            T s = part[static_cast<std::size_t>(i)];
            for (std::int64_t ci = 1; ci < nchunks; ++ci) s += part[static_cast<std::size_t>(ci * m + i)];
            gw[i] = ow ? s : gw[i] + s;
          }
        }
      });
}

}  // namespace jaq
