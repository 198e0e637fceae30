// jaq/core/backend.hpp: execution backends as types (serial, tbb, cuda), chosen by template
// parameter, never by #ifdef.
//
// A backend is a tag type; `jaq::backend_traits<B>` says what it can do. Algorithms take the
// backend as their first template parameter and specialise on it:
//
//   jaq::parallel_for(jaq::tbb_backend{threads}, 0, n, [&](std::int64_t i) { ... });
//   jaq::parallel_for(jaq::serial_backend{}, 0, n, f);   // same answer, one thread
//   jaq::thread_pool pool(threads);                       // parallel.hpp: one arena per run
//   jaq::parallel_for(pool.backend(), 0, n, f);           // same answer, no arena per call
//
// The CUDA backend's kernels live in kernels/; it is a tag here so that host code can name it.
#pragma once

#include <concepts>
#include <cstdint>

namespace jaq {

/// Runs everything on the calling thread.
struct serial_backend {};

class thread_pool;  // jaq/core/parallel.hpp: one TBB task arena, made once, passed in

/// Runs on oneTBB, limited to `threads` worker threads (0: TBB's default, all cores). With a
/// `pool` (whose thread count `threads` must be: pool.backend() sets both) every call runs in
/// that pool's one arena; without, each parallel call outside an arena of that size makes one.
struct tbb_backend {
  int threads = 0;
  thread_pool* pool = nullptr;
};

/// Runs on a CUDA device (see kernels/); every CUDA path has a CPU twin giving the same answer.
struct cuda_backend {
  int device = 0;
};

template <class B>
struct backend_traits;  // what the library knows about a backend tag

template <>
struct backend_traits<serial_backend> {
  static constexpr bool host = true;
  static constexpr bool parallel = false;
  static constexpr const char* name = "serial";
};

template <>
struct backend_traits<tbb_backend> {
  static constexpr bool host = true;
  static constexpr bool parallel = true;
  static constexpr const char* name = "tbb";
};

template <>
struct backend_traits<cuda_backend> {
  static constexpr bool host = false;
  static constexpr bool parallel = true;
  static constexpr const char* name = "cuda";
};

/// A backend tag the library knows.
template <class B>
concept backend = requires {
  { backend_traits<B>::host } -> std::convertible_to<bool>;
  { backend_traits<B>::name } -> std::convertible_to<const char*>;
};

/// A backend that runs on the host CPU.
template <class B>
concept host_backend = backend<B> && backend_traits<B>::host;

}  // namespace jaq
