// jaq/quant/lsq.hpp: LSQ, the learned-step-size quantizer (Esser et al., ICLR 2020).
//
//   v_bar = round(clip(v / s, -Q_N, Q_P)),  v_hat = v_bar * s       (round: half to even)
//   d v_hat / d v = 1 where -Q_N <= v/s <= Q_P (the boundary passes), else 0   (straight through)
//   d v_hat / d s = round(v/s) - v/s inside, -Q_N below, Q_P above; the sum over the elements
//                   sharing s is multiplied by the gradient scale g = 1 / sqrt(N * Q_P).
//
// N, the count in the gradient scale, is a documented choice (`lsq_count`): jaq follows the
// paper, N = number of weights for a weight quantizer (per output channel: the weights of that
// channel) and N = number of features *per example* for an activation quantizer. The other
// convention (the whole tensor, batch included, as PyTorch's learnable fake-quantize counts)
// is `lsq_count::per_tensor`; the two differ by sqrt(batch). Why per example: the step-size
// update should not shrink when the batch grows (the summed gradient grows with the batch, the
// per-example N keeps the update on the scale of the weights' update, as the paper argues).
//
// Scalar functions are JAQ_HOST_DEVICE (shared with CUDA kernels); the span functions take the
// grid as a template parameter so the clip bounds are constants in the loop.
//
//   using G = jaq::quant::signed_grid<4>;
//   float s = jaq::quant::lsq_init_step(w, G::q_p);
//   jaq::quant::lsq_forward<G>(w, s, w_hat);
//   double ds = jaq::quant::lsq_backward<G>(w, s, g_out, g_w) * jaq::quant::lsq_grad_scale(w.size(), G::q_p);
#pragma once

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <span>

#include "jaq/config.hpp"
#include "jaq/quant/grid.hpp"
#include "jaq/quant/round.hpp"

namespace jaq::quant {

// ---- scalar definitions (the reference every loop below is tested against) ----------------

/// The integer code round(clip(v/s, -q_n, q_p)), as a T.
template <std::floating_point T>
JAQ_HOST_DEVICE inline T lsq_code(T v, T s, int q_n, int q_p) {
  const T r = v / s;
  const T c = r < T(-q_n) ? T(-q_n) : (r > T(q_p) ? T(q_p) : r);
  return round_half_even(c);
}

/// v_hat = code * s.
template <std::floating_point T>
JAQ_HOST_DEVICE inline T lsq_value(T v, T s, int q_n, int q_p) {
  return lsq_code(v, s, q_n, q_p) * s;
}

/// d v_hat / d v: 1 inside [-q_n, q_p] (boundary included), 0 outside.
template <std::floating_point T>
JAQ_HOST_DEVICE inline T lsq_grad_input(T v, T s, int q_n, int q_p) {
  const T r = v / s;
  return (r >= T(-q_n) && r <= T(q_p)) ? T(1) : T(0);
}

/// d v_hat / d s for one element, before the gradient scale.
template <std::floating_point T>
JAQ_HOST_DEVICE inline T lsq_grad_step(T v, T s, int q_n, int q_p) {
  const T r = v / s;
  if (r <= T(-q_n)) return T(-q_n);
  if (r >= T(q_p)) return T(q_p);
  return round_half_even(r) - r;
}

// ---- gradient scale and initial step ----------------------------------------------------------

/// What N counts in g = 1/sqrt(N * Q_P).
enum class lsq_count {
  per_example,  ///< the paper: weights of the layer (or channel); activation features per example
  per_tensor,   ///< every element of the tensor, batch included
};

/// g = 1 / sqrt(n * q_p); a grid with q_p = 0 (signed 1-bit) uses q_p = 1.
JAQ_HOST_DEVICE inline double lsq_grad_scale(std::int64_t n, int q_p) {
  const double qp = q_p > 0 ? double(q_p) : 1.0;
  return 1.0 / std::sqrt(double(n) * qp);
}

/// N for an activation tensor of `numel` elements holding `batch` examples.
inline std::int64_t lsq_activation_count(lsq_count c, std::int64_t numel, std::int64_t batch) {
  return c == lsq_count::per_example ? numel / (batch > 0 ? batch : 1) : numel;
}

/// s0 = 2 * mean(|v|) / sqrt(q_p) (the paper's initialisation); a tiny positive step when v is
/// all zeros, so that v/s stays finite.
inline float lsq_init_step(std::span<const float> v, int q_p) {
  double sum = 0.0;
  for (float x : v) sum += std::fabs(double(x));
  const double mean = v.empty() ? 0.0 : sum / double(v.size());
  const double s = 2.0 * mean / std::sqrt(q_p > 0 ? double(q_p) : 1.0);
  return s > 0.0 ? float(s) : 1e-8f;
}

// ---- span kernels, one instantiation per grid -------------------------------------------------

/// out[i] = v_hat(v[i]); out may alias v.
template <grid G>
void lsq_forward(std::span<const float> v, float s, std::span<float> out) {
  JAQ_ASSERT(out.size() == v.size());
  JAQ_ASSERT(s > 0.0f);
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = lsq_value(v[i], s, G::q_n, G::q_p);
}

/// Integer codes (storage type of the grid); the codes the integer reference multiplies.
template <grid G>
void lsq_codes(std::span<const float> v, float s, std::span<typename G::storage> codes) {
  JAQ_ASSERT(codes.size() == v.size());
  for (std::size_t i = 0; i < v.size(); ++i) codes[i] = static_cast<typename G::storage>(lsq_code(v[i], s, G::q_n, G::q_p));
}

/// grad_in[i] = grad_out[i] * d v_hat/d v; returns sum_i grad_out[i] * d v_hat[i]/d s, NOT yet
/// multiplied by the gradient scale. grad_in may alias grad_out.
template <grid G>
double lsq_backward(std::span<const float> v, float s, std::span<const float> grad_out, std::span<float> grad_in) {
  JAQ_ASSERT(grad_out.size() == v.size() && grad_in.size() == v.size());
  double ds = 0.0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const float g = grad_out[i];
    ds += double(g) * double(lsq_grad_step(v[i], s, G::q_n, G::q_p));
    grad_in[i] = g * lsq_grad_input(v[i], s, G::q_n, G::q_p);
  }
  return ds;
}

/// Per-output-channel weights: v is (C, inner) row-major, one step per channel.
template <grid G>
void lsq_forward_per_channel(std::span<const float> v, std::span<const float> s, std::span<float> out) {
  const std::size_t c = s.size();
  JAQ_ASSERT(c > 0 && v.size() % c == 0 && out.size() == v.size());
  const std::size_t inner = v.size() / c;
  for (std::size_t k = 0; k < c; ++k) lsq_forward<G>(v.subspan(k * inner, inner), s[k], out.subspan(k * inner, inner));
}

/// Per-output-channel backward: grad_s_raw[k] = unscaled step gradient of channel k.
template <grid G>
void lsq_backward_per_channel(std::span<const float> v, std::span<const float> s, std::span<const float> grad_out, std::span<float> grad_in,
                              std::span<double> grad_s_raw) {
  const std::size_t c = s.size();
  JAQ_ASSERT(c > 0 && v.size() % c == 0 && grad_s_raw.size() == c);
  const std::size_t inner = v.size() / c;
  for (std::size_t k = 0; k < c; ++k)
    grad_s_raw[k] =
        lsq_backward<G>(v.subspan(k * inner, inner), s[k], grad_out.subspan(k * inner, inner), grad_in.subspan(k * inner, inner));
}

/// Per-channel initial steps, one per row of the (C, inner) tensor.
inline void lsq_init_step_per_channel(std::span<const float> v, int q_p, std::span<float> s) {
  const std::size_t c = s.size();
  JAQ_ASSERT(c > 0 && v.size() % c == 0);
  const std::size_t inner = v.size() / c;
  for (std::size_t k = 0; k < c; ++k) s[k] = lsq_init_step(v.subspan(k * inner, inner), q_p);
}

}  // namespace jaq::quant
