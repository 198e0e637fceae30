// jaq/core/simd.hpp: the only header that includes xsimd.
//
// The default build is portable x86-64 (SSE2); `bazel build --config=native` compiles for the
// build machine's CPU. Kernels write against `jaq::simd::batch<T>` and keep a scalar tail, and
// every vectorised kernel has a scalar reference it is tested against.
#pragma once

#include <xsimd/xsimd.hpp>

#include <cstddef>

namespace jaq::simd {

template <class T>
using batch = xsimd::batch<T>;

/// Lanes of batch<T> in this build.
template <class T>
inline constexpr std::size_t width = xsimd::batch<T>::size;

/// Name of the instruction set this build targets ("sse2", "avx2", ...).
inline const char* arch_name() { return xsimd::default_arch::name(); }

}  // namespace jaq::simd
