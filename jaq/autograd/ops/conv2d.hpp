// jaq/autograd/ops/conv2d.hpp: 2-D convolution with stride, zero padding and groups
// (depthwise when groups = in channels = out channels), no bias (a BatchNorm follows).
//
//   auto y = jaq::conv2d(tp, x, tp.param(w), {.stride = 2, .padding = 1});
//   // x (Ci, N, H, W), w (Co, Ci/groups, kh, kw) -> y (Co, N, Ho, Wo)
//   // Ho = (H + 2*padding - kh) / stride + 1
//
// im2col + OpenBLAS GEMM over the whole batch (one GEMM per group); a 1x1, stride-1,
// unpadded convolution skips im2col. The im2col matrix is saved for the weight gradient.
#pragma once

#include <ostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

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
  const std::int64_t co = w.shape()[0], groups = o.groups;
  const std::int64_t cog = co / groups, kg = g.rows() / groups, cols = g.cols();
  const bool pointwise = g.kh == 1 && g.kw == 1 && g.stride == 1 && g.pad == 0;
  const auto exec = tp.exec();

  tensor<T> col;
  if (!pointwise) {
    col = tensor<T>(jaq::shape{g.rows(), cols});  // (Ci*kh*kw, N*Ho*Wo)
    detail::im2col(exec, g, x.value().data(), col.data());
  }
  const T* colp = pointwise ? x.value().data() : col.data();
  tensor<T> y(jaq::shape{co, g.n, g.ho, g.wo});  // (Co, N, Ho, Wo)
  const T* wp = w.value().data();
  if (groups == 1) {
    detail::gemm_columns<T>(exec, false, co, cols, kg, T(1), wp, kg, colp, cols, T(0), y.data(), cols);
  } else {
    detail::blas_single_threaded();
    parallel_for(exec, 0, groups, [&](std::int64_t gi) {
      detail::gemm(false, false, cog, cols, kg, T(1), wp + gi * cog * kg, kg, colp + gi * kg * cols,
                   cols, T(0), y.data() + gi * cog * cols, cols);
    });
  }

  std::vector<tensor<T>> saved;
  const bool keep_col = !pointwise && tp.grad_enabled() && w.requires_grad();
  if (keep_col) saved.push_back(std::move(col));
  return tp.record(
      "conv2d", std::move(y), {x, w},
      [g, co, groups, cog, kg, cols, pointwise, keep_col](backward_context<T>& ctx) {
        const auto ex = ctx.exec();
        const T* gy = ctx.grad_output().data();  // (Co, N*Ho*Wo)
        const T* wv = ctx.input(1).data();
        if (ctx.needs_grad(1)) {  // gW_g += gY_g col_g^T
          JAQ_ASSERT(keep_col || pointwise);
          const T* colv = pointwise ? ctx.input(0).data() : ctx.saved(0).data();
          bool ow = false;
          tensor<T>& gw = ctx.grad_input_for_write(1, ow);
          if (groups == 1) {
            detail::gemm_abt_ksplit<T>(ex, co, kg, cols, gy, cols, colv, cols, ow ? T(0) : T(1), gw.data(), kg);
          } else {
            parallel_for(ex, 0, groups, [&](std::int64_t gi) {
              detail::gemm_abt_ksplit<T>(tbb_backend{1}, cog, kg, cols, gy + gi * cog * cols, cols,
                                         colv + gi * kg * cols, cols, ow ? T(0) : T(1),
                                         gw.data() + gi * cog * kg, kg);
            });
          }
        }
        if (ctx.needs_grad(0)) {  // dcol_g = W_g^T gY_g, then col2im
          if (pointwise) {
            bool ow = false;
            tensor<T>& gx = ctx.grad_input_for_write(0, ow);
            if (groups == 1) {
              detail::gemm_columns<T>(ex, true, kg, cols, cog, T(1), wv, kg, gy, cols, ow ? T(0) : T(1), gx.data(), cols);
            } else {
              parallel_for(ex, 0, groups, [&](std::int64_t gi) {
                detail::gemm(true, false, kg, cols, cog, T(1), wv + gi * cog * kg, kg, gy + gi * cog * cols, cols,
                             ow ? T(0) : T(1), gx.data() + gi * kg * cols, cols);
              });
            }
            return;
          }
          tensor<T> dcol(jaq::shape{g.rows(), cols});
          if (groups == 1) {
            detail::gemm_columns<T>(ex, true, kg, cols, cog, T(1), wv, kg, gy, cols, T(0), dcol.data(), cols);
          } else {
            parallel_for(ex, 0, groups, [&](std::int64_t gi) {
              detail::gemm(true, false, kg, cols, cog, T(1), wv + gi * cog * kg, kg, gy + gi * cog * cols, cols,
                           T(0), dcol.data() + gi * kg * cols, cols);
            });
          }
          tensor<T>& gx = ctx.grad_input(0);
          detail::col2im_add(ex, g, dcol.data(), gx.data());
        }
      },
      std::move(saved));
}

}  // namespace jaq
