// jaq/nn/weighted_layer.hpp: what conv2d and linear layers share: a weight parameter, an
// input-activation quantizer, a weight quantizer, and an optional whole-forward override.
//
// The quantization module plugs in here, never by editing the layers:
//
//   for (auto& site : model.sites()) {
//     site.layer->input_quantizer = make_pact(...);     // default: identity, no cost
//     site.layer->weight_quantizer = make_lsq(...);
//   }
//   // or replace the computation entirely (e.g. a mixture over bit-widths):
//   layer.forward_override = [&](jaq::tape<float>& tp, jaq::var<float> x, jaq::nn::weighted_layer<float>& self) {
//     return self.compute(tp, x, self.quantized_weight(tp));
//   };
#pragma once

#include <functional>
#include <string>

#include "jaq/autograd/parameter.hpp"
#include "jaq/autograd/tape.hpp"
#include "jaq/nn/quantizer.hpp"

namespace jaq::nn {

enum class layer_kind { conv2d, linear };

template <scalar T>
class weighted_layer {
 public:
  using override_fn = std::function<var<T>(tape<T>&, var<T>, weighted_layer&)>;

  virtual ~weighted_layer() = default;

  std::string name;  ///< e.g. "conv2", "blocks.1.expand"
  parameter<T> weight;
  quantizer<T> input_quantizer;   ///< applied to the layer's input activation
  quantizer<T> weight_quantizer;  ///< applied to the weight on every forward
  override_fn forward_override;   ///< if set, replaces forward() entirely

  virtual layer_kind kind() const = 0;
  virtual std::int64_t in_channels() const = 0;
  virtual std::int64_t out_channels() const = 0;

  /// The layer's op on an (already quantized) input and weight, with no hooks.
  virtual var<T> compute(tape<T>& tp, var<T> x, var<T> w) = 0;

  /// The weight on the tape, through the weight quantizer.
  var<T> quantized_weight(tape<T>& tp) { return apply(weight_quantizer, tp, tp.param(weight)); }

  /// Hooks, then compute: override if set, else compute(Qa(x), Qw(w)).
  var<T> forward(tape<T>& tp, var<T> x) {
    if (forward_override) return forward_override(tp, x, *this);
    return compute(tp, apply(input_quantizer, tp, x), quantized_weight(tp));
  }
};

}  // namespace jaq::nn
