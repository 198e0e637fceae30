// jaq/batchtile/score_batch.hpp: the vectorised scorer: total cycles and energy of a range of
// candidates under one loop order, SIMD lanes across candidates.
//
// For a fixed order the promotion walk has the same control flow for every tiling (which loop
// touches which buffer is known), so lanes differ only in data: whether a buffer is still
// promoted is a lane mask, and every branch of the spec becomes a select. Values are doubles
// holding exact integers (candidate_batch::exact guarantees every value stays below 2^51, where
// products, sums and the corrected division-free ceilings are exact); the energy is the spec's
// chain evaluated term by term in the same order as hw::energy_of, with no fused multiply-add,
// so it is bit-identical. The kernel reads a candidate_batch's arrays only, so a CUDA kernel can
// score the same SoA batch.
//
// One kernel body, two instruction sets: the build's own (xsimd via jaq/core/simd.hpp: SSE2 in
// the default portable build, AVX2/AVX-512 under --config=native) and, in a portable x86-64 GCC
// build, an AVX2 copy compiled for that target alone (GCC vector extensions in a
// target("avx2") function; no -march anywhere) and chosen at run time when the CPU has AVX2.
// Both are tested against the reference; `kernel_isa::portable` forces the first.
//
//   score_order(cb, lo, hi, order, total, energy);   // total[i], energy[i] for i in [lo, hi)
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "jaq/batchtile/candidate_batch.hpp"
#include "jaq/config.hpp"
#include "jaq/core/simd.hpp"

namespace jaq::batchtile {

/// Which copy of the scorer runs.
enum class kernel_isa {
  portable,  // the build's own SIMD level through xsimd
  avx2,      // the AVX2 copy (portable x86-64 GCC builds on AVX2 CPUs only)
};

inline const char* to_string(kernel_isa i) { return i == kernel_isa::avx2 ? "avx2" : "portable"; }

/// True when this build has an AVX2 copy and this CPU can run it.
inline bool avx2_kernel_available() {
#if JAQ_X86_RUNTIME_AVX2
  static const bool ok = __builtin_cpu_supports("avx2");
  return ok;
#else
  return false;
#endif
}

/// The fastest copy available here.
inline kernel_isa best_kernel_isa() { return avx2_kernel_available() ? kernel_isa::avx2 : kernel_isa::portable; }

/// Name of the SIMD level the chosen copy runs ("sse2", "avx2", ...).
inline const char* kernel_arch_name(kernel_isa isa) { return isa == kernel_isa::avx2 ? "avx2" : simd::arch_name(); }

namespace detail {

/// Vector operations over xsimd batches (the build's SIMD level).
struct xsimd_ops {
  using V = simd::batch<double>;
  static constexpr std::size_t width = simd::width<double>;
  static V load(const double* p) { return V::load_unaligned(p); }
  static void store(const V& v, double* p) { v.store_unaligned(p); }
  static V splat(double x) { return V(x); }
  template <class M>
  static V select(const M& m, const V& a, const V& b) {
    return xsimd::select(m, a, b);
  }
  // a select, not xsimd::max: same result on the finite values here, and GCC 12 warns about an
  // uninitialised operand inside _mm512_max_pd under --config=native.
  static V max(const V& a, const V& b) { return xsimd::select(a > b, a, b); }
};

}  // namespace detail

namespace detail::portable_isa {
#include "jaq/batchtile/detail/score_body.inc"
}  // namespace detail::portable_isa

#if JAQ_X86_RUNTIME_AVX2
// The same body compiled for AVX2 (without FMA: no fused multiply-add can appear). Every
// function defined in this region, vector helpers included, carries the target, so they inline
// into each other and nothing outside it ever calls them but score_order.
#pragma GCC push_options
#pragma GCC target("avx2")
namespace detail {
/// Vector operations over GCC vector extensions of 4 doubles (compiled for AVX2 here).
struct gnu_avx2_ops {
  typedef double V __attribute__((vector_size(32)));
  static constexpr std::size_t width = 4;
  static V load(const double* p) {
    V v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  static void store(const V& v, double* p) { std::memcpy(p, &v, sizeof v); }
  static V splat(double x) { return V{x, x, x, x}; }
  template <class M>
  static V select(const M& m, const V& a, const V& b) {
    return m ? a : b;
  }
  static V max(const V& a, const V& b) { return a > b ? a : b; }
};
}  // namespace detail
namespace detail::avx2_isa {
#include "jaq/batchtile/detail/score_body.inc"
}  // namespace detail::avx2_isa
#pragma GCC pop_options
#endif

namespace detail {

JAQ_NO_FP_CONTRACT inline void score_order_portable(const candidate_batch& cb, std::size_t lo, std::size_t hi,
                                                    const std::array<std::int8_t, num_loops>& order, double* total, double* energy) {
  portable_isa::score_order_body<xsimd_ops>(cb, lo, hi, order, total, energy);
}

#if JAQ_X86_RUNTIME_AVX2
// target("avx2") without "fma": no fused multiply-add can appear, whatever the contraction mode.
__attribute__((target("avx2"))) JAQ_NO_FP_CONTRACT inline void score_order_avx2(const candidate_batch& cb, std::size_t lo, std::size_t hi,
                                                                                const std::array<std::int8_t, num_loops>& order,
                                                                                double* total, double* energy) {
  avx2_isa::score_order_body<gnu_avx2_ops>(cb, lo, hi, order, total, energy);
}
#endif

}  // namespace detail

/// Scores candidates [lo, hi) of `cb` under `order` (loop ids, outermost first). Writes exact
/// total cycles and the energy in nJ to total[i], energy[i]; lanes up to the next multiple of the
/// SIMD width past hi are written too (they are padding or other candidates: ignore them).
/// Preconditions: cb.exact; total and energy have room for cb.padded() values; `isa` available.
inline void score_order(const candidate_batch& cb, std::size_t lo, std::size_t hi, const std::array<std::int8_t, detail::num_loops>& order,
                        double* total, double* energy, kernel_isa isa = best_kernel_isa()) {
#if JAQ_X86_RUNTIME_AVX2
  if (isa == kernel_isa::avx2) {
    JAQ_ASSERT(avx2_kernel_available());
    detail::score_order_avx2(cb, lo, hi, order, total, energy);
    return;
  }
#endif
  (void)isa;
  detail::score_order_portable(cb, lo, hi, order, total, energy);
}

}  // namespace jaq::batchtile
