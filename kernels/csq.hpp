// kernels/csq.hpp: CSQ's masked multi-precision quantization on a CUDA device: the quantized part
// of the stacked input X~ and the stacked weight W~ of one search layer's convolution
// (kernels/detail/csq_stack.hpp says what they are), on device-resident tensors, equal to the
// CPU's (jaq/nas/mixed_conv.hpp) bit for bit.
//
//   jaq::cuda::check(jaq::cuda::csq_stack_input(sh, x, stack, s_a, a_grid, q));
//   jaq::cuda::check(jaq::cuda::csq_stack_weights(sh, w, stack, s_w, w_grid, p, active, n_active, ws));
#pragma once

#include <cstdint>

#include "jaq/quant/grid.hpp"
#include "kernels/detail/csq_stack.hpp"
#include "kernels/device.hpp"

namespace jaq::cuda {

/// q (cs - nu, plane): every quantized stacked channel. Every pointer is device memory: x
/// (C, plane), stack (cs), s_a (candidates), a_grid (candidates).
status csq_stack_input(const csq_shape& sh, const float* x, const csq_channel* stack, const float* s_a, const quant::qrange* a_grid,
                       float* q);

/// W~ (sh.w_size()): device pointers w (co, cin_w, kk), stack (cs), s_w (candidates, co), w_grid
/// (candidates), p (candidates), active (n_active candidate indices with p != 0, in order).
status csq_stack_weights(const csq_shape& sh, const float* w, const csq_channel* stack, const float* s_w, const quant::qrange* w_grid,
                         const float* p, const std::int32_t* active, std::int32_t n_active, float* wstack);

}  // namespace jaq::cuda
