// kernels/device.cu: the CUDA runtime calls behind kernels/device.hpp.
#include <cuda_runtime.h>

#include <string>

#include "kernels/detail/cuda_status.cuh"
#include "kernels/device.hpp"

namespace jaq::cuda {

device_probe probe() {
  device_probe pr;
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    pr.reason = std::string("no CUDA device: ") + cudaGetErrorString(e);
    (void)cudaGetLastError();  // clear the sticky error state for later calls
    return pr;
  }
  if (n == 0) {
    pr.reason = "no CUDA device: the runtime sees none";
    return pr;
  }
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, 0) != cudaSuccess) {
    pr.reason = "no CUDA device: cannot read device 0's properties";
    (void)cudaGetLastError();
    return pr;
  }
  pr.count = n;
  pr.name = prop.name;
  pr.major = prop.major;
  pr.minor = prop.minor;
  pr.memory_bytes = prop.totalGlobalMem;
  return pr;
}

namespace detail {

status device_alloc(void** ptr, std::size_t bytes, int device) {
  if (const status s = status_of(cudaSetDevice(device), "cudaSetDevice"); !s.ok()) return s;
  return status_of(cudaMalloc(ptr, bytes), "cudaMalloc");
}

void device_free(void* ptr) noexcept {
  if (ptr) (void)cudaFree(ptr);
}

status copy_to_device(void* dst, const void* src, std::size_t bytes) {
  return status_of(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice), "cudaMemcpy to the device");
}

status copy_to_host(void* dst, const void* src, std::size_t bytes) {
  return status_of(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost), "cudaMemcpy to the host");
}

status device_memset_zero(void* dst, std::size_t bytes) { return status_of(cudaMemset(dst, 0, bytes), "cudaMemset"); }

}  // namespace detail
}  // namespace jaq::cuda
