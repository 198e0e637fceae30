// jaq/quant/detail/conv_kernels.hpp: convolution forward and backward on raw buffers, for the
// fused quantized ops (qconv2d, the mixed-precision search conv). Unlike jaq::conv2d they keep
// no im2col matrix between forward and backward: backward rebuilds it from the saved input, so
// an op saves one activation-sized tensor (as PyTorch's conv does), not kh*kw of them.
// Layout as the engine's: x (C, N, H, W), w (Co, C/groups, kh, kw), y (Co, N, Ho, Wo).
// The GEMMs are the engine's OpenBLAS wrapper (jaq/autograd/detail/gemm.hpp), one call per
// chunk of images and group; a 1x1 convolution on a contiguous input reads it in place.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <sstream>
#include <string>
#include <utility>
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

/// Images per im2col chunk: about 8192 columns, so the scratch stays small (rows x 8192).
inline std::int64_t images_per_chunk(const conv_shape& g) {
  return std::max<std::int64_t>(1, 8192 / std::max<std::int64_t>(1, g.ho * g.wo));
}

/// Where each input channel's (N, H, W) block lives: x + c*N*H*W for a plain tensor; the CSQ
/// conv points its unselected channels into x and the quantized ones into its own tensor.
template <scalar T>
std::vector<const T*> planes_of(const conv_shape& g, const T* x) {
  std::vector<const T*> p(static_cast<std::size_t>(g.c));
  for (std::int64_t c = 0; c < g.c; ++c) p[static_cast<std::size_t>(c)] = x + c * g.n * g.h * g.w;
  return p;
}

/// True when the planes are one contiguous (C, N, H, W) tensor (a 1x1 conv then reads it in place).
template <scalar T>
bool contiguous(const conv_shape& g, const T* const* planes) {
  for (std::int64_t c = 1; c < g.c; ++c)
    if (planes[c] != planes[0] + c * g.n * g.h * g.w) return false;
  return true;
}

/// col (rows, (n1 - n0) * Ho * Wo) from images [n0, n1) of the channel planes; zeros outside.
template <scalar T>
void im2col(const conv_shape& g, const T* const* planes, std::int64_t n0, std::int64_t n1, T* col) {
  const std::int64_t hw = g.h * g.w, howo = g.ho * g.wo, ccols = (n1 - n0) * howo;
  for (std::int64_t r = 0; r < g.rows(); ++r) {
    const std::int64_t c = r / (g.kh * g.kw), ky = (r / g.kw) % g.kh, kx = r % g.kw;
    for (std::int64_t n = n0; n < n1; ++n) {
      const T* src = planes[c] + n * hw;
      T* dst = col + r * ccols + (n - n0) * howo;
      for (std::int64_t oy = 0; oy < g.ho; ++oy) {
        const std::int64_t iy = oy * g.stride - g.pad + ky;
        T* d = dst + oy * g.wo;
        if (iy < 0 || iy >= g.h) {
          std::fill(d, d + g.wo, T(0));
          continue;
        }
        for (std::int64_t ox = 0; ox < g.wo; ++ox) {
          const std::int64_t ix = ox * g.stride - g.pad + kx;
          d[ox] = (ix >= 0 && ix < g.w) ? src[iy * g.w + ix] : T(0);
        }
      }
    }
  }
}

/// The column matrix of images [n0, n1) and its leading dimension: x itself where `direct` (a 1x1
/// conv over contiguous planes), else im2col into `scratch`.
template <scalar T>
std::pair<const T*, std::int64_t> columns(const conv_shape& g, const T* const* x, std::int64_t n0, std::int64_t n1,
                                          bool direct, std::vector<T>& scratch) {
  if (direct) return {x[0] + n0 * g.ho * g.wo, g.cols()};
  const std::int64_t cc = (n1 - n0) * g.ho * g.wo;
  scratch.resize(static_cast<std::size_t>(g.rows() * cc));
  im2col(g, x, n0, n1, scratch.data());
  return {scratch.data(), cc};
}

/// Adds col2im(dcol) of images [n0, n1) into gx (their planes only).
template <scalar T>
void col2im_add(const conv_shape& g, const T* dcol, std::int64_t n0, std::int64_t n1, T* gx) {
  const std::int64_t hw = g.h * g.w, howo = g.ho * g.wo, ccols = (n1 - n0) * howo;
  for (std::int64_t c = 0; c < g.c; ++c)
    for (std::int64_t n = n0; n < n1; ++n) {
      T* dst = gx + (c * g.n + n) * hw;
      for (std::int64_t ky = 0; ky < g.kh; ++ky)
        for (std::int64_t kx = 0; kx < g.kw; ++kx) {
          const T* src = dcol + ((c * g.kh + ky) * g.kw + kx) * ccols + (n - n0) * howo;
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
}

// Depthwise convolutions (groups = C = Co, one kh x kw filter per channel) run as direct loops:
// as GEMMs they would be C tiny multiplications per chunk.
inline bool is_depthwise(const conv_shape& g, std::int64_t co, std::int64_t groups) {
  return groups > 1 && groups == g.c && co == g.c;
}

// Depthwise layers run the engine's one direct kernel (jaq/autograd/detail/depthwise.hpp).
inline jaq::detail::conv_geometry geometry_of(const conv_shape& g) {
  return {.c = g.c, .n = g.n, .h = g.h, .w = g.w, .kh = g.kh, .kw = g.kw, .stride = g.stride, .pad = g.pad, .ho = g.ho, .wo = g.wo};
}

template <scalar T>
void depthwise_forward(tbb_backend ex, const conv_shape& g, const T* const* x, const T* w, T* y) {
  jaq::detail::depthwise_forward(ex, geometry_of(g), x, w, y);
}

template <scalar T>
void depthwise_backward_weight(tbb_backend ex, const conv_shape& g, const T* const* x, const T* gy, T* gw) {
  jaq::detail::depthwise_backward<T>(ex, geometry_of(g), x, nullptr, gy, gw, true, nullptr);
}

template <scalar T>
void depthwise_backward_input(tbb_backend ex, const conv_shape& g, const T* w, const T* gy, T* gx) {
  std::fill(gx, gx + g.c * g.n * g.h * g.w, T(0));
  const std::vector<const T*> none(static_cast<std::size_t>(g.c), nullptr);
  jaq::detail::depthwise_backward<T>(ex, geometry_of(g), none.data(), w, gy, nullptr, true, gx);
}

// The three kernels below work on chunks of images: each chunk builds its own im2col scratch
// (rows x chunk columns), so the scratch never holds the whole batch. Chunks run in parallel;
// their boundaries depend only on the shapes, so results are the same for any thread count.

/// y = conv(x, w), overwriting y; x given by its channel planes.
template <scalar T>
void conv_forward(tbb_backend ex, const conv_shape& g, std::int64_t co, std::int64_t groups, const T* const* x,
                  const T* w, T* y) {
  if (is_depthwise(g, co, groups)) return depthwise_forward(ex, g, x, w, y);
  const std::int64_t cog = co / groups, kg = g.rows() / groups, cols = g.cols(), howo = g.ho * g.wo;
  const bool direct = g.pointwise() && contiguous(g, x);  // a 1x1 conv's im2col is x itself
  jaq::detail::blas_single_threaded();
  parallel_for_chunks(ex, 0, g.n, images_per_chunk(g), [&](std::int64_t n0, std::int64_t n1) {
    const std::int64_t cc = (n1 - n0) * howo;
    std::vector<T> col;
    const auto [cp, ld] = columns(g, x, n0, n1, direct, col);
    for (std::int64_t gi = 0; gi < groups; ++gi)
      jaq::detail::gemm(false, false, cog, cc, kg, T(1), w + gi * cog * kg, kg, cp + gi * kg * ld, ld, T(0),
                        y + gi * cog * cols + n0 * howo, cols);
  });
}

/// gw = dL/dw from x (channel planes) and gy, overwriting gw. Partial products per chunk, added
/// in chunk order.
template <scalar T>
void conv_backward_weight(tbb_backend ex, const conv_shape& g, std::int64_t co, std::int64_t groups,
                          const T* const* x, const T* gy, T* gw) {
  if (is_depthwise(g, co, groups)) return depthwise_backward_weight(ex, g, x, gy, gw);
  const std::int64_t cog = co / groups, kg = g.rows() / groups, cols = g.cols(), howo = g.ho * g.wo;
  const std::int64_t per = images_per_chunk(g), chunks = (g.n + per - 1) / per, nw = co * kg;
  std::vector<T> part(static_cast<std::size_t>(chunks * nw));
  const bool direct = g.pointwise() && contiguous(g, x);
  jaq::detail::blas_single_threaded();
  parallel_for(ex, 0, chunks, [&](std::int64_t ci) {
    const std::int64_t n0 = ci * per, n1 = std::min(g.n, n0 + per), cc = (n1 - n0) * howo;
    std::vector<T> col;
    const auto [cp, ld] = columns(g, x, n0, n1, direct, col);
    for (std::int64_t gi = 0; gi < groups; ++gi)
      jaq::detail::gemm(false, true, cog, kg, cc, T(1), gy + gi * cog * cols + n0 * howo, cols, cp + gi * kg * ld,
                        ld, T(0), part.data() + ci * nw + gi * cog * kg, kg);
  });
  for (std::int64_t i = 0; i < nw; ++i) {
    T s = T(0);
    for (std::int64_t ci = 0; ci < chunks; ++ci) s += part[static_cast<std::size_t>(ci * nw + i)];
    gw[i] = s;
  }
}

/// Contiguous (C, N, H, W) input versions of the two above.
template <scalar T>
void conv_forward(tbb_backend ex, const conv_shape& g, std::int64_t co, std::int64_t groups, const T* x,
                  const T* w, T* y) {
  const auto p = planes_of(g, x);
  conv_forward(ex, g, co, groups, p.data(), w, y);
}
template <scalar T>
void conv_backward_weight(tbb_backend ex, const conv_shape& g, std::int64_t co, std::int64_t groups, const T* x,
                          const T* gy, T* gw) {
  const auto p = planes_of(g, x);
  conv_backward_weight(ex, g, co, groups, p.data(), gy, gw);
}

/// gx = dL/dx from w and gy, overwriting gx (C*N*H*W elements).
template <scalar T>
void conv_backward_input(tbb_backend ex, const conv_shape& g, std::int64_t co, std::int64_t groups, const T* w,
                         const T* gy, T* gx) {
  if (is_depthwise(g, co, groups)) return depthwise_backward_input(ex, g, w, gy, gx);
  const std::int64_t cog = co / groups, kg = g.rows() / groups, cols = g.cols(), howo = g.ho * g.wo;
  const std::int64_t hw = g.h * g.w;
  jaq::detail::blas_single_threaded();
  if (g.pointwise()) {  // dcol is gx itself: write each chunk's rows in place
    parallel_for_chunks(ex, 0, g.n, images_per_chunk(g), [&](std::int64_t n0, std::int64_t n1) {
      const std::int64_t cc = (n1 - n0) * howo;
      for (std::int64_t gi = 0; gi < groups; ++gi)
        jaq::detail::gemm(true, false, kg, cc, cog, T(1), w + gi * cog * kg, kg, gy + gi * cog * cols + n0 * howo, cols,
                          T(0), gx + gi * kg * cols + n0 * howo, cols);
    });
    return;
  }
  parallel_for_chunks(ex, 0, g.n, images_per_chunk(g), [&](std::int64_t n0, std::int64_t n1) {
    const std::int64_t cc = (n1 - n0) * howo;
    std::vector<T> dcol(static_cast<std::size_t>(g.rows() * cc));
    for (std::int64_t gi = 0; gi < groups; ++gi)
      jaq::detail::gemm(true, false, kg, cc, cog, T(1), w + gi * cog * kg, kg, gy + gi * cog * cols + n0 * howo, cols,
                        T(0), dcol.data() + gi * kg * cc, cc);
    for (std::int64_t c = 0; c < g.c; ++c) std::fill(gx + (c * g.n + n0) * hw, gx + (c * g.n + n1) * hw, T(0));
    col2im_add(g, dcol.data(), n0, n1, gx);
  });
}

}  // namespace jaq::quant::detail
