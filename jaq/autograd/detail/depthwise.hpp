// jaq/autograd/detail/depthwise.hpp: direct depthwise convolution (one filter per channel),
// channel-major. im2col would blow a depthwise layer's input up k*k times for a GEMM with one
// row, so depthwise layers are computed directly, one channel per task (deterministic).
// The input is given as one plane pointer per channel (each (N, H, W)), so that the quantized
// and CSQ paths, whose input channels live in several tensors, run the same kernel; the
// overloads taking one contiguous (C, N, H, W) tensor build those pointers.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "jaq/autograd/detail/im2col.hpp"
#include "jaq/core/parallel.hpp"
#include "jaq/core/simd.hpp"

namespace jaq::detail {

// Each image is laid out as the s x s phase planes of its zero-padded self (phase_layout,
// im2col.hpp: the layout the GEMM path builds its column matrix from). Output pixel (oy, ox) of
// tap (ky, kx) reads phase (ky % s, kx % s) at (oy + ky / s, ox + kx / s), so on a "wide" output
// grid whose rows are wq long, a whole tap is ONE contiguous multiply-add of
// len = (ho - 1) * wq + wo elements (the wq - wo extra columns per row are computed and dropped),
// however small the feature map: no per-row loop, no strided access, no padding tests. Per
// output element the taps still add in (ky, kx) order from zero, so the forward gives the
// same bits as a direct loop.
struct dw_plan {
  phase_layout L;
  std::int64_t ho, wo, len;
  explicit dw_plan(const conv_geometry& g) : L(g), ho(g.ho), wo(g.wo), len((g.ho - 1) * L.wq + g.wo) {}
  std::int64_t wide_size() const { return ho * L.wq; }
  /// Where tap (ky, kx) reads for wide output element 0.
  std::int64_t tap(std::int64_t ky, std::int64_t kx) const {
    return ((ky % L.s) * L.s + kx % L.s) * L.hq * L.wq + (ky / L.s) * L.wq + kx / L.s;
  }
  /// A (ho, wo) plane onto the wide grid (extra columns zero), and back.
  template <class T>
  void widen(const T* plane, T* wide) const {
    for (std::int64_t oy = 0; oy < ho; ++oy) {
      std::copy(plane + oy * wo, plane + (oy + 1) * wo, wide + oy * L.wq);
      std::fill(wide + oy * L.wq + wo, wide + (oy + 1) * L.wq, T(0));
    }
  }
  template <class T>
  void narrow(const T* wide, T* plane) const {
    for (std::int64_t oy = 0; oy < ho; ++oy) std::copy(wide + oy * L.wq, wide + oy * L.wq + wo, plane + oy * wo);
  }
};

/// y (C, N, Ho, Wo) = depthwise(x (C, N, H, W), w (C, 1, kh, kw)); one (channel, image) per task.
template <scalar T, host_backend B>
void depthwise_forward(B exec, const conv_geometry& g, const T* const* x, const T* w, T* y) {
  const std::int64_t hw = g.h * g.w, howo = g.ho * g.wo;
  const dw_plan P(g);
  parallel_for(exec, 0, g.c * g.n, [&](std::int64_t t) {
    const std::int64_t c = t / g.n;
    T* ph = scratch<T>(3, static_cast<std::size_t>(P.L.plane() + P.wide_size()));
    T* wide = ph + P.L.plane();
    image_phases(g, P.L, x[c] + (t % g.n) * hw, ph);
    std::fill(wide, wide + P.wide_size(), T(0));
    const T* wc = w + c * g.kh * g.kw;
    for (std::int64_t ky = 0; ky < g.kh; ++ky)
      for (std::int64_t kx = 0; kx < g.kw; ++kx) simd::axpy(P.len, wc[ky * g.kw + kx], ph + P.tap(ky, kx), wide);
    P.narrow(wide, y + t * howo);
  });
}

/// gw (+)= d/dw, gx += d/dx (either may be null), one channel per task, on the wide grid of
/// dw_plan. Each tap's weight gradient is a running dot product held in vector lanes
/// (simd::lane_sum) over every image, totalled in a fixed order at the end: the same result for
/// every thread count.
template <scalar T, host_backend B>
void depthwise_backward(B exec, const conv_geometry& g, const T* const* x, const T* w, const T* gy, T* gw, bool gw_overwrite, T* gx) {
  const std::int64_t hw = g.h * g.w, howo = g.ho * g.wo, kk = g.kh * g.kw;
  const dw_plan P(g);
  parallel_for(exec, 0, g.c, [&](std::int64_t c) {
    const T* wc = gx ? w + c * kk : nullptr;  // w (and x) are read only for what is asked
    const std::int64_t nph = P.L.plane();
    T* buf = scratch<T>(3, static_cast<std::size_t>(2 * nph + P.wide_size()));
    T* xph = buf;
    T* gph = xph + nph;
    T* gyw = gph + nph;
    std::vector<simd::lane_sum<T>> acc(gw ? static_cast<std::size_t>(kk) : 0);
    for (std::int64_t n = 0; n < g.n; ++n) {
      const std::int64_t t = c * g.n + n;
      P.widen(gy + t * howo, gyw);
      if (gw) image_phases(g, P.L, x[c] + n * hw, xph);
      if (gx) std::fill(gph, gph + nph, T(0));
      for (std::int64_t ky = 0; ky < g.kh; ++ky)
        for (std::int64_t kx = 0; kx < g.kw; ++kx) {
          const std::int64_t k = ky * g.kw + kx, at = P.tap(ky, kx);
          if (gw) simd::dot_add(P.len, gyw, xph + at, acc[std::size_t(k)]);
          if (gx) simd::axpy(P.len, wc[k], gyw, gph + at);
        }
      if (gx) add_image_phases(g, P.L, gph, gx + t * hw, false);
    }
    if (gw)
      for (std::int64_t k = 0; k < kk; ++k) {
        const T a = acc[std::size_t(k)].total();
        T& d = gw[c * kk + k];
        d = gw_overwrite ? a : d + a;
      }
  });
}

/// One plane pointer per channel of a contiguous (C, N, H, W) tensor.
template <scalar T>
std::vector<const T*> channel_planes(const conv_geometry& g, const T* x) {
  std::vector<const T*> p(static_cast<std::size_t>(g.c));
  for (std::int64_t c = 0; c < g.c; ++c) p[std::size_t(c)] = x + c * g.n * g.h * g.w;
  return p;
}

template <scalar T, host_backend B>
void depthwise_forward(B exec, const conv_geometry& g, const T* x, const T* w, T* y) {
  depthwise_forward(exec, g, channel_planes(g, x).data(), w, y);
}

template <scalar T, host_backend B>
void depthwise_backward(B exec, const conv_geometry& g, const T* x, const T* w, const T* gy, T* gw, bool gw_overwrite, T* gx) {
  depthwise_backward(exec, g, channel_planes(g, x).data(), w, gy, gw, gw_overwrite, gx);
}

}  // namespace jaq::detail
