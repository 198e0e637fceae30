// kernels/detail/window_taps.hpp: which output positions of a convolution window read one input
// element, for the device training program's input gradients (gathers, so that no two threads
// write one element).
#pragma once

#include <cstdint>

#include "jaq/config.hpp"

namespace jaq::cuda::train {

/// The output positions of a k x k window (stride s, padding p, output oh x ow) that read input
/// (iy, ix): gather(iy, ix, term) sums term(kh, kw, oy, ox) over them, for the input gradients
/// of the depthwise kernel and of col2im (gathers: no two threads write one element).
struct window_taps {
  std::int64_t k, s, p, oh, ow;
  template <class F>
  JAQ_HOST_DEVICE float gather(std::int64_t iy, std::int64_t ix, F term) const {
    float acc = 0.0f;
    for (std::int64_t kh = 0; kh < k; ++kh) {
      const std::int64_t ty = iy + p - kh;
      if (ty < 0 || ty % s != 0 || ty / s >= oh) continue;
      for (std::int64_t kw = 0; kw < k; ++kw) {
        const std::int64_t tx = ix + p - kw;
        if (tx < 0 || tx % s != 0 || tx / s >= ow) continue;
        acc += term(kh, kw, ty / s, tx / s);
      }
    }
    return acc;
  }
};

}  // namespace jaq::cuda::train
