// jaq/autograd/detail/im2col.hpp: im2col / col2im for channel-major feature maps, on a range of
// images at a time (so that the column matrix of one chunk stays in cache).
//
// x (C, N, H, W), images [n0, n1) -> col (C*kh*kw, (n1-n0)*Ho*Wo): row r = (c, ky, kx), column
// (n - n0, oy, ox) holds x[c, n, oy*s - p + ky, ox*s - p + kx] (0 outside). col2im adds back.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "jaq/autograd/tensor.hpp"

namespace jaq::detail {

struct conv_geometry {
  std::int64_t c, n, h, w;       // input (C, N, H, W)
  std::int64_t kh, kw, stride, pad;
  std::int64_t ho, wo;           // output spatial extents

  std::int64_t rows() const { return c * kh * kw; }
  std::int64_t cols() const { return n * ho * wo; }
};

// Output columns ox whose input column ox*s - p + k lies in [0, extent).
inline void valid_range(const conv_geometry& g, std::int64_t k, std::int64_t extent, std::int64_t out,
                        std::int64_t& lo, std::int64_t& hi) {
  lo = std::min(out, std::max<std::int64_t>(0, (g.pad - k + g.stride - 1) / g.stride));
  hi = std::max(lo, std::min(out, (extent + g.pad - k + g.stride - 1) / g.stride));
}

/// For each kernel position (ky, kx) and output pixel (oy, ox): the offset of the input pixel
/// it reads within one (H, W) plane, or -1 in the zero padding. Built once per convolution, it
/// turns im2col and col2im into one long loop per (row, image) instead of one per output row.
struct im2col_plan {
  std::vector<std::int32_t> offset;  // (kh*kw, Ho*Wo)

  explicit im2col_plan(const conv_geometry& g) : offset(static_cast<std::size_t>(g.kh * g.kw * g.ho * g.wo)) {
    std::size_t k = 0;
    for (std::int64_t ky = 0; ky < g.kh; ++ky)
      for (std::int64_t kx = 0; kx < g.kw; ++kx)
        for (std::int64_t oy = 0; oy < g.ho; ++oy)
          for (std::int64_t ox = 0; ox < g.wo; ++ox) {
            const std::int64_t iy = oy * g.stride - g.pad + ky, ix = ox * g.stride - g.pad + kx;
            offset[k++] = (iy >= 0 && iy < g.h && ix >= 0 && ix < g.w) ? static_cast<std::int32_t>(iy * g.w + ix) : -1;
          }
  }
};

template <scalar T>
void im2col_images(const conv_geometry& g, const im2col_plan& plan, const T* x, std::int64_t n0, std::int64_t n1, T* col) {
  const std::int64_t hw = g.h * g.w, howo = g.ho * g.wo, ld = (n1 - n0) * howo, kk = g.kh * g.kw;
  for (std::int64_t r = 0; r < g.rows(); ++r) {
    const std::int64_t c = r / kk;
    const std::int32_t* off = plan.offset.data() + (r % kk) * howo;
    for (std::int64_t n = n0; n < n1; ++n) {
      const T* src = x + (c * g.n + n) * hw;
      T* dst = col + r * ld + (n - n0) * howo;
      for (std::int64_t j = 0; j < howo; ++j) {
        const std::int32_t o = off[j];
        dst[j] = o >= 0 ? src[o] : T(0);
      }
    }
  }
}

/// gx[:, n0:n1] += col2im(dcol) for the images of one chunk.
template <scalar T>
void col2im_add_images(const conv_geometry& g, const im2col_plan& plan, const T* dcol, std::int64_t n0, std::int64_t n1, T* gx) {
  const std::int64_t hw = g.h * g.w, howo = g.ho * g.wo, ld = (n1 - n0) * howo, kk = g.kh * g.kw;
  for (std::int64_t r = 0; r < g.rows(); ++r) {
    const std::int64_t c = r / kk;
    const std::int32_t* off = plan.offset.data() + (r % kk) * howo;
    for (std::int64_t n = n0; n < n1; ++n) {
      T* dst = gx + (c * g.n + n) * hw;
      const T* src = dcol + r * ld + (n - n0) * howo;
      for (std::int64_t j = 0; j < howo; ++j) {
        const std::int32_t o = off[j];
        if (o >= 0) dst[o] += src[j];
      }
    }
  }
}

/// Images per chunk: about 128K column-matrix elements (512 KB of floats), a function of the
/// shapes only, so that results do not depend on the thread count.
inline std::int64_t images_per_chunk(const conv_geometry& g) {
  const std::int64_t per_image = std::max<std::int64_t>(1, g.rows() * g.ho * g.wo);
  return std::clamp<std::int64_t>((std::int64_t{1} << 17) / per_image, 1, std::max<std::int64_t>(1, g.n));
}

/// Per-thread scratch that grows and is reused (a cache, it holds no results between calls).
template <scalar T>
T* scratch(int slot, std::size_t elements) {
  thread_local std::vector<T> buf[2];
  auto& b = buf[slot];
  if (b.size() < elements) b.resize(elements);
  return b.data();
}

}  // namespace jaq::detail
