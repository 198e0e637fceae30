// jaq/config.hpp: the only place jaq defines macros.
//
// JAQ_HOST_DEVICE marks functions shared by host code and CUDA kernels (quantization math,
// cost-model formulas). JAQ_ASSERT checks internal invariants; it is on in debug builds and
// where JAQ_ENABLE_ASSERTS is defined (the tests), and compiles to nothing otherwise.
#pragma once

#include <cstdio>
#include <cstdlib>

#if defined(__CUDACC__)
#define JAQ_HOST_DEVICE __host__ __device__
#else
#define JAQ_HOST_DEVICE
#endif

// JAQ_X86_RUNTIME_AVX2 is 1 where the build is portable x86-64 GCC below AVX2 (the default
// build), so hot kernels carry a `target("avx2")` copy chosen at run time with
// __builtin_cpu_supports; 0 where the build already targets AVX2 (--config=native) or the
// compiler or architecture is another.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__AVX2__) && !defined(__CUDACC__)
#define JAQ_X86_RUNTIME_AVX2 1
#else
#define JAQ_X86_RUNTIME_AVX2 0
#endif

#if !defined(JAQ_ENABLE_ASSERTS) && !defined(NDEBUG)
#define JAQ_ENABLE_ASSERTS 1
#endif

#if defined(JAQ_ENABLE_ASSERTS) && JAQ_ENABLE_ASSERTS && !defined(__CUDA_ARCH__)
#define JAQ_ASSERT(cond)                                                                               \
  do {                                                                                                 \
    if (!(cond)) {                                                                                     \
      std::fprintf(stderr, "jaq: internal invariant failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                                    \
    }                                                                                                  \
  } while (0)
#else
#define JAQ_ASSERT(cond) ((void)0)
#endif

// JAQ_TSAN is 1 in a ThreadSanitizer build (GCC's -fsanitize=thread defines __SANITIZE_THREAD__,
// clang answers __has_feature). jaq/core/parallel.hpp then tells TSan about the happens-before
// edges oneTBB's own synchronisation provides, which TSan cannot see in Debian's uninstrumented
// libtbb.
#if defined(__SANITIZE_THREAD__)
#define JAQ_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define JAQ_TSAN 1
#endif
#endif
#ifndef JAQ_TSAN
#define JAQ_TSAN 0
#endif

// JAQ_NO_FP_CONTRACT keeps a function's floating-point sums exactly as written (no fused
// multiply-add), for results that must match a specified summation order bit for bit (the
// cost model's energies) under -march=native too. GCC honours it per function; clang contracts
// only within one expression unless -ffp-contract=off is given.
#if defined(__GNUC__) && !defined(__clang__) && !defined(__CUDACC__)
#define JAQ_NO_FP_CONTRACT __attribute__((optimize("fp-contract=off")))
#else
#define JAQ_NO_FP_CONTRACT
#endif
