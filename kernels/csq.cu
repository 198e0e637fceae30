// kernels/csq.cu: the CSQ stacking kernels of kernels/csq.hpp, one thread per element, each element
// by kernels/detail/csq_stack.hpp (the host twin's functions).
#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/csq.hpp"
#include "kernels/detail/csq_stack.hpp"
#include "kernels/detail/cuda_status.cuh"

namespace jaq::cuda {
namespace {

constexpr int threads = 256;

unsigned blocks_for(std::int64_t n) {
  const std::int64_t b = (n + threads - 1) / threads;
  return static_cast<unsigned>(b < 1 ? 1 : (b > 65535 ? 65535 : b));
}

__global__ void stack_input(csq_shape sh, const float* x, const csq_channel* stack, const float* s_a, const quant::qrange* a_grid,
                            float* q) {
  const std::int64_t n = sh.q_size();
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < n; i += std::int64_t{gridDim.x} * blockDim.x)
    q[i] = detail::csq_input_element(sh, x, stack, s_a, a_grid, i);
}

__global__ void stack_weights(csq_shape sh, const float* w, const csq_channel* stack, const float* s_w, const quant::qrange* w_grid,
                              const float* p, const std::int32_t* active, std::int32_t n_active, float* ws) {
  const std::int64_t n = sh.w_size();
  for (std::int64_t d = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; d < n; d += std::int64_t{gridDim.x} * blockDim.x)
    ws[d] = detail::csq_weight_element(sh, w, stack, s_w, w_grid, p, active, n_active, d);
}

}  // namespace

status csq_stack_input(const csq_shape& sh, const float* x, const csq_channel* stack, const float* s_a, const quant::qrange* a_grid,
                       float* q) {
  if (sh.q_size() == 0) return status::success();
  stack_input<<<blocks_for(sh.q_size()), threads>>>(sh, x, stack, s_a, a_grid, q);
  return detail::after_launch("csq_stack_input");
}

status csq_stack_weights(const csq_shape& sh, const float* w, const csq_channel* stack, const float* s_w, const quant::qrange* w_grid,
                         const float* p, const std::int32_t* active, std::int32_t n_active, float* wstack) {
  if (sh.w_size() == 0) return status::success();
  stack_weights<<<blocks_for(sh.w_size()), threads>>>(sh, w, stack, s_w, w_grid, p, active, n_active, wstack);
  return detail::after_launch("csq_stack_weights");
}

}  // namespace jaq::cuda
