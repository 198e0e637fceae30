// kernels/train.cu: the CUDA executor of kernels/detail/train_program.hpp and device_trainer.
//
// - for_each: one grid-stride kernel per element function (the program's JAQ_HOST_DEVICE
//   lambdas, nvcc --extended-lambda).
// - row_sums, row_max: one kernel (row_fold_kernel), one block per row (grid-stride over rows),
//   each thread a strided partial sum (or maximum) in double, then a fixed shared-memory tree:
//   deterministic run to run (a maximum is exact in any grouping).
// - gemm: cuBLAS SGEMM (FP32, no TF32: the default math mode), loaded with dlopen when the
//   first trainer is made, so that nothing links against libcublas and a machine without it
//   still runs everything else; a trainer made there is a clear error.
// Kernels run back to back on the default stream; the first failure is kept and reported by
// the call that ran it (no exception crosses a kernel boundary).
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <dlfcn.h>
#include <math_constants.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <utility>

#include "kernels/detail/cuda_status.cuh"
#include "kernels/detail/train_program.hpp"
#include "kernels/train.hpp"

namespace jaq::cuda {
namespace train_detail {

constexpr int threads = 256;

template <class F>
__global__ void for_each_kernel(std::int64_t n, F f) {
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < n; i += std::int64_t{gridDim.x} * blockDim.x) f(i);
}

/// One block per row (grid-stride over rows): each thread folds a strided part of the row, then a
/// fixed shared-memory tree folds the threads' results. `Fold` gives the identity and the
/// combining step (sum: deterministic run to run; max: exact in any grouping).
template <class Fold, class F>
__global__ void row_fold_kernel(std::int64_t rows, std::int64_t len, F f, double* out) {
  __shared__ double buf[threads];
  for (std::int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    double acc = Fold::identity();
    for (std::int64_t k = threadIdx.x; k < len; k += threads) acc = Fold::combine(acc, f(r, k));
    buf[threadIdx.x] = acc;
    __syncthreads();
    for (int stride = threads / 2; stride > 0; stride /= 2) {
      if (static_cast<int>(threadIdx.x) < stride) buf[threadIdx.x] = Fold::combine(buf[threadIdx.x], buf[threadIdx.x + stride]);
      __syncthreads();
    }
    if (threadIdx.x == 0) out[r] = buf[0];
    __syncthreads();
  }
}

struct sum_fold {
  __device__ static double identity() { return 0.0; }
  __device__ static double combine(double a, double b) { return a + b; }
};
struct max_fold {
  __device__ static double identity() { return -CUDART_INF; }
  __device__ static double combine(double a, double b) { return fmax(a, b); }
};

/// cuBLAS's entry points, from libcublas at run time.
struct cublas_api {
  using create_fn = cublasStatus_t (*)(cublasHandle_t*);
  using destroy_fn = cublasStatus_t (*)(cublasHandle_t);
  using sgemm_fn = cublasStatus_t (*)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int, const float*, const float*, int,
                                      const float*, int, const float*, float*, int);
  create_fn create = nullptr;
  destroy_fn destroy = nullptr;
  sgemm_fn sgemm = nullptr;
  std::string error;  // why it could not be loaded
};

const cublas_api& cublas() {
  static cublas_api api;
  static std::once_flag once;
  std::call_once(once, [] {
    void* lib = nullptr;
    std::string tried;
    for (const char* name : {"libcublas.so.13", "/usr/local/cuda/lib64/libcublas.so.13", "libcublas.so"}) {
      lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
      if (lib) break;
      const char* e = dlerror();
      tried += std::string(tried.empty() ? "" : "; ") + (e ? e : name);
    }
    if (!lib) {
      api.error = "cuBLAS could not be loaded (" + tried + ")";
      return;
    }
    api.create = reinterpret_cast<cublas_api::create_fn>(dlsym(lib, "cublasCreate_v2"));
    api.destroy = reinterpret_cast<cublas_api::destroy_fn>(dlsym(lib, "cublasDestroy_v2"));
    api.sgemm = reinterpret_cast<cublas_api::sgemm_fn>(dlsym(lib, "cublasSgemm_v2"));
    if (!api.create || !api.destroy || !api.sgemm) api.error = "libcublas lacks cublasCreate_v2 / cublasDestroy_v2 / cublasSgemm_v2";
  });
  return api;
}

unsigned grid_for(std::int64_t n) {
  const std::int64_t b = (n + threads - 1) / threads;
  return static_cast<unsigned>(b < 1 ? 1 : (b > 65535 ? 65535 : b));
}

}  // namespace train_detail

/// The executor: device memory, kernels, cuBLAS; the first failure is kept in `failed`.
struct cuda_exec {
  template <class T>
  using buffer = device_array<T>;

  int device = 0;
  cublasHandle_t handle = nullptr;  // owned: destroyed with the executor, also when a constructor throws
  status failed;

  cuda_exec() = default;
  cuda_exec(const cuda_exec&) = delete;
  cuda_exec& operator=(const cuda_exec&) = delete;
  ~cuda_exec() {
    if (handle) train_detail::cublas().destroy(handle);
  }
  /// Makes the trainer's device current on the calling thread (another thread, or another
  /// trainer's device, may have made a different one current).
  void select() { note(cudaSetDevice(device), "cudaSetDevice"); }

  template <class T>
  buffer<T> alloc(std::int64_t n) {
    return buffer<T>(static_cast<std::size_t>(n), device);  // jaq::error on failure (host side)
  }
  /// Keeps s when it is the first failure (status is [[nodiscard]]: the assignment's result is dropped on purpose).
  void keep(status s) {
    if (failed.ok() && !s.ok()) (void)(failed = std::move(s));
  }
  void note(cudaError_t e, const char* what) {
    if (e != cudaSuccess) keep(detail::status_of(e, what));
  }
  template <class F>
  void for_each(std::int64_t n, F f) {
    if (n <= 0 || !failed.ok()) return;
    train_detail::for_each_kernel<<<train_detail::grid_for(n), train_detail::threads>>>(n, f);
    note(cudaGetLastError(), "training kernel (for_each)");
  }
  template <class F>
  void row_sums(std::int64_t rows, std::int64_t len, F f, double* out) {
    row_fold<train_detail::sum_fold>(rows, len, f, out, "training kernel (row_sums)");
  }
  template <class F>
  void row_max(std::int64_t rows, std::int64_t len, F f, double* out) {
    row_fold<train_detail::max_fold>(rows, len, f, out, "training kernel (row_max)");
  }
  template <class Fold, class F>
  void row_fold(std::int64_t rows, std::int64_t len, F f, double* out, const char* what) {
    if (rows <= 0 || !failed.ok()) return;
    const unsigned blocks = static_cast<unsigned>(rows > 65535 ? 65535 : rows);
    train_detail::row_fold_kernel<Fold><<<blocks, train_detail::threads>>>(rows, len, f, out);
    note(cudaGetLastError(), what);
  }
  /// Row-major C = op(A) op(B) as cuBLAS's column-major C^T = op(B)^T op(A)^T.
  void gemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, const float* a, std::int64_t lda, const float* b,
            std::int64_t ldb, float* c, std::int64_t ldc) {
    if (!failed.ok() || m <= 0 || n <= 0) return;
    if (k <= 0) {
      note(cudaMemset(c, 0, static_cast<std::size_t>((m - 1) * ldc + n) * sizeof(float)), "gemm (k = 0)");
      return;
    }
    constexpr std::int64_t most = 2147483647;  // cuBLAS takes int sizes
    if (m > most || n > most || k > most || lda > most || ldb > most || ldc > most) {
      keep({1, "gemm of " + std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k) + " exceeds cuBLAS's int sizes"});
      return;
    }
    const float one = 1.0f, zero = 0.0f;
    const cublasStatus_t s = train_detail::cublas().sgemm(handle, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N, int(n),
                                                          int(m), int(k), &one, b, int(ldb), a, int(lda), &zero, c, int(ldc));
    if (s != CUBLAS_STATUS_SUCCESS)
      keep({static_cast<int>(s), "cublasSgemm (" + std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k) +
                                     ") failed with status " + std::to_string(static_cast<int>(s))});
  }
  template <class T>
  void zero(T* p, std::int64_t n) {
    if (n > 0 && failed.ok()) note(cudaMemset(p, 0, static_cast<std::size_t>(n) * sizeof(T)), "cudaMemset");
  }
  template <class T>
  void upload(T* dst, const T* src, std::int64_t n) {
    if (n > 0 && failed.ok()) note(cudaMemcpy(dst, src, static_cast<std::size_t>(n) * sizeof(T), cudaMemcpyHostToDevice), "upload");
  }
  template <class T>
  void download(T* dst, const T* src, std::int64_t n) {
    if (n <= 0) return;
    if (!failed.ok()) {
      for (std::int64_t i = 0; i < n; ++i) dst[i] = T(0);
      return;
    }
    note(cudaMemcpy(dst, src, static_cast<std::size_t>(n) * sizeof(T), cudaMemcpyDeviceToHost), "download");
  }
};

struct device_trainer::impl {
  cuda_exec ex;
  std::unique_ptr<train::program<cuda_exec>> prog;
};

device_trainer::device_trainer(train::net nt, std::int64_t max_batch, int device) : p_(std::make_unique<impl>()) {
  if (const status s = detail::status_of(cudaSetDevice(device), "cudaSetDevice"); !s.ok()) throw error("CUDA: " + s.message);
  const auto& api = train_detail::cublas();
  if (!api.error.empty()) throw error("CUDA: " + api.error);
  p_->ex.device = device;
  if (api.create(&p_->ex.handle) != CUBLAS_STATUS_SUCCESS) throw error("CUDA: cublasCreate failed");
  if (const status s = train::check_search_ops(nt); !s.ok()) throw error("training net: " + s.message);
  p_->prog = std::make_unique<train::program<cuda_exec>>(p_->ex, std::move(nt), max_batch);
  check(p_->ex.failed);
}

device_trainer::~device_trainer() {
  if (p_) {
    p_->ex.select();
    p_->prog.reset();  // device memory first, then the executor's cuBLAS handle (impl's member order)
  }
}

const train::net& device_trainer::net() const { return p_->prog->nt; }
std::int64_t device_trainer::max_batch() const { return p_->prog->max_batch; }

status device_trainer::set_state(std::span<const float> params, std::span<const float> momentum, std::span<const float> running) {
  auto& pr = *p_->prog;
  if (status s = train::check_state_sizes(pr.nt, params.size(), momentum.size(), running.size()); !s.ok()) return s;
  pr.ex.select();
  pr.ex.upload(pr.params.data(), params.data(), std::int64_t(params.size()));
  pr.ex.upload(pr.momentum.data(), momentum.data(), std::int64_t(momentum.size()));
  pr.ex.upload(pr.running.data(), running.data(), std::int64_t(running.size()));
  return pr.ex.failed;
}

status device_trainer::get_state(std::span<float> params, std::span<float> momentum, std::span<float> running) const {
  auto& pr = *p_->prog;
  if (status s = train::check_state_sizes(pr.nt, params.size(), momentum.size(), running.size()); !s.ok()) return s;
  pr.ex.select();
  pr.ex.download(params.data(), pr.params.data(), std::int64_t(params.size()));
  pr.ex.download(momentum.data(), pr.momentum.data(), std::int64_t(momentum.size()));
  pr.ex.download(running.data(), pr.running.data(), std::int64_t(running.size()));
  return pr.ex.failed;
}

status device_trainer::get_grads(std::span<float> grads) const {
  auto& pr = *p_->prog;
  if (status s = train::check_grads_size(pr.nt, grads.size()); !s.ok()) return s;
  pr.ex.select();
  pr.ex.download(grads.data(), pr.grads.data(), pr.p_total);
  return pr.ex.failed;
}

status device_trainer::step(std::span<const float> images, std::span<const std::int32_t> labels, float lr, const train::sgd_settings& opt,
                            train::step_stats& out) {
  auto& pr = *p_->prog;
  if (status s = train::check_unplanned(pr.nt); !s.ok()) return s;
  if (status s = train::check_step_input(pr.nt, pr.max_batch, images.size(), labels); !s.ok()) return s;
  if (!pr.ex.failed.ok()) return pr.ex.failed;  // an earlier failure leaves the state unknown
  pr.ex.select();
  out = pr.step(images.data(), labels.data(), std::int64_t(labels.size()), lr, opt);
  pr.ex.note(cudaDeviceSynchronize(), "training step");
  return pr.ex.failed;
}

status device_trainer::step(std::span<const float> images, std::span<const std::int32_t> labels, float lr, const train::sgd_settings& opt,
                            const train::step_plan& plan, train::step_stats& out) {
  auto& pr = *p_->prog;
  if (status s = train::check_plan(pr.nt, plan); !s.ok()) return s;
  if (status s = train::check_step_input(pr.nt, pr.max_batch, images.size(), labels); !s.ok()) return s;
  if (!pr.ex.failed.ok()) return pr.ex.failed;
  pr.ex.select();
  out = pr.step(images.data(), labels.data(), std::int64_t(labels.size()), lr, opt, &plan);
  pr.ex.note(cudaDeviceSynchronize(), "search step");
  return pr.ex.failed;
}

status device_trainer::get_mixture_grads(std::span<float> grads) const {
  auto& pr = *p_->prog;
  if (std::int64_t(grads.size()) != pr.nt.mixtures)
    return {1, "get_mixture_grads: " + std::to_string(grads.size()) + " elements for " + std::to_string(pr.nt.mixtures)};
  pr.ex.select();
  pr.ex.download(grads.data(), pr.gmixture.data(), pr.nt.mixtures);
  return pr.ex.failed;
}

status device_trainer::set_mask(std::size_t i, std::span<const std::int32_t> selected) {
  auto& pr = *p_->prog;
  if (status s = train::check_mask(pr.nt, i, selected); !s.ok()) return s;
  pr.set_mask(i, {selected.begin(), selected.end()});
  return status::success();
}

}  // namespace jaq::cuda
