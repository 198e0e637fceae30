// kernels/fake_quant.cu: the fake-quantization kernels of kernels/fake_quant.hpp. Element maths is
// the CPU's own (JAQ_HOST_DEVICE scalar definitions); reductions sum in double in a fixed grouping.
#include <cuda_runtime.h>

#include <cstdint>

#include "jaq/quant/lsq.hpp"
#include "jaq/quant/minmax.hpp"
#include "jaq/quant/pact.hpp"
#include "kernels/detail/cuda_status.cuh"
#include "kernels/fake_quant.hpp"

namespace jaq::cuda {
namespace {

constexpr int threads = 256;
constexpr std::int64_t per_block = threads * 8;  // elements one block reduces
constexpr int max_blocks = 65535;

unsigned blocks_for(std::int64_t n, std::int64_t per) {
  const std::int64_t b = (n + per - 1) / per;
  return static_cast<unsigned>(b < 1 ? 1 : (b > max_blocks ? max_blocks : b));
}

/// Sum of v over the block, into every thread's return (fixed tree: deterministic).
__device__ double block_sum(double v) {
  __shared__ double buf[threads];
  buf[threadIdx.x] = v;
  __syncthreads();
  for (int stride = threads / 2; stride > 0; stride /= 2) {
    if (static_cast<int>(threadIdx.x) < stride) buf[threadIdx.x] += buf[threadIdx.x + stride];
    __syncthreads();
  }
  const double r = buf[0];
  __syncthreads();
  return r;
}

__global__ void lsq_fwd(const float* x, std::int64_t n, const float* s, int qn, int qp, float* out) {
  const float step = s[0];
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < n; i += std::int64_t{gridDim.x} * blockDim.x)
    out[i] = quant::lsq_value(x[i], step, qn, qp);
}

__global__ void lsq_fwd_pc(const float* x, std::int64_t channels, std::int64_t inner, const float* s, int qn, int qp, float* out) {
  const std::int64_t n = channels * inner;
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < n; i += std::int64_t{gridDim.x} * blockDim.x)
    out[i] = quant::lsq_value(x[i], s[i / inner], qn, qp);
}

/// The STE backward of one quantizer over [0, n) in blocks of per_block elements: grad_in[i] =
/// g[i] * q.input(x[i]), and partial[b] = block b's sum of g[i] * q.param(x[i]) in double.
template <class Q>
__global__ void ste_bwd_blocks(Q q, const float* x, const float* g, std::int64_t n, float* grad_in, double* partial) {
  const std::int64_t lo = blockIdx.x * per_block;
  const std::int64_t hi = lo + per_block < n ? lo + per_block : n;
  double acc = 0;
  for (std::int64_t i = lo + threadIdx.x; i < hi; i += threads) {
    const float gi = g[i];
    acc += double(gi) * double(q.param(x[i]));
    grad_in[i] = gi * q.input(x[i]);
  }
  const double t = block_sum(acc);
  if (threadIdx.x == 0) partial[blockIdx.x] = t;
}

/// LSQ at the step s[0]: d/d s and d/d x of v_hat.
struct lsq_ste {
  const float* s;
  int qn, qp;
  __device__ float param(float v) const { return quant::lsq_grad_step(v, s[0], qn, qp); }
  __device__ float input(float v) const { return quant::lsq_grad_input(v, s[0], qn, qp); }
};

/// PACT at the clip alpha[0]: d/d alpha and d/d x of y_q.
struct pact_ste {
  const float* alpha;
  __device__ float param(float v) const { return quant::pact_grad_alpha(v, alpha[0]); }
  __device__ float input(float v) const { return quant::pact_grad_input(v, alpha[0]); }
};

/// One block per channel.
__global__ void lsq_bwd_pc(const float* x, const float* g, std::int64_t inner, const float* s, int qn, int qp, float* grad_in, double* ds) {
  const std::int64_t c = blockIdx.x;
  const float step = s[c];
  double acc = 0;
  for (std::int64_t i = c * inner + threadIdx.x; i < (c + 1) * inner; i += threads) {
    const float gi = g[i];
    acc += double(gi) * double(quant::lsq_grad_step(x[i], step, qn, qp));
    grad_in[i] = gi * quant::lsq_grad_input(x[i], step, qn, qp);
  }
  const double t = block_sum(acc);
  if (threadIdx.x == 0) ds[c] = t;
}

/// out[0] = sum of partial[0..m) in one block (fixed grouping).
__global__ void sum_partials(const double* partial, std::int64_t m, double* out) {
  double acc = 0;
  for (std::int64_t i = threadIdx.x; i < m; i += threads) acc += partial[i];
  const double t = block_sum(acc);
  if (threadIdx.x == 0) out[0] = t;
}

__global__ void pact_fwd(const float* x, std::int64_t n, const float* alpha, int levels, float* out) {
  const float a = alpha[0];
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < n; i += std::int64_t{gridDim.x} * blockDim.x)
    out[i] = quant::pact_value(x[i], a, levels);
}

/// range_part[2b], range_part[2b + 1]: min and max of block b's elements (same grouping as above).
__global__ void minmax_blocks(const float* x, std::int64_t n, float* part) {
  __shared__ float lo_buf[threads], hi_buf[threads];
  const std::int64_t lo = blockIdx.x * per_block;
  const std::int64_t hi = lo + per_block < n ? lo + per_block : n;
  float mn = x[lo < n ? lo : 0], mx = mn;
  for (std::int64_t i = lo + threadIdx.x; i < hi; i += threads) {
    mn = fminf(mn, x[i]);
    mx = fmaxf(mx, x[i]);
  }
  lo_buf[threadIdx.x] = mn;
  hi_buf[threadIdx.x] = mx;
  __syncthreads();
  for (int stride = threads / 2; stride > 0; stride /= 2) {
    if (static_cast<int>(threadIdx.x) < stride) {
      lo_buf[threadIdx.x] = fminf(lo_buf[threadIdx.x], lo_buf[threadIdx.x + stride]);
      hi_buf[threadIdx.x] = fmaxf(hi_buf[threadIdx.x], hi_buf[threadIdx.x + stride]);
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    part[2 * blockIdx.x] = lo_buf[0];
    part[2 * blockIdx.x + 1] = hi_buf[0];
  }
}

__global__ void minmax_final(const float* part, std::int64_t m, float* range) {
  if (threadIdx.x != 0) return;
  float mn = part[0], mx = part[1];
  for (std::int64_t b = 1; b < m; ++b) {
    mn = fminf(mn, part[2 * b]);
    mx = fmaxf(mx, part[2 * b + 1]);
  }
  range[0] = mn;
  range[1] = mx;
}

__global__ void minmax_fwd(const float* x, std::int64_t n, const float* range, int levels, float* out) {
  const float lo = range[0], hi = range[1];
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < n; i += std::int64_t{gridDim.x} * blockDim.x)
    out[i] = quant::minmax_value(x[i], lo, hi, levels);
}

__global__ void minmax_bwd(const float* x, const float* g, std::int64_t n, const float* range, float* grad_in) {
  const float lo = range[0], hi = range[1];
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < n; i += std::int64_t{gridDim.x} * blockDim.x)
    grad_in[i] = g[i] * quant::minmax_grad_input(x[i], lo, hi);
}

/// Runs a per-block reduction (blocks of per_block elements, a partial each) and sums the partials.
template <class Launch>
status reduce_in_blocks(std::int64_t n, double* out, const char* name, Launch&& launch) {
  const std::int64_t m = n > 0 ? (n + per_block - 1) / per_block : 1;
  if (m > 0x7fffffff) return {1, std::string(name) + ": tensor too large"};
  try {
    device_array<double> partial(static_cast<std::size_t>(m));
    if (n == 0) {
      if (status s = partial.zero(); !s.ok()) return s;
    } else {
      launch(static_cast<unsigned>(m), partial.data());
      if (status s = detail::after_launch(name); !s.ok()) return s;
    }
    sum_partials<<<1, threads>>>(partial.data(), m, out);
    return detail::after_launch(name);
  } catch (const std::exception& e) {
    return {2, e.what()};
  }
}

}  // namespace

status lsq_forward(const float* x, std::int64_t n, const float* s, quant::qrange q, float* out) {
  if (n == 0) return status::success();
  lsq_fwd<<<blocks_for(n, threads), threads>>>(x, n, s, q.q_n, q.q_p, out);
  return detail::after_launch("lsq_forward");
}

status lsq_forward_per_channel(const float* x, std::int64_t channels, std::int64_t inner, const float* s, quant::qrange q, float* out) {
  if (channels * inner == 0) return status::success();
  lsq_fwd_pc<<<blocks_for(channels * inner, threads), threads>>>(x, channels, inner, s, q.q_n, q.q_p, out);
  return detail::after_launch("lsq_forward_per_channel");
}

status lsq_backward(const float* x, const float* g, std::int64_t n, const float* s, quant::qrange q, float* grad_in, double* ds) {
  return reduce_in_blocks(n, ds, "lsq_backward", [&](unsigned blocks, double* partial) {
    ste_bwd_blocks<<<blocks, threads>>>(lsq_ste{s, q.q_n, q.q_p}, x, g, n, grad_in, partial);
  });
}

status lsq_backward_per_channel(const float* x, const float* g, std::int64_t channels, std::int64_t inner, const float* s, quant::qrange q,
                                float* grad_in, double* ds) {
  if (channels == 0) return status::success();
  if (channels > 0x7fffffff) return {1, "lsq_backward_per_channel: too many channels"};
  lsq_bwd_pc<<<static_cast<unsigned>(channels), threads>>>(x, g, inner, s, q.q_n, q.q_p, grad_in, ds);
  return detail::after_launch("lsq_backward_per_channel");
}

status pact_forward(const float* x, std::int64_t n, const float* alpha, int levels, float* out) {
  if (n == 0) return status::success();
  pact_fwd<<<blocks_for(n, threads), threads>>>(x, n, alpha, levels, out);
  return detail::after_launch("pact_forward");
}

status pact_backward(const float* x, const float* g, std::int64_t n, const float* alpha, float* grad_in, double* dalpha) {
  return reduce_in_blocks(n, dalpha, "pact_backward", [&](unsigned blocks, double* partial) {
    ste_bwd_blocks<<<blocks, threads>>>(pact_ste{alpha}, x, g, n, grad_in, partial);
  });
}

status minmax_range(const float* x, std::int64_t n, float* range) {
  if (n < 1) return {1, "minmax_range: empty tensor"};
  const std::int64_t m = (n + per_block - 1) / per_block;
  if (m > 0x7fffffff) return {1, "minmax_range: tensor too large"};
  try {
    device_array<float> part(static_cast<std::size_t>(2 * m));
    minmax_blocks<<<static_cast<unsigned>(m), threads>>>(x, n, part.data());
    if (status s = detail::after_launch("minmax_range"); !s.ok()) return s;
    minmax_final<<<1, 32>>>(part.data(), m, range);
    return detail::after_launch("minmax_range");
  } catch (const std::exception& e) {
    return {2, e.what()};
  }
}

status minmax_forward(const float* x, std::int64_t n, const float* range, int levels, float* out) {
  if (n == 0) return status::success();
  minmax_fwd<<<blocks_for(n, threads), threads>>>(x, n, range, levels, out);
  return detail::after_launch("minmax_forward");
}

status minmax_backward(const float* x, const float* g, std::int64_t n, const float* range, float* grad_in) {
  if (n == 0) return status::success();
  minmax_bwd<<<blocks_for(n, threads), threads>>>(x, g, n, range, grad_in);
  return detail::after_launch("minmax_backward");
}

}  // namespace jaq::cuda
