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

/// wide[i] = sum over taps k, in order, of w[k] * ph[at[k] + i], for i < len: every tap of one
/// vector of outputs in registers, one store (rather than one load-add-store pass per tap). Each
/// sum starts from zero and adds product by product in tap order, the bits of the per-tap loop.
template <scalar T>
void all_taps(std::int64_t len, const std::int64_t* at, std::int64_t taps, const T* w, const T* ph, T* wide) {
  using B = simd::batch<T>;
  constexpr std::int64_t lanes = static_cast<std::int64_t>(B::size);
  std::int64_t i = 0;
  for (; i + lanes <= len; i += lanes) {
    B acc(T(0));
    for (std::int64_t k = 0; k < taps; ++k) acc = acc + B(w[k]) * B::load_unaligned(ph + at[k] + i);
    acc.store_unaligned(wide + i);
  }
  for (; i < len; ++i) {
    T acc = T(0);
    for (std::int64_t k = 0; k < taps; ++k) acc = acc + w[k] * ph[at[k] + i];
    wide[i] = acc;
  }
}

/// y (C, N, Ho, Wo) = depthwise(x (C, N, H, W), w (C, 1, kh, kw)); one (channel, image) per task.
template <scalar T, host_backend B>
void depthwise_forward(B exec, const conv_geometry& g, const T* const* x, const T* w, T* y) {
  const std::int64_t hw = g.h * g.w, howo = g.ho * g.wo;
  const dw_plan P(g);
  std::vector<std::int64_t> at;  // where each tap reads, in (ky, kx) order
  for (std::int64_t ky = 0; ky < g.kh; ++ky)
    for (std::int64_t kx = 0; kx < g.kw; ++kx) at.push_back(P.tap(ky, kx));
  parallel_for(exec, 0, g.c * g.n, [&](std::int64_t t) {
    const std::int64_t c = t / g.n;
    T* ph = scratch<T>(3, static_cast<std::size_t>(P.L.plane() + P.wide_size()));
    T* wide = ph + P.L.plane();
    image_phases(g, P.L, x[c] + (t % g.n) * hw, ph);
    all_taps(P.len, at.data(), static_cast<std::int64_t>(at.size()), w + c * g.kh * g.kw, ph, wide);
    P.narrow(wide, y + t * howo);
  });
}

/// acc[k] += sum_i gyw[i] * xph[at[k] + i] for i < len, KB taps in one pass over gyw (lanes in
/// registers): lane by lane the additions of one simd::dot_add per tap, so the same bits.
template <int KB, scalar T>
void dot_taps(std::int64_t len, const T* gyw, const T* xph, const std::int64_t* at, simd::lane_sum<T>* acc) {
  using B = simd::batch<T>;
  constexpr std::int64_t lanes = static_cast<std::int64_t>(B::size);
  B a[KB];
#pragma GCC unroll 9
  for (int k = 0; k < KB; ++k) a[k] = acc[k].lanes;
  std::int64_t i = 0;
  for (; i + lanes <= len; i += lanes) {
    const B gv = B::load_unaligned(gyw + i);
#pragma GCC unroll 9
    for (int k = 0; k < KB; ++k) a[k] = a[k] + gv * B::load_unaligned(xph + at[k] + i);
  }
  for (int k = 0; k < KB; ++k) {
    acc[k].lanes = a[k];
    for (std::int64_t j = i; j < len; ++j) acc[k].tail += gyw[j] * xph[at[k] + j];
  }
}

/// out[j] = (first ? 0 : out[j]) + sum over MB taps m, in order, of w[m] * gz[j - back[m]], for
/// j < n: the input gradient of one phase plane gathered from the (zero-padded) wide output
/// gradient gz, in registers, one store per vector.
template <int MB, scalar T>
void gather_taps(std::int64_t n, const T* gz, const std::int64_t* back, const T* w, T* out, bool first) {
  using B = simd::batch<T>;
  constexpr std::int64_t lanes = static_cast<std::int64_t>(B::size);
  B wv[MB];
#pragma GCC unroll 9
  for (int m = 0; m < MB; ++m) wv[m] = B(w[m]);
  std::int64_t j = 0;
  for (; j + lanes <= n; j += lanes) {
    B acc = first ? B(T(0)) : B::load_unaligned(out + j);
#pragma GCC unroll 9
    for (int m = 0; m < MB; ++m) acc = acc + wv[m] * B::load_unaligned(gz + j - back[m]);
    acc.store_unaligned(out + j);
  }
  for (; j < n; ++j) {
    T acc = first ? T(0) : out[j];
    for (int m = 0; m < MB; ++m) acc = acc + w[m] * gz[j - back[m]];
    out[j] = acc;
  }
}

/// gw (+)= d/dw, gx += d/dx (either may be null), one channel per task, on the wide grid of
/// dw_plan. Each tap's weight gradient is a running dot product held in vector lanes
/// (simd::lane_sum) over every image, totalled in a fixed order at the end: the same result for
/// every thread count. Both run up to 9 taps per pass: the weight gradient reads the output
/// gradient once for 9 dot products; the input gradient of each phase plane is gathered from
/// its own taps (tap k wrote phase plane positions at(k) + i, i < len: those and only those),
/// added in tap order from zero as the scatter form would, so no plane needs a zero fill.
template <scalar T, host_backend B>
void depthwise_backward(B exec, const conv_geometry& g, const T* const* x, const T* w, const T* gy, T* gw, bool gw_overwrite, T* gx) {
  const std::int64_t hw = g.h * g.w, howo = g.ho * g.wo, kk = g.kh * g.kw;
  const dw_plan P(g);
  const std::int64_t pq = P.L.hq * P.L.wq, phases = P.L.s * P.L.s;
  std::vector<std::int64_t> at, back, tap_of;  // per tap; back and tap_of grouped by phase
  std::vector<std::int64_t> first_of(static_cast<std::size_t>(phases + 1), 0);
  for (std::int64_t ky = 0; ky < g.kh; ++ky)
    for (std::int64_t kx = 0; kx < g.kw; ++kx) at.push_back(P.tap(ky, kx));
  for (std::int64_t p = 0; p < phases; ++p) {
    for (std::int64_t k = 0; k < kk; ++k)
      if (at[std::size_t(k)] / pq == p) {
        back.push_back(at[std::size_t(k)] - p * pq);
        tap_of.push_back(k);
      }
    first_of[std::size_t(p + 1)] = static_cast<std::int64_t>(back.size());
  }
  parallel_for(exec, 0, g.c, [&](std::int64_t c) {
    const T* wc = gx ? w + c * kk : nullptr;  // w (and x) are read only for what is asked
    const std::int64_t nph = P.L.plane();
    // xph, gph (phase planes), gyp: the wide output gradient with pq zeros on both sides
    T* buf = scratch<T>(3, static_cast<std::size_t>(2 * nph + 2 * pq));
    T* xph = buf;
    T* gph = xph + nph;
    T* gyp = gph + nph;
    T* gyw = gyp + pq;
    std::fill(gyp, gyp + 2 * pq, T(0));
    std::vector<simd::lane_sum<T>> acc(gw ? static_cast<std::size_t>(kk) : 0);
    std::vector<T> wph(static_cast<std::size_t>(back.size()));  // this channel's weights, by phase
    if (gx)
      for (std::size_t m = 0; m < wph.size(); ++m) wph[m] = wc[tap_of[m]];
    for (std::int64_t n = 0; n < g.n; ++n) {
      const std::int64_t t = c * g.n + n;
      P.widen(gy + t * howo, gyw);
      if (gw) {
        image_phases(g, P.L, x[c] + n * hw, xph);
        for (std::int64_t k0 = 0; k0 < kk; k0 += 9)
          with_block<9>(std::min<std::int64_t>(9, kk - k0),
                        [&](auto KB) { dot_taps<KB()>(P.len, gyw, xph, at.data() + k0, acc.data() + k0); });
      }
      if (gx) {
        for (std::int64_t p = 0; p < phases; ++p) {
          T* out = gph + p * pq;
          const std::int64_t m1 = first_of[std::size_t(p + 1)];
          if (first_of[std::size_t(p)] == m1) std::fill(out, out + pq, T(0));  // no tap reads this phase
          for (std::int64_t m0 = first_of[std::size_t(p)]; m0 < m1; m0 += 9)
            with_block<9>(std::min<std::int64_t>(9, m1 - m0), [&](auto MB) {
              gather_taps<MB()>(pq, gyw, back.data() + m0, wph.data() + m0, out, m0 == first_of[std::size_t(p)]);
            });
        }
        add_image_phases(g, P.L, gph, gx + t * hw, false);
      }
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
