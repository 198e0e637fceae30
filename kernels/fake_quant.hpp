// kernels/fake_quant.hpp: LSQ, PACT and min/max fake quantization on a CUDA device, forward and
// backward, on device-resident tensors (pointers into jaq::cuda::device_array), so that a
// training step can keep its tensors on the device.
//
// Each element is the scalar definition the CPU uses (jaq/quant/lsq.hpp, pact.hpp, minmax.hpp,
// JAQ_HOST_DEVICE), so forward values and input gradients equal the CPU's bit for bit (IEEE
// division, no fused multiply-add). The step-size and clip gradients are reductions: summed in
// double, in a fixed grouping (blocks of a fixed size, then the blocks in order), so they are
// deterministic run to run and equal the CPU's sequential double sum to within double rounding.
// Step sizes and clip values are device pointers too (a device optimizer updates them).
//
//   jaq::cuda::device_array<float> x(n), y(n), s(1);
//   jaq::cuda::check(jaq::cuda::lsq_forward(x.data(), n, s.data(), q, y.data()));
#pragma once

#include <cstdint>

#include "jaq/quant/grid.hpp"
#include "kernels/device.hpp"

namespace jaq::cuda {

/// out[i] = lsq_value(x[i], s[0], q.q_n, q.q_p). out may alias x.
status lsq_forward(const float* x, std::int64_t n, const float* s, quant::qrange q, float* out);
/// x (channels, inner) row-major, one step per channel: out[c, i] = lsq_value(x[c, i], s[c]).
status lsq_forward_per_channel(const float* x, std::int64_t channels, std::int64_t inner, const float* s, quant::qrange q, float* out);
/// grad_in[i] = g[i] * lsq_grad_input(x[i], s[0]); ds[0] = sum_i g[i] lsq_grad_step(x[i], s[0])
/// (double, before the gradient scale). grad_in may alias g.
status lsq_backward(const float* x, const float* g, std::int64_t n, const float* s, quant::qrange q, float* grad_in, double* ds);
/// Per channel: ds[c] = the channel's unscaled step gradient.
status lsq_backward_per_channel(const float* x, const float* g, std::int64_t channels, std::int64_t inner, const float* s, quant::qrange q,
                                float* grad_in, double* ds);

/// out[i] = pact_value(x[i], alpha[0], levels), levels = 2^bits - 1.
status pact_forward(const float* x, std::int64_t n, const float* alpha, int levels, float* out);
/// grad_in[i] = g[i] pact_grad_input(x[i], alpha); dalpha[0] = sum_i g[i] pact_grad_alpha(x[i], alpha).
status pact_backward(const float* x, const float* g, std::int64_t n, const float* alpha, float* grad_in, double* dalpha);

/// range[0] = min x, range[1] = max x (n >= 1).
status minmax_range(const float* x, std::int64_t n, float* range);
/// out[i] = minmax_value(x[i], range[0], range[1], levels).
status minmax_forward(const float* x, std::int64_t n, const float* range, int levels, float* out);
/// grad_in[i] = g[i] minmax_grad_input(x[i], range[0], range[1]).
status minmax_backward(const float* x, const float* g, std::int64_t n, const float* range, float* grad_in);

}  // namespace jaq::cuda
