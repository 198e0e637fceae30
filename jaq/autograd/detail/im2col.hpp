// jaq/autograd/detail/im2col.hpp: im2col / col2im for channel-major feature maps, on a range of
// images at a time (so that the column matrix of one chunk stays in cache).
//
// x (C, N, H, W), images [n0, n1) -> col (C*kh*kw, (n1-n0)*Ho*Wo): row r = (c, ky, kx), column
// (n - n0, oy, ox) holds x[c, n, oy*s - p + ky, ox*s - p + kx] (0 outside). col2im adds back.
// Both go through "phase planes" (below); conv2d_test checks them against a direct convolution.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

#include "jaq/autograd/tensor.hpp"
#include "jaq/core/conv_geometry.hpp"
#include "jaq/core/simd.hpp"

namespace jaq::detail {

using jaq::conv_geometry;  // jaq/core/conv_geometry.hpp: the one geometry

// Output columns ox whose input column ox*s - p + k lies in [0, extent).
inline void valid_range(const conv_geometry& g, std::int64_t k, std::int64_t extent, std::int64_t out, std::int64_t& lo, std::int64_t& hi) {
  lo = std::min(out, std::max<std::int64_t>(0, (g.pad - k + g.stride - 1) / g.stride));
  hi = std::max(lo, std::min(out, (extent + g.pad - k + g.stride - 1) / g.stride));
}

/// Per-thread scratch that grows and is reused (a cache, it holds no results between calls).
/// Slots: 0 the column matrix, 1 its gradient, 2 phase planes, 3 depthwise
/// phases, 4 one padded row.
template <scalar T>
T* scratch(int slot, std::size_t elements) {
  thread_local std::vector<T> buf[5];
  auto& b = buf[slot];
  if (b.size() < elements) b.resize(elements);
  return b.data();
}

/// f(std::integral_constant<int, n>{}) for a run-time n in [1, N]: the register-blocked kernels
/// (depthwise.hpp, single_input.hpp) are instantiated per block size.
template <int N, class F>
inline void with_block(std::int64_t n, F&& f) {
  if constexpr (N > 1)
    if (n < N) return with_block<N - 1>(n, std::forward<F>(f));
  f(std::integral_constant<int, N>{});
}

/// Phase planes of a chunk of images: the zero-padded input, split by (row mod stride,
/// column mod stride), so that every row of the column matrix is a contiguous run of one phase
/// plane: x_pad[oy*s + ky][ox*s + kx] = phase(ky % s, kx % s)[oy + ky / s][ox + kx / s]. Building
/// them reads the input once (instead of kh*kw times) and leaves im2col and col2im with plain,
/// vectorised row copies and adds.
struct phase_layout {
  std::int64_t s, hq, wq;  // stride, rows and columns of one phase plane
  explicit phase_layout(const conv_geometry& g)
      : s(g.stride), hq((g.h + 2 * g.pad + g.stride - 1) / g.stride), wq((g.w + 2 * g.pad + g.stride - 1) / g.stride) {}
  std::int64_t plane() const { return s * s * hq * wq; }  // all phases of one (c, n) image plane
};

/// dst[0, n) = src[0, n) with B vectors when n >= B::size: the last vector overlaps the one
/// before it instead of a scalar tail (a copy may be repeated). False (nothing copied) when n is
/// shorter than one vector.
template <class B, class T>
inline bool copy_overlapping(const T* src, T* dst, std::int64_t n) {
  constexpr std::int64_t w = static_cast<std::int64_t>(B::size);
  if (n < w) return false;
  std::int64_t i = 0;
  for (; i + w <= n; i += w) B::load_unaligned(src + i).store_unaligned(dst + i);
  if (i < n) B::load_unaligned(src + n - w).store_unaligned(dst + n - w);
  return true;
}

/// dst[i] += src[i] with B vectors for i in [from, from + k * B::size), k as large as fits n;
/// returns where it stopped.
template <class B, class T>
inline std::int64_t add_vectors(const T* src, T* dst, std::int64_t from, std::int64_t n) {
  constexpr std::int64_t w = static_cast<std::int64_t>(B::size);
  std::int64_t i = from;
  for (; i + w <= n; i += w) (B::load_unaligned(dst + i) + B::load_unaligned(src + i)).store_unaligned(dst + i);
  return i;
}

/// dst[0, n) = src[0, n) (the two do not overlap). Rows here are short (7, 14, 28 values), so a
/// row shorter than this build's vector (AVX-512 under --config=native) takes 8- or 4-lane
/// vectors rather than a scalar loop.
template <scalar T>
inline void copy_row(const T* src, T* dst, std::int64_t n) {
  if (copy_overlapping<simd::batch<T>>(src, dst, n)) return;
#if XSIMD_WITH_AVX
  if (copy_overlapping<xsimd::batch<T, xsimd::avx>>(src, dst, n)) return;
#endif
#if XSIMD_WITH_SSE2
  if (copy_overlapping<xsimd::batch<T, xsimd::sse2>>(src, dst, n)) return;
#endif
  for (std::int64_t i = 0; i < n; ++i) dst[i] = src[i];
}

/// dst[0, n) += src[0, n): full vectors, then narrower ones, then scalars (each element is
/// added once, so the bits do not depend on the vector widths).
template <scalar T>
inline void add_row(const T* src, T* dst, std::int64_t n) {
  std::int64_t i = add_vectors<simd::batch<T>>(src, dst, 0, n);
#if XSIMD_WITH_AVX
  i = add_vectors<xsimd::batch<T, xsimd::avx>>(src, dst, i, n);
#endif
#if XSIMD_WITH_SSE2
  i = add_vectors<xsimd::batch<T, xsimd::sse2>>(src, dst, i, n);
#endif
  for (; i < n; ++i) dst[i] += src[i];
}

/// Stride 2: e[j] = p[2j], o[j] = p[2j + 1] for j < n (p holds 2n values).
template <scalar T>
inline void deinterleave2(const T* p, T* e, T* o, std::int64_t n) {
  std::int64_t j = 0;
#if defined(__SSE2__)
  if constexpr (std::is_same_v<T, float>) {
    for (; j + 4 <= n; j += 4) {
      const __m128 v0 = _mm_loadu_ps(p + 2 * j), v1 = _mm_loadu_ps(p + 2 * j + 4);
      _mm_storeu_ps(e + j, _mm_shuffle_ps(v0, v1, _MM_SHUFFLE(2, 0, 2, 0)));
      _mm_storeu_ps(o + j, _mm_shuffle_ps(v0, v1, _MM_SHUFFLE(3, 1, 3, 1)));
    }
  }
#endif
  for (; j < n; ++j) {
    e[j] = p[2 * j];
    o[j] = p[2 * j + 1];
  }
}

/// Stride 2, the inverse: p[2j] = e[j], p[2j + 1] = o[j] for j < n.
template <scalar T>
inline void interleave2(const T* e, const T* o, T* p, std::int64_t n) {
  std::int64_t j = 0;
#if defined(__SSE2__)
  if constexpr (std::is_same_v<T, float>) {
    for (; j + 4 <= n; j += 4) {
      const __m128 a = _mm_loadu_ps(e + j), b = _mm_loadu_ps(o + j);
      _mm_storeu_ps(p + 2 * j, _mm_unpacklo_ps(a, b));
      _mm_storeu_ps(p + 2 * j + 4, _mm_unpackhi_ps(a, b));
    }
  }
#endif
  for (; j < n; ++j) {
    p[2 * j] = e[j];
    p[2 * j + 1] = o[j];
  }
}

/// dst (s*s phases, hq, wq) <- one (H, W) image, zero-padded and split.
template <scalar T>
void image_phases(const conv_geometry& g, const phase_layout& L, const T* src, T* dst) {
  if (L.s == 2) {
    // Both column phases of a row in one pass: padded column u = 2j + b is input column u - pad.
    // Where both 2j and 2j + 1 are inside the input (j in [j0, j1)) the row is split into even
    // and odd columns with vector shuffles, straight from the input; the few edge columns one
    // by one. (No copy into a padded buffer: GCC makes such short copies memcpy calls.)
    const std::int64_t pq = L.hq * L.wq;
    const std::int64_t j0 = std::min(L.wq, (g.pad + 1) / 2), j1 = std::max(j0, std::min(L.wq, (g.pad + g.w) / 2));
    auto at = [&](const T* row, std::int64_t u) {
      const std::int64_t xx = u - g.pad;
      return xx >= 0 && xx < g.w ? row[xx] : T(0);
    };
    for (std::int64_t a = 0; a < 2; ++a)
      for (std::int64_t i = 0; i < L.hq; ++i) {
        T* d0 = dst + (a * 2) * pq + i * L.wq;
        T* d1 = d0 + pq;
        const std::int64_t yy = i * 2 + a - g.pad;
        if (yy < 0 || yy >= g.h) {
          std::fill(d0, d0 + L.wq, T(0));
          std::fill(d1, d1 + L.wq, T(0));
          continue;
        }
        const T* row = src + yy * g.w;
        for (std::int64_t j = 0; j < j0; ++j) {
          d0[j] = at(row, 2 * j);
          d1[j] = at(row, 2 * j + 1);
        }
        deinterleave2(row + 2 * j0 - g.pad, d0 + j0, d1 + j0, j1 - j0);
        for (std::int64_t j = j1; j < L.wq; ++j) {
          d0[j] = at(row, 2 * j);
          d1[j] = at(row, 2 * j + 1);
        }
      }
    return;
  }
  for (std::int64_t a = 0; a < L.s; ++a)
    for (std::int64_t b = 0; b < L.s; ++b) {
      T* d = dst + (a * L.s + b) * L.hq * L.wq;
      // valid columns: 0 <= j*s + b - pad < W
      const std::int64_t j_lo = std::min(L.wq, std::max<std::int64_t>(0, (g.pad - b + L.s - 1) / L.s));
      const std::int64_t j_hi = std::max(j_lo, std::min(L.wq, (g.w + g.pad - b + L.s - 1) / L.s));
      for (std::int64_t i = 0; i < L.hq; ++i) {
        const std::int64_t yy = i * L.s + a - g.pad;
        T* drow = d + i * L.wq;
        if (yy < 0 || yy >= g.h) {
          std::fill(drow, drow + L.wq, T(0));
          continue;
        }
        const T* srow = src + yy * g.w + b - g.pad;
        for (std::int64_t j = 0; j < j_lo; ++j) drow[j] = T(0);
        if (L.s == 1) {
          copy_row(srow + j_lo, drow + j_lo, j_hi - j_lo);
        } else {
          for (std::int64_t j = j_lo; j < j_hi; ++j) drow[j] = srow[j * L.s];
        }
        for (std::int64_t j = j_hi; j < L.wq; ++j) drow[j] = T(0);
      }
    }
}

/// ph (C, n1-n0, s*s phases, hq, wq) <- the images [n0, n1) of the channel planes x[c] (each
/// (N, H, W)), zero-padded and split.
template <scalar T>
void build_phases(const conv_geometry& g, const phase_layout& L, const T* const* x, std::int64_t n0, std::int64_t n1, T* ph) {
  const std::int64_t hw = g.h * g.w, cn = n1 - n0;
  for (std::int64_t c = 0; c < g.c; ++c)
    for (std::int64_t n = n0; n < n1; ++n) image_phases(g, L, x[c] + n * hw, ph + (c * cn + (n - n0)) * L.plane());
}

/// col (C*kh*kw, (n1-n0)*Ho*Wo) from the phase planes of the chunk.
template <scalar T>
void im2col_from_phases(const conv_geometry& g, const phase_layout& L, const T* ph, std::int64_t cn, T* col) {
  const std::int64_t howo = g.ho * g.wo, ld = cn * howo;
  for (std::int64_t c = 0; c < g.c; ++c)
    for (std::int64_t ky = 0; ky < g.kh; ++ky)
      for (std::int64_t kx = 0; kx < g.kw; ++kx) {
        const std::int64_t r = (c * g.kh + ky) * g.kw + kx;
        const std::int64_t phase = (ky % L.s) * L.s + kx % L.s, dy = ky / L.s, dx = kx / L.s;
        for (std::int64_t n = 0; n < cn; ++n) {
          const T* src = ph + (c * cn + n) * L.plane() + phase * L.hq * L.wq + dy * L.wq + dx;
          T* dst = col + r * ld + n * howo;
          for (std::int64_t oy = 0; oy < g.ho; ++oy) copy_row(src + oy * L.wq, dst + oy * g.wo, g.wo);
        }
      }
}

/// Phase-plane gradients (zeroed by the caller) += col2im(dcol).
template <scalar T>
void col2im_to_phases(const conv_geometry& g, const phase_layout& L, const T* dcol, std::int64_t cn, T* gph) {
  const std::int64_t howo = g.ho * g.wo, ld = cn * howo;
  for (std::int64_t c = 0; c < g.c; ++c)
    for (std::int64_t ky = 0; ky < g.kh; ++ky)
      for (std::int64_t kx = 0; kx < g.kw; ++kx) {
        const std::int64_t r = (c * g.kh + ky) * g.kw + kx;
        const std::int64_t phase = (ky % L.s) * L.s + kx % L.s, dy = ky / L.s, dx = kx / L.s;
        for (std::int64_t n = 0; n < cn; ++n) {
          T* dst = gph + (c * cn + n) * L.plane() + phase * L.hq * L.wq + dy * L.wq + dx;
          const T* src = dcol + r * ld + n * howo;
          for (std::int64_t oy = 0; oy < g.ho; ++oy) add_row(src + oy * g.wo, dst + oy * L.wq, g.wo);
        }
      }
}

/// One (H, W) image (+)= its phase planes' values (padding dropped). Every input pixel has
/// exactly one phase position, so with `overwrite` the (uninitialised) image needs no zero fill.
template <scalar T>
void add_image_phases(const conv_geometry& g, const phase_layout& L, const T* src, T* dst, bool overwrite) {
  if (L.s == 2) {
    // Both column phases of a row at once: interleave them into the padded row, then copy or
    // add its unpadded part.
    T* prow = scratch<T>(4, static_cast<std::size_t>(2 * L.wq));
    const std::int64_t xn = std::min(g.w, 2 * L.wq - g.pad);
    const std::int64_t pq = L.hq * L.wq;
    for (std::int64_t yy = 0; yy < g.h; ++yy) {
      const std::int64_t a = (yy + g.pad) % 2, i = (yy + g.pad) / 2;
      const T* s0 = src + (a * 2) * pq + i * L.wq;
      interleave2(s0, s0 + pq, prow, L.wq);
      T* drow = dst + yy * g.w;
      if (overwrite) {
        copy_row(prow + g.pad, drow, xn);
      } else {
        add_row(prow + g.pad, drow, xn);
      }
    }
    return;
  }
  for (std::int64_t a = 0; a < L.s; ++a)
    for (std::int64_t b = 0; b < L.s; ++b) {
      const T* ps = src + (a * L.s + b) * L.hq * L.wq;
      const std::int64_t j_lo = std::min(L.wq, std::max<std::int64_t>(0, (g.pad - b + L.s - 1) / L.s));
      const std::int64_t j_hi = std::max(j_lo, std::min(L.wq, (g.w + g.pad - b + L.s - 1) / L.s));
      for (std::int64_t i = 0; i < L.hq; ++i) {
        const std::int64_t yy = i * L.s + a - g.pad;
        if (yy < 0 || yy >= g.h) continue;
        T* drow = dst + yy * g.w + b - g.pad;
        const T* srow = ps + i * L.wq;
        if (overwrite) {
          for (std::int64_t j = j_lo; j < j_hi; ++j) drow[j * L.s] = srow[j];
        } else if (L.s == 1) {
          add_row(srow + j_lo, drow + j_lo, j_hi - j_lo);
        } else {
          for (std::int64_t j = j_lo; j < j_hi; ++j) drow[j * L.s] += srow[j];
        }
      }
    }
}

/// gx[:, n0:n1] (+)= the phase-plane gradients of the chunk (padding dropped).
template <scalar T>
void add_phases_to_input(const conv_geometry& g, const phase_layout& L, const T* gph, std::int64_t n0, std::int64_t n1, T* gx,
                         bool overwrite) {
  const std::int64_t hw = g.h * g.w, cn = n1 - n0;
  for (std::int64_t c = 0; c < g.c; ++c)
    for (std::int64_t n = n0; n < n1; ++n)
      add_image_phases(g, L, gph + (c * cn + (n - n0)) * L.plane(), gx + (c * g.n + n) * hw, overwrite);
}

/// out (m values) (+)= the sum of nchunks partials part[ci * m + i], added in chunk order (the
/// same result for every thread count).
template <scalar T>
void add_chunk_partials(const std::vector<T>& part, std::int64_t nchunks, std::int64_t m, T* out, bool overwrite) {
  for (std::int64_t i = 0; i < m; ++i) {
    T s = part[static_cast<std::size_t>(i)];
    for (std::int64_t ci = 1; ci < nchunks; ++ci) s += part[static_cast<std::size_t>(ci * m + i)];
    out[i] = overwrite ? s : out[i] + s;
  }
}

/// Images per chunk: about 128K column-matrix elements (512 KB of floats), a function of the
/// shapes only, so that results do not depend on the thread count.
inline std::int64_t images_per_chunk(const conv_geometry& g) {
  const std::int64_t per_image = std::max<std::int64_t>(1, g.rows() * g.ho * g.wo);
  return std::clamp<std::int64_t>((std::int64_t{1} << 17) / per_image, 1, std::max<std::int64_t>(1, g.n));
}

}  // namespace jaq::detail
