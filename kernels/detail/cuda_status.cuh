// kernels/detail/cuda_status.cuh: a cudaError_t as a jaq::cuda::status (nvcc translation units only).
#pragma once

#include <cuda_runtime.h>

#include <string>

#include "kernels/device.hpp"

namespace jaq::cuda::detail {

/// ok for cudaSuccess; otherwise the error's name and text, and what was being done. Clears the
/// runtime's last-error state so that the next call starts clean.
inline status status_of(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return status::success();
  (void)cudaGetLastError();
  return {static_cast<int>(e), std::string(what) + ": " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")"};
}

/// The launch's own error (bad configuration) and then the kernel's (synchronising).
inline status after_launch(const char* kernel) {
  if (const status s = status_of(cudaGetLastError(), kernel); !s.ok()) return s;
  return status_of(cudaDeviceSynchronize(), kernel);
}

}  // namespace jaq::cuda::detail
