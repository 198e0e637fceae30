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

namespace jaq::detail {

/// y (C, N, Ho, Wo) = depthwise(x (C, N, H, W), w (C, 1, kh, kw))
template <scalar T>
void depthwise_forward(tbb_backend exec, const conv_geometry& g, const T* const* x, const T* w, T* y) {
  const std::int64_t hw = g.h * g.w, howo = g.ho * g.wo;
  parallel_for(exec, 0, g.c * g.n, [&](std::int64_t t) {
    const std::int64_t c = t / g.n;
    const T* xp = x[c] + (t % g.n) * hw;
    T* yp = y + t * howo;
    std::fill(yp, yp + howo, T(0));
    const T* wc = w + c * g.kh * g.kw;
    for (std::int64_t ky = 0; ky < g.kh; ++ky) {
      std::int64_t oy_lo, oy_hi;
      valid_range(g, ky, g.h, g.ho, oy_lo, oy_hi);
      for (std::int64_t kx = 0; kx < g.kw; ++kx) {
        std::int64_t ox_lo, ox_hi;
        valid_range(g, kx, g.w, g.wo, ox_lo, ox_hi);
        const T wv = wc[ky * g.kw + kx];
        for (std::int64_t oy = oy_lo; oy < oy_hi; ++oy) {
          const T* src = xp + (oy * g.stride - g.pad + ky) * g.w - g.pad + kx;
          T* dst = yp + oy * g.wo;
          if (g.stride == 1) {
            for (std::int64_t ox = ox_lo; ox < ox_hi; ++ox) dst[ox] += wv * src[ox];
          } else {
            for (std::int64_t ox = ox_lo; ox < ox_hi; ++ox) dst[ox] += wv * src[ox * g.stride];
          }
        }
      }
    }
  });
}

/// gw (+)= d/dw, gx += d/dx (either may be null). gw is per channel, summed over images in order.
template <scalar T>
void depthwise_backward(tbb_backend exec, const conv_geometry& g, const T* const* x, const T* w, const T* gy, T* gw,
                        bool gw_overwrite, T* gx) {
  const std::int64_t hw = g.h * g.w, howo = g.ho * g.wo, kk = g.kh * g.kw;
  parallel_for(exec, 0, g.c, [&](std::int64_t c) {
    const T* wc = gx ? w + c * kk : nullptr;  // w (and x) are read only for what is asked
    for (std::int64_t ky = 0; ky < g.kh; ++ky) {
      std::int64_t oy_lo, oy_hi;
      valid_range(g, ky, g.h, g.ho, oy_lo, oy_hi);
      for (std::int64_t kx = 0; kx < g.kw; ++kx) {
        std::int64_t ox_lo, ox_hi;
        valid_range(g, kx, g.w, g.wo, ox_lo, ox_hi);
        const T wv = wc ? wc[ky * g.kw + kx] : T(0);
        T acc = T(0);
        for (std::int64_t n = 0; n < g.n; ++n) {
          const std::int64_t t = c * g.n + n;
          const T* gyp = gy + t * howo;
          const std::int64_t off = -g.pad + kx;
          for (std::int64_t oy = oy_lo; oy < oy_hi; ++oy) {
            const std::int64_t row = (oy * g.stride - g.pad + ky) * g.w + off;
            const T* gr = gyp + oy * g.wo;
            if (gw) {
              const T* xr = x[c] + n * hw + row;
              T a = T(0);
              for (std::int64_t ox = ox_lo; ox < ox_hi; ++ox) a += gr[ox] * xr[ox * g.stride];
              acc += a;
            }
            if (gx) {
              T* xr = gx + t * hw + row;
              for (std::int64_t ox = ox_lo; ox < ox_hi; ++ox) xr[ox * g.stride] += wv * gr[ox];
            }
          }
        }
        if (gw) {
          T& d = gw[c * kk + ky * g.kw + kx];
          d = gw_overwrite ? acc : d + acc;
        }
      }
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

template <scalar T>
void depthwise_forward(tbb_backend exec, const conv_geometry& g, const T* x, const T* w, T* y) {
  depthwise_forward(exec, g, channel_planes(g, x).data(), w, y);
}

template <scalar T>
void depthwise_backward(tbb_backend exec, const conv_geometry& g, const T* x, const T* w, const T* gy, T* gw,
                        bool gw_overwrite, T* gx) {
  depthwise_backward(exec, g, channel_planes(g, x).data(), w, gy, gw, gw_overwrite, gx);
}

}  // namespace jaq::detail
