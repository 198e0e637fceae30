// kernels/detail/batchtile_launch.hpp: the launcher of the BatchTile kernel (kernels/batchtile.cu),
// as host code calls it. No CUDA header needed.
#pragma once

#include <span>
#include <type_traits>

#include "jaq/hw/dataflow.hpp"
#include "kernels/detail/pair_score.hpp"
#include "kernels/device.hpp"

namespace jaq::cuda::detail {

/// The dataflow tags the kernel is instantiated for.
enum class flow_id : int { proxy, input, output, weight };

template <class Flow>
constexpr flow_id flow_of() {
  if constexpr (std::is_same_v<Flow, hw::proxy_stationary>)
    return flow_id::proxy;
  else if constexpr (std::is_same_v<Flow, hw::input_stationary>)
    return flow_id::input;
  else if constexpr (std::is_same_v<Flow, hw::output_stationary>)
    return flow_id::output;
  else {
    static_assert(std::is_same_v<Flow, hw::weight_stationary>,
                  "the CUDA BatchTile kernel knows the four dataflow tags of jaq/hw/dataflow.hpp");
    return flow_id::weight;
  }
}

/// Scores every pair of every job on `device` in one launch; out[i] is jobs[i]'s best pair and
/// fitting-tiling count (best.none() when no tiling fits).
status best_pairs(int device, flow_id flow, std::span<const map_job> jobs, std::span<job_best> out);

}  // namespace jaq::cuda::detail
