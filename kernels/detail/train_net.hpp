// kernels/detail/train_net.hpp: a network as the device training engine runs it: values (the
// tensors of one forward pass), parameters, and the ops between them, in forward order. Plain
// data, no jaq::nn types: kernels/train_model.hpp builds it from a jaq::nn model (and its LSQ
// quantization), and kernels/detail/train_program.hpp runs it on an executor (the GPU, or the
// host twin that the CPU tests run).
//
// Layouts are the CPU engine's: feature maps (C, N, H, W), features (N, F), weights (Co, Ci/g, k, k)
// and (out, in), so parameters and gradients compare element for element with jaq's.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace jaq::cuda::train {

enum class op_kind : std::int32_t { conv, batch_norm, add, global_avg_pool, linear, mixed_conv, mix, channel_shuffle };
enum class activation : std::int32_t { none, relu, relu6 };

/// How a weighted layer's input or weight is fake-quantized (jaq::quant::quantized_model's
/// methods): inputs by LSQ (per tensor), PACT or min/max (per tensor, the batch's range);
/// weights by LSQ (per output channel or per tensor), min/max (per output channel) or DoReFa
/// (per tensor).
enum class quantizer : std::int32_t { lsq, pact, minmax, dorefa };

/// A weighted layer's fake quantization.
struct quant_layer {
  bool on = false;
  quantizer a = quantizer::lsq;     ///< the input's: lsq, pact (s_a is its clip alpha) or minmax
  quantizer w = quantizer::lsq;     ///< the weight's: lsq, minmax or dorefa
  int a_qn = 0, a_qp = 0;           ///< the input's grid (min/max: a_qp = 2^b - 1 levels)
  int w_qn = 0, w_qp = 0;           ///< the weight's grid (min/max, DoReFa: w_qp = 2^b - 1 levels)
  bool w_per_channel = true;        ///< one weight step (min/max: range) per output channel, else one
  int s_a = -1, s_w = -1;           ///< parameter indices of the steps (trained even where unused, as on the CPU)
  int observer = -1;                ///< min/max input: its running range's index among the net's observers
  float observer_momentum = 0.1f;   ///< jaq::quant::minmax_observer::momentum
  double a_scale = 1, w_scale = 1;  ///< LSQ gradient scales g = 1/sqrt(N Q_P) (others: 1)
};

/// One candidate width of a mixed_conv: the LSQ grids of its input and weight, and the
/// parameter indices of its steps (the input's (1), the weight's (c_out)).
struct width_quant {
  int a_qn = 0, a_qp = 0, w_qn = 0, w_qp = 0;
  int s_a = -1, s_w = -1;
};

/// A search layer's convolution over candidate widths, as jaq::nas::mixed_conv2d computes it:
///   y = conv(x_U, sum_b p_b Qw_b(w)[:, U]) + sum_b p_b conv(Qa_b(x_S), Qw_b(w)[:, S])
/// over the widths b with p_b != 0, S the selected (quantized) input channels, U the others.
/// With `pw`, p weighs the input's widths and pw the weight's. p and pw are read from the
/// step's mixture arena (step_plan::mixture), and their gradients go to the same place in the
/// mixture-gradient arena: the caller owns the logits and their sampling.
struct mixed_spec {
  std::vector<width_quant> widths;
  int p = -1;                          ///< offset of the widths' mixture weights in the mixture arena
  int pw = -1;                         ///< separate weight widths: their mixture's offset; -1: p drives both
  std::vector<std::int32_t> selected;  ///< CSQ's mask: the quantized input channels, ascending (all of them: fused all-channel)
};

/// Branches mixed by weights of the step (jaq::nas::weighted_mix): y = sum_j c_j inputs[j] in
/// value and for the inputs' gradients, with c_j = mixture[c + j], while mixture entry
/// p + index[j] gets <g, inputs[j]>. c_j = -1: branch j did not run this step (it is neither
/// read nor given a gradient). The operator mixture of a search block holds straight-through
/// constants there ({1, 0} for the two sampled operators); a naive mixture of widths, the
/// widths' own weights.
struct mix_spec {
  std::vector<int> inputs;  ///< value indices of the branches
  std::vector<int> index;   ///< each branch's entry after p
  int c = -1;               ///< offset of the branches' weights in the mixture arena
  int p = -1;               ///< offset of the mixture weights that get the gradients
};

/// One op. Extents are per image; the batch size is given when the program runs.
struct op {
  op_kind kind = op_kind::conv;
  int in = -1, in2 = -1, out = -1;  ///< value indices (in2: add's second operand; mix: see mix_spec)
  int weight = -1, bias = -1;       ///< conv/linear: weight (and linear's bias); batch_norm: gamma, beta
  int stats = -1;                   ///< batch_norm: its index among the net's batch norms
  std::int64_t c_in = 0, c_out = 0, kernel = 1, stride = 1, pad = 0, groups = 1;
  std::int64_t h = 1, w = 1, oh = 1, ow = 1;  ///< conv: input and output extents; bn, gap: h, w
  activation act = activation::none;          ///< batch_norm's fused activation
  double eps = 1e-5, momentum = 0.1;          ///< batch_norm
  quant_layer q;                              ///< conv, linear
  mixed_spec mixed;                           ///< mixed_conv (groups 1 or depthwise)
  mix_spec mix;                               ///< mix
  std::string name;                           ///< the layer, for messages
};

struct value {
  std::int64_t per_image = 0;  ///< elements per image (C H W, or F)
};

struct param {
  std::string name;
  std::int64_t size = 0;
  bool is_step = false;  ///< an LSQ step: kept >= min_step after each update
  bool learned = true;   ///< false: the optimizer leaves it, as jaq::optim::sgd leaves a frozen
                         ///< parameter or one no op reads (a min/max layer's steps: no gradient)
};

struct net {
  std::vector<value> values;              ///< values[0]: the input images
  std::vector<param> params;              ///< in the optimizer's order
  std::vector<op> ops;                    ///< forward order
  std::vector<std::int64_t> bn_channels;  ///< channels of each batch norm (its running statistics)
  std::int64_t observers = 0;             ///< min/max inputs' running ranges, 3 floats each {seen, lo, hi}
  int logits = -1;                        ///< the value holding (N, classes)
  std::int64_t classes = 0;
  std::int64_t mixtures = 0;  ///< floats of the mixture arena (mixed_conv's p and pw, mix's p)
};

/// How an op takes part in a step.
enum class run_mode : std::uint8_t {
  skip,     ///< not run (a candidate operator that was not sampled)
  forward,  ///< forward only, no gradient (the second sampled operator: only its mixture weight needs it)
  train,    ///< forward and backward
};

/// What a search step adds to a plain one: the mixture weights and which ops run. A parameter
/// that no trained op reads gets no gradient this step and the optimizer leaves it (and its
/// momentum), as jaq::optim::sgd leaves a parameter whose gradient is empty; so does a width's
/// step whose mixture weight is 0.
struct step_plan {
  std::vector<float> mixture;  ///< net::mixtures values: weights in [0, 1], or -1 for a branch that did not run
  std::vector<run_mode> run;   ///< one per op; empty: every op trains
  /// false: an architecture step. Gradients only (the mixture's among them); the parameters and
  /// momentum stay as they are, since the caller's optimizer steps the logits, not the weights.
  bool update = true;
};

/// Optimizer settings of a training step: jaq::optim::sgd's (PyTorch's SGD).
struct sgd_settings {
  float momentum = 0.9f;
  float weight_decay = 0.0f;
  bool nesterov = false;
  float min_step = 1e-6f;  ///< quantized_model::project()'s floor for LSQ steps
};

/// What a step reports.
struct step_stats {
  double loss = 0;           ///< mean cross-entropy over the batch
  std::int64_t correct = 0;  ///< arg-max hits
};

}  // namespace jaq::cuda::train
