// jaq/batchtile/score_batch.hpp: the vectorised scorer: total cycles and energy of a range of
// candidates under one loop order, SIMD lanes across candidates (xsimd via jaq/core/simd.hpp).
//
// For a fixed order the promotion walk has the same control flow for every tiling (which loop
// touches which buffer is known), so lanes differ only in data: whether a buffer is still
// promoted is a lane mask, and every branch of the spec becomes a select. Values are doubles
// holding exact integers (candidate_batch::exact guarantees every value stays below 2^52, where
// products, sums and the corrected ceiling divisions below are exact); the energy is the spec's
// chain evaluated term by term in the same order as the scalar reference, so it is bit-identical.
// The kernel reads a candidate_batch's arrays only, so a CUDA kernel can score the same SoA batch.
//
//   score_order(cb, lo, hi, order, total, energy);   // total[i], energy[i] for i in [lo, hi)
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "jaq/batchtile/candidate_batch.hpp"
#include "jaq/config.hpp"
#include "jaq/core/simd.hpp"

namespace jaq::batchtile {

namespace detail {

/// ceil(x / w) for exact non-negative integers x < 2^52 and w >= 1 held in doubles. The
/// quotient is rounded to the nearest integer by adding and subtracting 2^52 (exact for
/// 0 <= x / w < 2^52, and cheaper than ceil() on SSE2), which lands on floor or ceil of the true
/// quotient or one off; the two corrections make it exactly the ceiling.
template <class V>
inline V ceil_div_exact(const V& x, const V& w) {
  const V magic(4503599627370496.0);  // 2^52
  const V one(1.0);
  V q = (x / w + magic) - magic;
  q = xsimd::select(q * w < x, q + one, q);
  q = xsimd::select((q - one) * w >= x, q - one, q);
  return q;
}

}  // namespace detail

/// Scores candidates [lo, hi) of `cb` under `order` (loop ids, outermost first). Writes exact
/// total cycles and the energy in nJ to total[i], energy[i]; lanes up to the next multiple of the
/// SIMD width past hi are written too (they are padding or other candidates: ignore them).
/// Preconditions: cb.exact; total and energy have room for cb.padded() values.
JAQ_NO_FP_CONTRACT inline void score_order(const candidate_batch& cb, std::size_t lo, std::size_t hi,
                        const std::array<std::int8_t, detail::num_loops>& order, double* total,
                        double* energy) {
  using V = simd::batch<double>;
  constexpr std::size_t W = simd::width<double>;
  static_assert(kernel_pad % W == 0, "padding must cover whole SIMD batches");
  const batch_constants& k = cb.k;
  const V cap_w(k.cap_w), cap_a(k.cap_a), cap_o(k.cap_o), ifw(k.if_width), zero(0.0);
  const V e_ww(k.e_wbuf_wr), e_iw(k.e_ibuf_wr), e_or(k.e_obuf_rd), e_ow(k.e_obuf_wr);
  const V e_dr(k.e_dram_rd), e_dw(k.e_dram_wr);
  // Innermost first: the walk's direction.
  std::array<const double*, detail::num_loops> cnt_in;
  std::array<int, detail::num_loops> touch_in;
  for (int p = 0; p < detail::num_loops; ++p) {
    const int l = order[static_cast<std::size_t>(detail::num_loops - 1 - p)];
    cnt_in[static_cast<std::size_t>(p)] = cb.cnt[l].data();
    touch_in[static_cast<std::size_t>(p)] = detail::loop_touches[static_cast<std::size_t>(l)];
  }
  for (std::size_t i = lo / W * W; i < hi; i += W) {
    V sw = V::load_unaligned(cb.w_tile.data() + i);
    V sa = V::load_unaligned(cb.a_tile.data() + i);
    V so = V::load_unaligned(cb.o_tile.data() + i);
    V mw = sw, ma = sa, mo = so;  // max_write: the last size that fitted half the buffer
    auto pw = sw <= cap_w, pa = sa <= cap_a, po = so <= cap_o;  // promoted (all true: filter)
    for (int p = 0; p < detail::num_loops; ++p) {
      const V n = V::load_unaligned(cnt_in[static_cast<std::size_t>(p)] + i);
      const int t = touch_in[static_cast<std::size_t>(p)];
      // A touched buffer is multiplied, then re-checked while promoted; an untouched one is
      // multiplied only once it has stopped being promoted.
      if (t & detail::touch_w) {
        sw = sw * n;
        const auto fits = sw <= cap_w;
        mw = xsimd::select(pw & fits, sw, mw);
        pw = pw & fits;
      } else {
        sw = xsimd::select(pw, sw, sw * n);
      }
      if (t & detail::touch_a) {
        sa = sa * n;
        const auto fits = sa <= cap_a;
        ma = xsimd::select(pa & fits, sa, ma);
        pa = pa & fits;
      } else {
        sa = xsimd::select(pa, sa, sa * n);
      }
      if (t & detail::touch_o) {
        so = so * n;
        const auto fits = so <= cap_o;
        mo = xsimd::select(po & fits, so, mo);
        po = po & fits;
      } else {
        so = xsimd::select(po, so, so * n);
      }
    }
    // read[out] follows write[out] step for step, so DRAM writes = so and max_read = mo.
    const V dram_rd = sw + sa + so;
    const V dram_wr = so;
    const V initial = mw + ma + mo;
    const V final_ = mo;
    const V latency = detail::ceil_div_exact(initial, ifw) + detail::ceil_div_exact(final_, ifw);
    const V middle = dram_rd + dram_wr - initial - final_;
    const V compute = V::load_unaligned(cb.compute.data() + i);
    const V stall = xsimd::max(zero, detail::ceil_div_exact(middle, ifw) - compute) + latency;
    (compute + stall).store_unaligned(total + i);
    // The spec's chain, term by term: core, wgt_rd, wgt_wr, act_rd, act_wr, out_rd, out_wr,
    // dram_rd, dram_wr (the first two and act_rd's term do not depend on the order).
    const V o_add = V::load_unaligned(cb.sram_o_add.data() + i);
    const V out_rw = so + o_add;
    V e = V::load_unaligned(cb.e_prefix.data() + i);
    e = e + sw * e_ww;
    e = e + V::load_unaligned(cb.e_act_rd.data() + i);
    e = e + sa * e_iw;
    e = e + out_rw * e_or;
    e = e + out_rw * e_ow;
    e = e + dram_rd * e_dr;
    e = e + dram_wr * e_dw;
    e.store_unaligned(energy + i);
  }
}

}  // namespace jaq::batchtile
