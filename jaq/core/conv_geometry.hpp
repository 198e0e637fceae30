// jaq/core/conv_geometry.hpp: THE geometry of a 2-D convolution, shared by the convolution
// engine (jaq/autograd/detail/conv_engine.hpp: full-precision, fake-quant and CSQ paths) and the
// integer reference (jaq/quant/integer_conv.hpp). Input (C, N, H, W), weight (Co, C/groups,
// kh, kw), output (Co, N, Ho, Wo), zero padding `pad` on every side.
//
//   auto g = jaq::conv_geometry::of({.c = 3, .n = 2, .h = 8, .w = 8, .kh = 3, .kw = 3, .pad = 1, .co = 4});
//   // g.ho == g.wo == 8; g.reduction() == 27 terms per output
#pragma once

#include <cstdint>
#include <ostream>

namespace jaq {

struct conv_geometry {
  std::int64_t c = 1, n = 1, h = 1, w = 1;  ///< input (C, N, H, W)
  std::int64_t kh = 1, kw = 1, stride = 1, pad = 0;
  std::int64_t ho = 0, wo = 0;  ///< output spatial extents (of() computes them)
  std::int64_t co = 0;          ///< output channels (0: not recorded; the engine passes them)
  std::int64_t groups = 1;      ///< input channels split into `groups` slices (depthwise: C = Co = groups)

  /// g with ho and wo computed from the rest.
  static conv_geometry of(conv_geometry g) {
    g.ho = (g.h + 2 * g.pad - g.kh) / g.stride + 1;
    g.wo = (g.w + 2 * g.pad - g.kw) / g.stride + 1;
    return g;
  }

  std::int64_t rows() const { return c * kh * kw; }                  ///< im2col rows, all groups
  std::int64_t cols() const { return n * ho * wo; }                  ///< im2col columns
  std::int64_t reduction() const { return (c / groups) * kh * kw; }  ///< terms per output, K
  std::int64_t input_size() const { return c * n * h * w; }
  std::int64_t weight_size() const { return co * reduction(); }
  std::int64_t output_size() const { return co * n * ho * wo; }
  bool depthwise() const { return groups > 1 && groups == c && co == c; }

  friend std::ostream& operator<<(std::ostream& os, const conv_geometry& g) {
    os << "conv(C=" << g.c << ", N=" << g.n << ", H=" << g.h << ", W=" << g.w << " -> Co=" << g.co << ", k=" << g.kh << "x" << g.kw
       << ", stride=" << g.stride << ", pad=" << g.pad;
    if (g.groups > 1) os << ", groups=" << g.groups;
    return os << ")";
  }
};

}  // namespace jaq
