// kernels/device.hpp: the CUDA runtime as jaq's host code sees it: a status type, the device
// probe, the --device choice of the programs, and device memory owned by an RAII type.
//
// This header needs no CUDA header: host code compiled by g++ includes it, and its functions
// are defined in kernels/device.cu (nvcc) or, in a build without the toolkit
// (`--define=jaq_cuda=off`), in kernels/no_cuda.cpp, which reports that no device can be used.
//
//   jaq::cuda::device_probe pr = jaq::cuda::probe();     // never throws, never aborts
//   if (pr.count == 0) std::puts(pr.reason.c_str());       // "no CUDA device: ..."
//   auto use = jaq::cuda::choose_device("auto");          // cpu here, with a one-line note
//   jaq::cuda::device_array<float> a(1024);               // cudaMalloc'ed, freed on scope exit
//   jaq::cuda::check(a.upload(host_span));                // a failed status -> jaq::error
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "jaq/core/error.hpp"

namespace jaq::cuda {

/// What a launcher or runtime call returns: ok, or the CUDA error's name and text and where it
/// happened. No exception crosses a kernel boundary; host wrappers turn a failed status into
/// jaq::error with `check`.
struct [[nodiscard]] status {
  int code = 0;         // cudaError_t value; 0: success
  std::string message;  // empty on success
  bool ok() const { return code == 0; }
  explicit operator bool() const { return ok(); }
  static status success() { return {}; }
};

/// Throws jaq::error with the status message unless it is ok.
inline void check(const status& s) {
  if (!s.ok()) throw error("CUDA: " + s.message);
}

/// The CUDA devices this process can use.
struct device_probe {
  int count = 0;             // usable devices; 0 when there is no GPU, no driver, or no CUDA build
  std::string reason;        // why count is 0 (the runtime's own words), empty otherwise
  std::string name;          // device 0's name ("NVIDIA H200"), when count > 0
  int major = 0, minor = 0;  // its compute capability
  std::size_t memory_bytes = 0;
  bool built_with_cuda = true;  // false in a --define=jaq_cuda=off build
};

/// Asks the CUDA runtime (once per call; cheap). Never throws.
device_probe probe();

/// Where a program runs, from its --device flag.
enum class device_kind { cpu, cuda };

struct device_choice {
  device_kind kind = device_kind::cpu;
  std::string note;  // one line saying what was chosen and why (printed by the programs)
};

/// "cpu": the CPU. "cuda": device 0, or config_error naming --device when there is none.
/// "auto": device 0 when there is one, else the CPU, saying so. Anything else: config_error.
inline device_choice choose_device(std::string_view flag) {
  if (flag == "cpu") return {device_kind::cpu, "device: cpu (--device cpu)"};
  if (flag != "cuda" && flag != "auto")
    throw config_error("--device", "device", "'" + std::string(flag) + "' is not one of cpu, cuda, auto");
  const device_probe pr = probe();
  if (pr.count > 0)
    return {device_kind::cuda,
            "device: cuda (" + pr.name + ", compute capability " + std::to_string(pr.major) + "." + std::to_string(pr.minor) + ")"};
  if (flag == "cuda") throw config_error("--device", "device", "cuda was asked for, but " + pr.reason + "; use --device cpu or auto");
  return {device_kind::cpu, "device: cpu (--device auto: " + pr.reason + ")"};
}

namespace detail {
// Raw runtime calls behind device_array (device.cu / no_cuda.cpp).
status device_alloc(void** ptr, std::size_t bytes, int device);
void device_free(void* ptr) noexcept;
status copy_to_device(void* dst, const void* src, std::size_t bytes);
status copy_to_host(void* dst, const void* src, std::size_t bytes);
status device_memset_zero(void* dst, std::size_t bytes);
}  // namespace detail

/// `n` elements of T in device memory, freed when it goes out of scope; move-only. A failed
/// allocation throws jaq::error naming the size and the runtime's reason.
template <class T>
class device_array {
 public:
  device_array() = default;
  explicit device_array(std::size_t n, int device = 0) : n_(n) {
    if (n == 0) return;
    void* p = nullptr;
    const status s = detail::device_alloc(&p, n * sizeof(T), device);
    if (!s.ok())
      throw error("CUDA: cannot allocate " + std::to_string(n * sizeof(T)) + " bytes on device " + std::to_string(device) + ": " +
                  s.message);
    p_ = static_cast<T*>(p);
  }
  device_array(const device_array&) = delete;
  device_array& operator=(const device_array&) = delete;
  device_array(device_array&& o) noexcept : p_(std::exchange(o.p_, nullptr)), n_(std::exchange(o.n_, 0)) {}
  device_array& operator=(device_array&& o) noexcept {
    if (this != &o) {
      detail::device_free(p_);
      p_ = std::exchange(o.p_, nullptr);
      n_ = std::exchange(o.n_, 0);
    }
    return *this;
  }
  ~device_array() { detail::device_free(p_); }

  T* data() { return p_; }
  const T* data() const { return p_; }
  std::size_t size() const { return n_; }

  /// Copies host -> device (h.size() must equal size()).
  status upload(std::span<const T> h) {
    if (h.size() != n_) return {1, "upload of " + std::to_string(h.size()) + " elements into a device array of " + std::to_string(n_)};
    return n_ ? detail::copy_to_device(p_, h.data(), n_ * sizeof(T)) : status::success();
  }
  /// Copies device -> host (h.size() must equal size()).
  status download(std::span<T> h) const {
    if (h.size() != n_) return {1, "download of a device array of " + std::to_string(n_) + " elements into " + std::to_string(h.size())};
    return n_ ? detail::copy_to_host(h.data(), p_, n_ * sizeof(T)) : status::success();
  }
  status zero() { return n_ ? detail::device_memset_zero(p_, n_ * sizeof(T)) : status::success(); }

 private:
  T* p_ = nullptr;
  std::size_t n_ = 0;
};

}  // namespace jaq::cuda
