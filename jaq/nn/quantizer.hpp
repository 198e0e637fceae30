// jaq/nn/quantizer.hpp: the hook through which quantization enters a layer without editing it.
//
// A quantizer maps a var to a var on the same tape (fake quantization, a mask, a mixture of
// bit-widths...). An empty quantizer is the identity and costs one branch.
//
//   layer.weight_quantizer = [&](jaq::tape<float>& tp, jaq::var<float> w) { return lsq(tp, w, ...); };
#pragma once

#include <functional>

#include "jaq/autograd/tape.hpp"

namespace jaq::nn {

template <scalar T>
using quantizer = std::function<var<T>(tape<T>&, var<T>)>;

/// Applies q if set, else returns x unchanged.
template <scalar T>
var<T> apply(const quantizer<T>& q, tape<T>& tp, var<T> x) {
  return q ? q(tp, x) : x;
}

}  // namespace jaq::nn
