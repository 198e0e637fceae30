// jaq/autograd/detail/conv_engine.hpp: THE convolution engine. One geometry (conv_geometry),
// one check, one chunking rule, one im2col/col2im (through phase planes, im2col.hpp), one
// depthwise kernel (depthwise.hpp) and one direct kernel for a single input channel (the first
// layer on grayscale images, single_input.hpp), used by the full-precision op (jaq::conv2d),
// the fused fake-quant op (quant::qconv2d), CSQ's mixed-precision conv (nas::mixed_conv2d) and, through
// its geometry, the integer reference. The backend is a template parameter (serial_backend,
// tbb_backend or a pool's backend; a device backend plugs in beside them).
//
// Layout: x (C, N, H, W) given as one plane pointer per input channel (each (N, H, W), so the
// CSQ conv can point its channels into different tensors), w (Co, C/groups, kh, kw),
// y (Co, N, Ho, Wo). The batch is cut into fixed chunks of images (images_per_chunk, a function
// of the shapes only); each chunk's column matrix is built in per-thread scratch, multiplied
// (OpenBLAS, one call per group) and forgotten: backward rebuilds it rather than keeping it.
// Weight gradients are summed per chunk and the partials added in chunk order, so every result
// is the same for every thread count.
//
//   const auto g = jaq::detail::conv_check("conv2d", x.shape(), w.shape(), {.stride = 2, .padding = 1});
//   const auto planes = jaq::detail::channel_planes(g, x.data());
//   jaq::detail::conv_forward(pool.backend(), g, co, 1, planes.data(), w.data(), y.data());
#pragma once

#include <algorithm>
#include <cstdint>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "jaq/autograd/detail/depthwise.hpp"
#include "jaq/autograd/detail/gemm.hpp"
#include "jaq/autograd/detail/im2col.hpp"
#include "jaq/autograd/detail/single_input.hpp"
#include "jaq/autograd/shape.hpp"
#include "jaq/core/backend.hpp"
#include "jaq/core/error.hpp"
#include "jaq/core/parallel.hpp"

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

/// The geometry of x (C, N, H, W) convolved with w (Co, C/groups, kh, kw); model_error naming
/// `op`, both shapes and the options otherwise.
inline conv_geometry conv_check(const char* op, const jaq::shape& xs, const jaq::shape& ws, const conv2d_options& o) {
  auto fail = [&](const std::string& why) {
    std::ostringstream os;
    os << op << ": input " << xs << " (C, N, H, W), weight " << ws << " (Co, Ci/groups, kh, kw), options " << o << ": " << why;
    throw model_error(os.str());
  };
  if (xs.rank != 4 || ws.rank != 4) fail("both must have rank 4");
  if (o.stride < 1 || o.padding < 0 || o.groups < 1) fail("stride >= 1, padding >= 0, groups >= 1 required");
  if (xs[0] % o.groups || ws[0] % o.groups) fail("groups must divide in and out channels");
  if (ws[1] * o.groups != xs[0]) fail("weight's second extent must be in channels / groups");
  conv_geometry g{.c = xs[0],
                  .n = xs[1],
                  .h = xs[2],
                  .w = xs[3],
                  .kh = ws[2],
                  .kw = ws[3],
                  .stride = o.stride,
                  .pad = o.padding,
                  .ho = 0,
                  .wo = 0,
                  .co = ws[0],
                  .groups = o.groups};
  if (g.h + 2 * g.pad < g.kh || g.w + 2 * g.pad < g.kw) fail("kernel larger than padded input");
  g.ho = (g.h + 2 * g.pad - g.kh) / g.stride + 1;
  g.wo = (g.w + 2 * g.pad - g.kw) / g.stride + 1;
  return g;
}

/// Depthwise (groups = C = Co, one filter per channel): the direct kernel, not a GEMM per channel.
inline bool is_depthwise(const conv_geometry& g, std::int64_t co, std::int64_t groups) { return groups > 1 && groups == g.c && co == g.c; }

/// A 1x1, stride-1, unpadded convolution: x itself is its column matrix.
inline bool is_pointwise(const conv_geometry& g) { return g.kh == 1 && g.kw == 1 && g.stride == 1 && g.pad == 0; }

/// One input channel, no groups, and not pointwise (that is already a GEMM on x itself): the
/// direct kernel of single_input.hpp.
inline bool is_single_input(const conv_geometry& g, std::int64_t groups) { return g.c == 1 && groups == 1 && !is_pointwise(g); }

/// True when the planes are one contiguous (C, N, H, W) tensor.
template <scalar T>
bool planes_contiguous(const conv_geometry& g, const T* const* x) {
  for (std::int64_t c = 1; c < g.c; ++c)
    if (x[c] != x[0] + c * g.n * g.h * g.w) return false;
  return true;
}

/// The column matrix of images [n0, n1) and its leading dimension: x itself for a pointwise
/// conv on contiguous planes; for a pointwise conv on scattered planes (CSQ's stacked input),
/// each plane's slice copied into scratch slot 0; else built in scratch slot 0 through the
/// phase planes (slot 2).
template <scalar T>
const T* chunk_columns(const conv_geometry& g, const phase_layout& L, const T* const* x, bool direct, std::int64_t n0, std::int64_t n1,
                       std::int64_t& ld) {
  if (direct) {
    ld = g.cols();
    return x[0] + n0 * g.ho * g.wo;
  }
  const std::int64_t cc = (n1 - n0) * g.ho * g.wo;
  if (is_pointwise(g)) {
    T* col = scratch<T>(0, static_cast<std::size_t>(g.c * cc));
    for (std::int64_t c = 0; c < g.c; ++c) std::copy(x[c] + n0 * g.ho * g.wo, x[c] + n1 * g.ho * g.wo, col + c * cc);
    ld = cc;
    return col;
  }
  T* ph = scratch<T>(2, static_cast<std::size_t>(g.c * (n1 - n0) * L.plane()));
  build_phases(g, L, x, n0, n1, ph);
  T* col = scratch<T>(0, static_cast<std::size_t>(g.rows() * cc));
  im2col_from_phases(g, L, ph, n1 - n0, col);
  ld = cc;
  return col;
}

/// y = conv(x, w), overwriting y (Co, N, Ho, Wo).
template <scalar T, host_backend B>
void conv_forward(B exec, const conv_geometry& g, std::int64_t co, std::int64_t groups, const T* const* x, const T* w, T* y) {
  if (is_depthwise(g, co, groups)) return depthwise_forward(exec, g, x, w, y);
  if (is_single_input(g, groups)) return single_input_forward(exec, g, co, x[0], w, y);
  const std::int64_t cog = co / groups, kg = g.rows() / groups, howo = g.ho * g.wo, ncols = g.cols();
  const std::int64_t chunk = images_per_chunk(g), nchunks = (g.n + chunk - 1) / chunk;
  const bool direct = is_pointwise(g) && planes_contiguous(g, x);
  const phase_layout L(g);
  blas_single_threaded();
  parallel_for(exec, 0, nchunks, [&](std::int64_t ci) {
    const std::int64_t n0 = ci * chunk, n1 = std::min(g.n, n0 + chunk), cc = (n1 - n0) * howo;
    std::int64_t ld = 0;
    const T* col = chunk_columns(g, L, x, direct, n0, n1, ld);
    for (std::int64_t gi = 0; gi < groups; ++gi)
      gemm(false, false, cog, cc, kg, T(1), w + gi * cog * kg, kg, col + gi * kg * ld, ld, T(0), y + gi * cog * ncols + n0 * howo, ncols);
  });
}

/// Backward of conv_forward from gy (Co, N, Ho, Wo), one pass over the chunks:
///   gw (Co, C/groups, kh, kw) = dL/dw, read from the planes x (gw null: skipped, x unread);
///   gx (C, N, H, W) = dL/dx, read from w (gx null: skipped, w unread).
/// Each output is overwritten or added to, as its flag says.
template <scalar T, host_backend B>
void conv_backward(B exec, const conv_geometry& g, std::int64_t co, std::int64_t groups, const T* const* x, const T* w, const T* gy, T* gw,
                   bool gw_overwrite, T* gx, bool gx_overwrite) {
  if (!gw && !gx) return;
  if (is_depthwise(g, co, groups)) {
    if (gx && gx_overwrite) std::fill(gx, gx + g.c * g.n * g.h * g.w, T(0));
    return depthwise_backward(exec, g, x, w, gy, gw, gw_overwrite, gx);
  }
  if (gw && is_single_input(g, groups)) {  // its direct weight gradient; an input gradient below
    single_input_weight_grad(exec, g, co, x[0], gy, gw, gw_overwrite);
    if (!gx) return;
    gw = nullptr;
  }
  const std::int64_t cog = co / groups, kg = g.rows() / groups, howo = g.ho * g.wo, ncols = g.cols();
  const std::int64_t chunk = images_per_chunk(g), nchunks = (g.n + chunk - 1) / chunk, m = co * kg;
  const bool pointwise = is_pointwise(g), direct = gw && pointwise && planes_contiguous(g, x);
  const phase_layout L(g);
  std::vector<T> part(gw ? static_cast<std::size_t>(nchunks * m) : 0);  // one gw partial per chunk
  blas_single_threaded();
  parallel_for(exec, 0, nchunks, [&](std::int64_t ci) {
    const std::int64_t n0 = ci * chunk, n1 = std::min(g.n, n0 + chunk), cc = (n1 - n0) * howo;
    if (gw) {  // gW_g = gY_g col_g^T
      std::int64_t ld = 0;
      const T* col = chunk_columns(g, L, x, direct, n0, n1, ld);
      T* pw = part.data() + ci * m;
      for (std::int64_t gi = 0; gi < groups; ++gi)
        gemm(false, true, cog, kg, cc, T(1), gy + gi * cog * ncols + n0 * howo, ncols, col + gi * kg * ld, ld, T(0), pw + gi * cog * kg,
             kg);
    }
    if (gx) {           // dcol_g = W_g^T gY_g, then col2im
      if (pointwise) {  // dcol is gx itself
        for (std::int64_t gi = 0; gi < groups; ++gi)
          gemm(true, false, kg, cc, cog, T(1), w + gi * cog * kg, kg, gy + gi * cog * ncols + n0 * howo, ncols, gx_overwrite ? T(0) : T(1),
               gx + gi * kg * ncols + n0 * howo, ncols);
        return;
      }
      T* dcol = scratch<T>(1, static_cast<std::size_t>(g.rows() * cc));
      for (std::int64_t gi = 0; gi < groups; ++gi)
        gemm(true, false, kg, cc, cog, T(1), w + gi * cog * kg, kg, gy + gi * cog * ncols + n0 * howo, ncols, T(0), dcol + gi * kg * cc,
             cc);
      const std::size_t phn = static_cast<std::size_t>(g.c * (n1 - n0) * L.plane());
      T* gph = scratch<T>(2, phn);  // the input's phases are no longer needed
      std::fill(gph, gph + phn, T(0));
      col2im_to_phases(g, L, dcol, n1 - n0, gph);
      add_phases_to_input(g, L, gph, n0, n1, gx, gx_overwrite);
    }
  });
  if (gw) add_chunk_partials(part, nchunks, m, gw, gw_overwrite);
}

}  // namespace detail
}  // namespace jaq
