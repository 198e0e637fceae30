// jaq/quant/detail/conv_kernels.hpp: convolution forward and backward on raw buffers, for the
// fused quantized ops (qconv2d, the mixed-precision search conv). Unlike jaq::conv2d they keep
// no im2col matrix between forward and backward: backward rebuilds it from the saved input, so
// an op saves one activation-sized tensor (as PyTorch's conv does), not kh*kw of them.
// Layout as the engine's: x (C, N, H, W), w (Co, C/groups, kh, kw), y (Co, N, Ho, Wo).
// The GEMMs are the engine's OpenBLAS wrapper (jaq/autograd/detail/gemm.hpp).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "jaq/autograd/detail/gemm.hpp"
#include "jaq/autograd/ops/conv2d.hpp"
#include "jaq/autograd/shape.hpp"
#include "jaq/core/error.hpp"
#include "jaq/core/parallel.hpp"

namespace jaq::quant::detail {

/// Extents of one convolution: input (c, n, h, w), kernel kh x kw, output ho x wo.
struct conv_shape {
  std::int64_t c = 0, n = 0, h = 0, w = 0;
  std::int64_t kh = 1, kw = 1, stride = 1, pad = 0;
  std::int64_t ho = 0, wo = 0;

  std::int64_t rows() const { return c * kh * kw; }  ///< im2col rows (c, ky, kx)
  std::int64_t cols() const { return n * ho * wo; }  ///< im2col columns (n, oy, ox)
  bool pointwise() const { return kh == 1 && kw == 1 && stride == 1 && pad == 0; }
};

/// Shape checks with model_error naming the op and both shapes.
inline conv_shape check_conv(const char* op, const jaq::shape& xs, const jaq::shape& ws, const conv2d_options& o) {
  auto fail = [&](const std::string& why) {
    std::ostringstream os;
    os << op << ": input " << xs << " (C, N, H, W), weight " << ws << " (Co, Ci/groups, kh, kw), options " << o << ": " << why;
    throw model_error(os.str());
  };
  if (xs.rank != 4 || ws.rank != 4) fail("both must have rank 4");
  if (o.stride < 1 || o.padding < 0 || o.groups < 1) fail("stride >= 1, padding >= 0, groups >= 1 required");
  if (xs[0] % o.groups || ws[0] % o.groups) fail("groups must divide in and out channels");
  if (ws[1] * o.groups != xs[0]) fail("weight's second extent must be in channels / groups");
  conv_shape g{.c = xs[0], .n = xs[1], .h = xs[2], .w = xs[3], .kh = ws[2], .kw = ws[3], .stride = o.stride, .pad = o.padding};
  if (g.h + 2 * g.pad < g.kh || g.w + 2 * g.pad < g.kw) fail("kernel larger than padded input");
  g.ho = (g.h + 2 * g.pad - g.kh) / g.stride + 1;
  g.wo = (g.w + 2 * g.pad - g.kw) / g.stride + 1;
  return g;
}

/// col (rows, cols) from x; zeros outside the image.
template <scalar T>
void im2col(tbb_backend ex, const conv_shape& g, const T* x, T* col) {
  const std::int64_t hw = g.h * g.w, howo = g.ho * g.wo;
  parallel_for_chunks(ex, 0, g.rows() * g.n, 16, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t t = lo; t < hi; ++t) {
      const std::int64_t r = t / g.n, n = t % g.n;
      const std::int64_t c = r / (g.kh * g.kw), ky = (r / g.kw) % g.kh, kx = r % g.kw;
      const T* src = x + (c * g.n + n) * hw;
      T* dst = col + r * g.cols() + n * howo;
      for (std::int64_t oy = 0; oy < g.ho; ++oy) {
        const std::int64_t iy = oy * g.stride - g.pad + ky;
        for (std::int64_t ox = 0; ox < g.wo; ++ox) {
          const std::int64_t ix = ox * g.stride - g.pad + kx;
          dst[oy * g.wo + ox] = (iy >= 0 && iy < g.h && ix >= 0 && ix < g.w) ? src[iy * g.w + ix] : T(0);
        }
      }
    }
  });
}

/// gx = col2im(dcol) (overwrites gx); each (channel, image) plane is summed in a fixed order.
template <scalar T>
void col2im(tbb_backend ex, const conv_shape& g, const T* dcol, T* gx) {
  const std::int64_t hw = g.h * g.w, howo = g.ho * g.wo;
  parallel_for_chunks(ex, 0, g.c * g.n, 4, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t t = lo; t < hi; ++t) {
      const std::int64_t c = t / g.n, n = t % g.n;
      T* dst = gx + (c * g.n + n) * hw;
      std::fill(dst, dst + hw, T(0));
      for (std::int64_t ky = 0; ky < g.kh; ++ky)
        for (std::int64_t kx = 0; kx < g.kw; ++kx) {
          const T* src = dcol + ((c * g.kh + ky) * g.kw + kx) * g.cols() + n * howo;
          for (std::int64_t oy = 0; oy < g.ho; ++oy) {
            const std::int64_t iy = oy * g.stride - g.pad + ky;
            if (iy < 0 || iy >= g.h) continue;
            for (std::int64_t ox = 0; ox < g.wo; ++ox) {
              const std::int64_t ix = ox * g.stride - g.pad + kx;
              if (ix >= 0 && ix < g.w) dst[iy * g.w + ix] += src[oy * g.wo + ox];
            }
          }
        }
    }
  });
}

/// y = conv(x, w), overwriting y.
template <scalar T>
void conv_forward(tbb_backend ex, const conv_shape& g, std::int64_t co, std::int64_t groups, const T* x,
                  const T* w, T* y) {
  const std::int64_t cog = co / groups, kg = g.rows() / groups, cols = g.cols();
  std::vector<T> colbuf;
  const T* col = x;
  if (!g.pointwise()) {
    colbuf.resize(static_cast<std::size_t>(g.rows() * cols));
    im2col(ex, g, x, colbuf.data());
    col = colbuf.data();
  }
  if (groups == 1) {
    jaq::detail::gemm_columns<T>(ex, false, co, cols, kg, T(1), w, kg, col, cols, T(0), y, cols);
  } else {
    jaq::detail::blas_single_threaded();
    parallel_for(ex, 0, groups, [&](std::int64_t gi) {
      jaq::detail::gemm(false, false, cog, cols, kg, T(1), w + gi * cog * kg, kg, col + gi * kg * cols, cols, T(0),
                        y + gi * cog * cols, cols);
    });
  }
}

/// gw = dL/dw from x and gy, overwriting gw.
template <scalar T>
void conv_backward_weight(tbb_backend ex, const conv_shape& g, std::int64_t co, std::int64_t groups, const T* x,
                          const T* gy, T* gw) {
  const std::int64_t cog = co / groups, kg = g.rows() / groups, cols = g.cols();
  std::vector<T> colbuf;
  const T* col = x;
  if (!g.pointwise()) {
    colbuf.resize(static_cast<std::size_t>(g.rows() * cols));
    im2col(ex, g, x, colbuf.data());
    col = colbuf.data();
  }
  if (groups == 1) {
    jaq::detail::gemm_abt_ksplit<T>(ex, co, kg, cols, gy, cols, col, cols, T(0), gw, kg);
  } else {
    jaq::detail::blas_single_threaded();
    parallel_for(ex, 0, groups, [&](std::int64_t gi) {
      jaq::detail::gemm(false, true, cog, kg, cols, T(1), gy + gi * cog * cols, cols, col + gi * kg * cols, cols, T(0),
                        gw + gi * cog * kg, kg);
    });
  }
}

/// gx = dL/dx from w and gy, overwriting gx (C*N*H*W elements).
template <scalar T>
void conv_backward_input(tbb_backend ex, const conv_shape& g, std::int64_t co, std::int64_t groups, const T* w,
                         const T* gy, T* gx) {
  const std::int64_t cog = co / groups, kg = g.rows() / groups, cols = g.cols();
  std::vector<T> dcolbuf;
  T* dcol = gx;
  if (!g.pointwise()) {
    dcolbuf.resize(static_cast<std::size_t>(g.rows() * cols));
    dcol = dcolbuf.data();
  }
  if (groups == 1) {
    jaq::detail::gemm_columns<T>(ex, true, kg, cols, co, T(1), w, kg, gy, cols, T(0), dcol, cols);
  } else {
    jaq::detail::blas_single_threaded();
    parallel_for(ex, 0, groups, [&](std::int64_t gi) {
      jaq::detail::gemm(true, false, kg, cols, cog, T(1), w + gi * cog * kg, kg, gy + gi * cog * cols, cols, T(0),
                        dcol + gi * kg * cols, cols);
    });
  }
  if (!g.pointwise()) col2im(ex, g, dcol, gx);
}

}  // namespace jaq::quant::detail
