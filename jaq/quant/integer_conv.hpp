// jaq/quant/integer_conv.hpp: the integer-arithmetic reference forward of a quantized conv and
// linear layer (int8/uint8 codes, int32 accumulation), and the rule that makes the fake-quant
// forward equal to it bit for bit.
//
// A quantized layer with activation step s_a (per tensor) and weight steps s_w[o] (per output
// channel, or one for all) computes, in exact arithmetic,
//     y[o] = sum_k (a_k s_a)(w_ok s_w[o]) = (s_a s_w[o]) * sum_k a_k w_ok        (a, w: codes)
// An accelerator computes acc = sum_k a_k w_ok in int32 and rescales. jaq's fake-quant forward
// computes the same sum on the codes held in float (a float GEMM) and rescales with the same
// `rescale` below. The two are identical, not merely close, because:
//   every product a_k w_ok is an integer with |a_k w_ok| <= Q_a Q_w, and every partial sum, in
//   any order the GEMM picks, is an integer of magnitude <= K Q_a Q_w. While K Q_a Q_w <= 2^24
//   every such integer is a float, so every float addition and multiplication is exact, the
//   float accumulator equals the int32 accumulator, and the same rescale gives the same bits.
// `exact_reduction_limit` gives the largest K (= C * kh * kw) for which this holds; e.g. uint4
// activations x int4 weights: K <= 139810; uint8 x int8: K <= 514. Beyond it the float forward
// differs from the integer one by float rounding of the sum (|error| <= K * u * sum|a w| s_a s_w,
// u = 2^-24), which the tests bound too.
//
//   jaq::quant::conv_geometry g{.batch = 2, .in_channels = 3, .height = 8, .width = 8,
//                               .out_channels = 4, .kernel = 3, .padding = 1};
//   jaq::quant::conv2d_int32<std::uint8_t>(g, act_codes, w_codes, acc);   // acc: (N, O, Ho, Wo)
//   y[i] = jaq::quant::rescale(acc[i], s_a, s_w[o]);
#pragma once

#include <cstdint>
#include <ostream>
#include <span>
#include <string>

#include "jaq/config.hpp"

namespace jaq::quant {

/// Shape of a 2-D convolution with a square kernel (NCHW activations, OIHW weights).
struct conv_geometry {
  int batch = 1;
  int in_channels = 1;
  int height = 1;
  int width = 1;
  int out_channels = 1;
  int kernel = 1;
  int stride = 1;
  int padding = 0;
  int groups = 1;  ///< input channels split into `groups` slices (depthwise: groups = C = O)

  int out_height() const { return (height + 2 * padding - kernel) / stride + 1; }
  int out_width() const { return (width + 2 * padding - kernel) / stride + 1; }
  /// Terms per output: the reduction length K.
  std::int64_t reduction() const { return std::int64_t(in_channels / groups) * kernel * kernel; }
  std::int64_t input_size() const { return std::int64_t(batch) * in_channels * height * width; }
  std::int64_t weight_size() const { return std::int64_t(out_channels) * reduction(); }
  std::int64_t output_size() const {
    return std::int64_t(batch) * out_channels * out_height() * out_width();
  }

  friend std::ostream& operator<<(std::ostream& os, const conv_geometry& g) {
    return os << "conv(N=" << g.batch << ", C=" << g.in_channels << ", H=" << g.height
              << ", W=" << g.width << " -> O=" << g.out_channels << ", k=" << g.kernel
              << ", stride=" << g.stride << ", pad=" << g.padding
              << (g.groups > 1 ? ", groups=" + std::to_string(g.groups) : std::string()) << ")";
  }
};

/// Largest reduction length K for which a float accumulation of code products is exact:
/// K * q_a * q_w <= 2^24, q_a and q_w the largest code magnitudes.
constexpr std::int64_t exact_reduction_limit(int q_a, int q_w) {
  const std::int64_t p = std::int64_t(q_a) * q_w;
  return p == 0 ? (std::int64_t(1) << 62) : (std::int64_t(1) << 24) / p;
}

/// The one rescale both the integer and the fake-quant forward use: (acc * s_a) * s_w in float.
/// Exact conversion of acc requires |acc| <= 2^24, which the reduction limit guarantees.
template <class T>
JAQ_HOST_DEVICE inline T rescale(T acc, T s_a, T s_w) {
  return (acc * s_a) * s_w;
}

/// Integer convolution: act (N, C, H, W) codes of type A (int8 or uint8), w (O, C/groups, k, k) int8
/// codes, acc (N, O, Ho, Wo) int32. Zero padding (code 0 is the value 0 on every jaq grid whose
/// integer path exists: LSQ and PACT have no zero point).
template <class A>
void conv2d_int32(const conv_geometry& g, std::span<const A> act, std::span<const std::int8_t> w,
                  std::span<std::int32_t> acc) {
  JAQ_ASSERT(std::int64_t(act.size()) == g.input_size());
  JAQ_ASSERT(std::int64_t(w.size()) == g.weight_size());
  JAQ_ASSERT(std::int64_t(acc.size()) == g.output_size());
  const int ho = g.out_height(), wo = g.out_width();
  const int cg = g.in_channels / g.groups, og = g.out_channels / g.groups;
  for (int n = 0; n < g.batch; ++n)
    for (int o = 0; o < g.out_channels; ++o)
      for (int y = 0; y < ho; ++y)
        for (int x = 0; x < wo; ++x) {
          std::int32_t sum = 0;
          const int c0 = (o / og) * cg;
          for (int c = c0; c < c0 + cg; ++c)
            for (int ky = 0; ky < g.kernel; ++ky)
              for (int kx = 0; kx < g.kernel; ++kx) {
                const int iy = y * g.stride - g.padding + ky, ix = x * g.stride - g.padding + kx;
                if (iy < 0 || iy >= g.height || ix < 0 || ix >= g.width) continue;
                const std::int32_t a =
                    act[((std::size_t(n) * g.in_channels + c) * g.height + iy) * g.width + ix];
                const std::int32_t b =
                    w[((std::size_t(o) * cg + (c - c0)) * g.kernel + ky) * g.kernel + kx];
                sum += a * b;
              }
          acc[((std::size_t(n) * g.out_channels + o) * ho + y) * wo + x] = sum;
        }
}

/// Integer linear layer: act (N, in) codes, w (out, in) int8 codes, acc (N, out) int32.
template <class A>
void linear_int32(int batch, int in, int out, std::span<const A> act,
                  std::span<const std::int8_t> w, std::span<std::int32_t> acc) {
  JAQ_ASSERT(act.size() == std::size_t(batch) * in && w.size() == std::size_t(out) * in);
  JAQ_ASSERT(acc.size() == std::size_t(batch) * out);
  for (int n = 0; n < batch; ++n)
    for (int o = 0; o < out; ++o) {
      std::int32_t sum = 0;
      for (int k = 0; k < in; ++k)
        sum += std::int32_t(act[std::size_t(n) * in + k]) * std::int32_t(w[std::size_t(o) * in + k]);
      acc[std::size_t(n) * out + o] = sum;
    }
}

/// Rescale an (N, O, spatial) accumulator with per-output-channel weight steps (s_w.size() == O,
/// or 1 for a per-tensor weight quantizer) and an optional per-channel bias added afterwards.
template <class Acc>
void rescale_output(std::span<const Acc> acc, int batch, int channels, float s_a,
                    std::span<const float> s_w, std::span<const float> bias,
                    std::span<float> out) {
  JAQ_ASSERT(acc.size() == out.size() && acc.size() % (std::size_t(batch) * channels) == 0);
  JAQ_ASSERT(s_w.size() == std::size_t(channels) || s_w.size() == 1);
  const std::size_t spatial = acc.size() / (std::size_t(batch) * channels);
  for (int n = 0; n < batch; ++n)
    for (int o = 0; o < channels; ++o) {
      const float sw = s_w.size() == 1 ? s_w[0] : s_w[std::size_t(o)];
      const float b = bias.empty() ? 0.0f : bias[std::size_t(o)];
      const std::size_t base = (std::size_t(n) * channels + o) * spatial;
      for (std::size_t i = 0; i < spatial; ++i) {
        const float r = rescale<float>(static_cast<float>(acc[base + i]), s_a, sw);
        out[base + i] = bias.empty() ? r : r + b;
      }
    }
}

}  // namespace jaq::quant
