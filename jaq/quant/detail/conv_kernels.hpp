// jaq/quant/detail/conv_kernels.hpp: convolution forward and backward on raw buffers, for the
// fused quantized ops (qconv2d, the mixed-precision search conv). Unlike jaq::conv2d they keep
// no im2col matrix between forward and backward: backward rebuilds it from the saved input, so
// an op saves one activation-sized tensor (as PyTorch's conv does), not kh*kw of them.
// Layout as the engine's: x (C, N, H, W), w (Co, C/groups, kh, kw), y (Co, N, Ho, Wo).
#pragma once

#include <cstdint>
#include <vector>

#include "jaq/autograd/detail/gemm.hpp"
#include "jaq/autograd/detail/im2col.hpp"
#include "jaq/core/parallel.hpp"

namespace jaq::quant::detail {

using jaq::detail::conv_geometry;

inline bool is_pointwise(const conv_geometry& g) {
  return g.kh == 1 && g.kw == 1 && g.stride == 1 && g.pad == 0;
}

/// y = conv(x, w), overwriting y.
template <scalar T>
void conv_forward(tbb_backend ex, const conv_geometry& g, std::int64_t co, std::int64_t groups,
                  const T* x, const T* w, T* y) {
  const std::int64_t cog = co / groups, kg = g.rows() / groups, cols = g.cols();
  std::vector<T> colbuf;
  const T* col = x;
  if (!is_pointwise(g)) {
    colbuf.resize(static_cast<std::size_t>(g.rows() * cols));
    jaq::detail::im2col(ex, g, x, colbuf.data());
    col = colbuf.data();
  }
  if (groups == 1) {
    jaq::detail::gemm_columns<T>(ex, false, co, cols, kg, T(1), w, kg, col, cols, T(0), y, cols);
  } else {
    jaq::detail::blas_single_threaded();
    parallel_for(ex, 0, groups, [&](std::int64_t gi) {
      jaq::detail::gemm(false, false, cog, cols, kg, T(1), w + gi * cog * kg, kg, col + gi * kg * cols, cols,
                        T(0), y + gi * cog * cols, cols);
    });
  }
}

/// gw = dL/dw from x and gy, overwriting gw.
template <scalar T>
void conv_backward_weight(tbb_backend ex, const conv_geometry& g, std::int64_t co, std::int64_t groups,
                          const T* x, const T* gy, T* gw) {
  const std::int64_t cog = co / groups, kg = g.rows() / groups, cols = g.cols();
  std::vector<T> colbuf;
  const T* col = x;
  if (!is_pointwise(g)) {
    colbuf.resize(static_cast<std::size_t>(g.rows() * cols));
    jaq::detail::im2col(ex, g, x, colbuf.data());
    col = colbuf.data();
  }
  if (groups == 1) {
    jaq::detail::gemm_abt_ksplit<T>(ex, co, kg, cols, gy, cols, col, cols, T(0), gw, kg);
  } else {
    parallel_for(ex, 0, groups, [&](std::int64_t gi) {
      jaq::detail::gemm_abt_ksplit<T>(tbb_backend{1}, cog, kg, cols, gy + gi * cog * cols, cols,
                                      col + gi * kg * cols, cols, T(0), gw + gi * cog * kg, kg);
    });
  }
}

/// gx = dL/dx from w and gy, overwriting gx (size C*N*H*W).
template <scalar T>
void conv_backward_input(tbb_backend ex, const conv_geometry& g, std::int64_t co, std::int64_t groups,
                         const T* w, const T* gy, T* gx) {
  const std::int64_t cog = co / groups, kg = g.rows() / groups, cols = g.cols();
  const bool pw = is_pointwise(g);
  std::vector<T> dcolbuf;
  T* dcol = gx;
  if (!pw) {
    dcolbuf.resize(static_cast<std::size_t>(g.rows() * cols));
    dcol = dcolbuf.data();
  }
  if (groups == 1) {
    jaq::detail::gemm_columns<T>(ex, true, kg, cols, co, T(1), w, kg, gy, cols, T(0), dcol, cols);
  } else {
    jaq::detail::blas_single_threaded();
    parallel_for(ex, 0, groups, [&](std::int64_t gi) {
      jaq::detail::gemm(true, false, kg, cols, cog, T(1), w + gi * cog * kg, kg, gy + gi * cog * cols, cols,
                        T(0), dcol + gi * kg * cols, cols);
    });
  }
  if (!pw) {
    std::fill(gx, gx + g.c * g.n * g.h * g.w, T(0));
    jaq::detail::col2im_add(ex, g, dcol, gx);
  }
}

}  // namespace jaq::quant::detail
