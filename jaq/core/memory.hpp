// jaq/core/memory.hpp: keep freed tensor memory in the process for the next training step.
//
// A training step allocates the same activations, saved tensors and gradients every step and
// frees them all by its end. glibc's malloc gives every block above its mmap threshold (128 KiB
// at first, raised dynamically up to 32 MiB) a mapping of its own and unmaps it when freed, and
// returns the top of the heap to the kernel past 128 KiB free. So every step paid for its
// memory again in page faults: on the development machine (docs/benchmarks.md) small-cnn's fp32
// step at batch 128 took 31 ms with glibc's defaults and 17 ms with blocks up to 32 MiB kept on
// the heap and up to 256 MiB of free heap retained. jaq::tape's constructor calls
// retain_freed_memory() once per process; set JAQ_MALLOC_DEFAULTS=1 in the environment to keep
// glibc's defaults (an embedding program that tunes malloc itself). Elsewhere than glibc it does
// nothing.
//
//   jaq::retain_freed_memory();   // idempotent; the tape calls it
#pragma once

#include <cstdlib>
#include <mutex>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace jaq {

/// Sets glibc's M_MMAP_THRESHOLD to 32 MiB and M_TRIM_THRESHOLD to 256 MiB, once per process,
/// unless JAQ_MALLOC_DEFAULTS is set. Returns whether the settings are jaq's.
inline bool retain_freed_memory() {
#if defined(__GLIBC__)
  static std::once_flag once;
  static bool applied = false;
  std::call_once(once, [] {
    if (std::getenv("JAQ_MALLOC_DEFAULTS") != nullptr) return;
    applied = mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1 && mallopt(M_TRIM_THRESHOLD, 256 << 20) == 1;
  });
  return applied;
#else
  return false;
#endif
}

}  // namespace jaq
