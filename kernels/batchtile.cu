// kernels/batchtile.cu: BatchTile on the GPU. One thread per (tiling, loop order) pair, every pair
// of every job (configuration x layer) in one launch; a block reduces its pairs to the best with
// the CPU's exact tie rule, a second kernel reduces each job's blocks. The pair's figures come
// from the cost model's own JAQ_HOST_DEVICE functions (kernels/detail/pair_score.hpp), so the
// answer is BatchTile's, bit for bit. The capacity filter is the cut kept here: a pair whose
// tiling overflows returns at once (it is warp-uniform: a warp's 32 pairs share at most two
// tilings). The order-class and lower-bound cuts of the CPU path are not used: they make each
// thread's work depend on the others', and the GPU scores every fitting pair in less time than
// the CPU takes to sort them.
#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

#include "kernels/detail/batchtile_launch.hpp"
#include "kernels/detail/cuda_status.cuh"
#include "kernels/detail/pair_score.hpp"

namespace jaq::cuda::detail {
namespace {

constexpr int threads_per_block = 256;
constexpr std::int64_t pairs_per_block = threads_per_block * 16;

struct block_task {
  std::int32_t job;
  std::int64_t first_pair;
};

/// Reduces (key, fitting) across the block into thread 0's; every thread must call it.
__device__ void block_reduce(pair_key& k, std::int64_t& fitting) {
  __shared__ pair_key keys[threads_per_block];
  __shared__ std::int64_t fits[threads_per_block];
  keys[threadIdx.x] = k;
  fits[threadIdx.x] = fitting;
  __syncthreads();
  for (int stride = threads_per_block / 2; stride > 0; stride /= 2) {
    if (static_cast<int>(threadIdx.x) < stride) {
      const pair_key& other = keys[threadIdx.x + stride];
      if (before(other, keys[threadIdx.x])) keys[threadIdx.x] = other;
      fits[threadIdx.x] += fits[threadIdx.x + stride];
    }
    __syncthreads();
  }
  k = keys[0];
  fitting = fits[0];
}

template <class Flow>
__global__ void score_blocks(const map_job* jobs, const block_task* tasks, job_best* block_out) {
  const block_task task = tasks[blockIdx.x];
  const map_job& j = jobs[task.job];
  const std::int64_t end_all = j.pairs();
  const std::int64_t end = task.first_pair + pairs_per_block < end_all ? task.first_pair + pairs_per_block : end_all;
  pair_key best;
  std::int64_t fitting = 0;
  for (std::int64_t q = task.first_pair + threadIdx.x; q < end; q += threads_per_block) {
    const pair_key k = score_pair<Flow>(j, q);
    if (k.none()) continue;
    if (k.order == 0) ++fitting;
    if (before(k, best)) best = k;
  }
  block_reduce(best, fitting);
  if (threadIdx.x == 0) block_out[blockIdx.x] = {best, fitting};
}

/// One block per job: the best of its blocks' bests (blocks [first[job], first[job + 1])).
__global__ void reduce_jobs(const job_best* block_out, const std::int32_t* first, job_best* job_out) {
  const std::int32_t lo = first[blockIdx.x], hi = first[blockIdx.x + 1];
  pair_key best;
  std::int64_t fitting = 0;
  for (std::int32_t b = lo + static_cast<std::int32_t>(threadIdx.x); b < hi; b += threads_per_block) {
    const job_best& r = block_out[b];
    fitting += r.fitting;
    if (before(r.best, best)) best = r.best;
  }
  block_reduce(best, fitting);
  if (threadIdx.x == 0) job_out[blockIdx.x] = {best, fitting};
}

template <class Flow>
status run(int device, std::span<const map_job> jobs, std::span<job_best> out) {
  if (jobs.empty()) return status::success();
  std::vector<block_task> tasks;
  std::vector<std::int32_t> first(jobs.size() + 1, 0);
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    first[i] = static_cast<std::int32_t>(tasks.size());
    for (std::int64_t q = 0; q < jobs[i].pairs(); q += pairs_per_block) tasks.push_back({static_cast<std::int32_t>(i), q});
  }
  first[jobs.size()] = static_cast<std::int32_t>(tasks.size());
  if (tasks.size() > 0x7fffffffu) return {1, "BatchTile launch: too many blocks"};
  if (const status s = status_of(cudaSetDevice(device), "cudaSetDevice"); !s.ok()) return s;
  try {
    device_array<map_job> d_jobs(jobs.size(), device);
    device_array<block_task> d_tasks(tasks.size(), device);
    device_array<std::int32_t> d_first(first.size(), device);
    device_array<job_best> d_blocks(tasks.size(), device), d_out(jobs.size(), device);
    if (status s = d_jobs.upload(jobs); !s.ok()) return s;
    if (status s = d_tasks.upload(tasks); !s.ok()) return s;
    if (status s = d_first.upload(first); !s.ok()) return s;
    if (!tasks.empty()) {
      score_blocks<Flow><<<static_cast<unsigned>(tasks.size()), threads_per_block>>>(d_jobs.data(), d_tasks.data(), d_blocks.data());
      if (status s = after_launch("BatchTile score_blocks"); !s.ok()) return s;
    }
    reduce_jobs<<<static_cast<unsigned>(jobs.size()), threads_per_block>>>(d_blocks.data(), d_first.data(), d_out.data());
    if (status s = after_launch("BatchTile reduce_jobs"); !s.ok()) return s;
    return d_out.download(out);
  } catch (const std::exception& e) {  // a failed allocation (device_array throws)
    return {2, e.what()};
  }
}

}  // namespace

status best_pairs(int device, flow_id flow, std::span<const map_job> jobs, std::span<job_best> out) {
  if (out.size() != jobs.size()) return {1, "best_pairs: output size differs from the job count"};
  switch (flow) {
    case flow_id::proxy:
      return run<hw::proxy_stationary>(device, jobs, out);
    case flow_id::input:
      return run<hw::input_stationary>(device, jobs, out);
    case flow_id::output:
      return run<hw::output_stationary>(device, jobs, out);
    case flow_id::weight:
      return run<hw::weight_stationary>(device, jobs, out);
  }
  return {1, "best_pairs: unknown dataflow"};
}

}  // namespace jaq::cuda::detail
