// jaq/autograd/detail/im2col.hpp: im2col / col2im for channel-major feature maps.
//
// x (C, N, H, W) -> col (C*kh*kw, N*Ho*Wo): row r = (c, ky, kx), column (n, oy, ox) holds
// x[c, n, oy*s - p + ky, ox*s - p + kx] (0 outside). col2im adds the columns back.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "jaq/autograd/tensor.hpp"
#include "jaq/core/parallel.hpp"

namespace jaq::detail {

struct conv_geometry {
  std::int64_t c, n, h, w;       // input (C, N, H, W)
  std::int64_t kh, kw, stride, pad;
  std::int64_t ho, wo;           // output spatial extents

  std::int64_t rows() const { return c * kh * kw; }
  std::int64_t cols() const { return n * ho * wo; }
};

template <scalar T>
void im2col(tbb_backend exec, const conv_geometry& g, const T* x, T* col) {
  const std::int64_t hw = g.h * g.w, howo = g.ho * g.wo;
  // one task per (row, image): each writes its own contiguous Ho*Wo stretch
  parallel_for_chunks(exec, 0, g.rows() * g.n, 32, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t t = lo; t < hi; ++t) {
      const std::int64_t r = t / g.n, n = t % g.n;
      const std::int64_t c = r / (g.kh * g.kw), ky = (r / g.kw) % g.kh, kx = r % g.kw;
      const T* src = x + (c * g.n + n) * hw;
      T* dst = col + r * g.cols() + n * howo;
      // valid output columns: 0 <= ox*s - p + kx < W
      const std::int64_t ox_lo = std::min(g.wo, std::max<std::int64_t>(0, (g.pad - kx + g.stride - 1) / g.stride));
      const std::int64_t ox_hi = std::max(ox_lo, std::min(g.wo, (g.w + g.pad - kx + g.stride - 1) / g.stride));
      for (std::int64_t oy = 0; oy < g.ho; ++oy) {
        T* d = dst + oy * g.wo;
        const std::int64_t iy = oy * g.stride - g.pad + ky;
        if (iy < 0 || iy >= g.h) {
          std::fill(d, d + g.wo, T(0));
          continue;
        }
        std::fill(d, d + ox_lo, T(0));
        const T* s = src + iy * g.w - g.pad + kx;
        if (g.stride == 1) {
          std::memcpy(d + ox_lo, s + ox_lo, static_cast<std::size_t>(ox_hi - ox_lo) * sizeof(T));
        } else {
          for (std::int64_t ox = ox_lo; ox < ox_hi; ++ox) d[ox] = s[ox * g.stride];
        }
        std::fill(d + ox_hi, d + g.wo, T(0));
      }
    }
  });
}

/// gx += col2im(dcol)
template <scalar T>
void col2im_add(tbb_backend exec, const conv_geometry& g, const T* dcol, T* gx) {
  const std::int64_t hw = g.h * g.w, howo = g.ho * g.wo;
  // one task per (channel, image): each adds into its own plane, in a fixed order
  parallel_for_chunks(exec, 0, g.c * g.n, 8, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t t = lo; t < hi; ++t) {
      const std::int64_t c = t / g.n, n = t % g.n;
      T* dst = gx + (c * g.n + n) * hw;
      for (std::int64_t ky = 0; ky < g.kh; ++ky)
        for (std::int64_t kx = 0; kx < g.kw; ++kx) {
          const std::int64_t r = (c * g.kh + ky) * g.kw + kx;
          const T* src = dcol + r * g.cols() + n * howo;
          const std::int64_t ox_lo = std::min(g.wo, std::max<std::int64_t>(0, (g.pad - kx + g.stride - 1) / g.stride));
          const std::int64_t ox_hi = std::max(ox_lo, std::min(g.wo, (g.w + g.pad - kx + g.stride - 1) / g.stride));
          for (std::int64_t oy = 0; oy < g.ho; ++oy) {
            const std::int64_t iy = oy * g.stride - g.pad + ky;
            if (iy < 0 || iy >= g.h) continue;
            T* d = dst + iy * g.w - g.pad + kx;
            const T* s = src + oy * g.wo;
            if (g.stride == 1) {
              for (std::int64_t ox = ox_lo; ox < ox_hi; ++ox) d[ox] += s[ox];
            } else {
              for (std::int64_t ox = ox_lo; ox < ox_hi; ++ox) d[ox * g.stride] += s[ox];
            }
          }
        }
    }
  });
}

}  // namespace jaq::detail
