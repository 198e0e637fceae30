// jaq/autograd/blas.hpp: which OpenBLAS kernels the convolutions' GEMMs run, and a remedy for
// CPUs that the installed OpenBLAS does not recognise.
//
// OpenBLAS picks its kernels at load time from the CPU model. A model newer than the library
// (Debian 12 ships 0.3.21; e.g. 5th-generation Xeon, family 6 model 207) makes it fall back to
// its generic "Prescott" (SSE3) kernels although the CPU has AVX-512: measured on such a machine,
// small-cnn's training step took 1.7x as long (docs/benchmarks.md). The kernels can only be
// chosen before the library initialises, through the environment variable OPENBLAS_CORETYPE,
// so a program that wants them calls jaq::use_best_blas_kernel first thing in main(): when
// OpenBLAS chose generic kernels that the CPU outclasses, and OPENBLAS_CORETYPE is not set, it
// sets it (SkylakeX for AVX-512, Haswell for AVX2 + FMA), says so in one line and restarts the
// program (execv of /proc/self/exe, same arguments); otherwise it returns at once. A user's
// own OPENBLAS_CORETYPE is always respected; when it names weaker kernels than the CPU has
// (Haswell's AVX2 on an AVX-512 machine: small-cnn's fp32 step 1.25x as long, measured on a
// Zen 5 EPYC), one line says so.
//
//   int main(int argc, char** argv) {
//     jaq::use_best_blas_kernel(argv);   // may restart the program once
//     ...
//   }
#pragma once

#include <cblas.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <string>

namespace jaq {

/// The kernel family OpenBLAS runs ("SkylakeX", "Haswell", "Prescott", ...).
inline std::string blas_core() {
  const char* c = openblas_get_corename();
  return c ? std::string(c) : std::string();
}

/// The OPENBLAS_CORETYPE a CPU deserves when OpenBLAS chose `core` for it, or "" when `core` is
/// already as good as the CPU allows (or is not one of the generic fallbacks).
inline std::string better_blas_core(const std::string& core, bool avx512, bool avx2_fma) {
  const bool sse_only =
      core == "Prescott" || core == "Core2" || core == "Penryn" || core == "Dunnington" || core == "Nehalem" || core == "Atom";
  const bool avx_only = core == "Sandybridge";
  if (!sse_only && !avx_only) return "";
  if (avx512) return "SkylakeX";
  if (avx2_fma) return "Haswell";
  return "";
}

/// When OPENBLAS_CORETYPE forced `core`: the stronger family the CPU could run, or "" when
/// `core` is the best it allows (or not one this knows).
inline std::string stronger_blas_core(const std::string& core, bool avx512, bool avx2_fma) {
  if (std::string generic = better_blas_core(core, avx512, avx2_fma); !generic.empty()) return generic;
  const bool avx2_family = core == "Haswell" || core == "Zen";
  return avx2_family && avx512 ? "SkylakeX" : "";
}

/// See the header comment. `log` gets the one line said before a restart (nullptr: silent).
inline void use_best_blas_kernel(char** argv, std::ostream* log = &std::cerr) {
#if defined(__x86_64__) && defined(__linux__)
  if (argv == nullptr || argv[0] == nullptr) return;
  __builtin_cpu_init();
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
                      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512cd");
  const bool avx2_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  const std::string core = blas_core();
  if (const char* set = std::getenv("OPENBLAS_CORETYPE"); set != nullptr) {
    const std::string stronger = stronger_blas_core(core, avx512, avx2_fma);
    if (log && !stronger.empty())
      *log << "jaq: OPENBLAS_CORETYPE=" << set << " runs OpenBLAS's " << core << " kernels, but this CPU has "
           << (avx512 ? "AVX-512" : "AVX2") << " (" << stronger << "); unset it to let OpenBLAS choose" << std::endl;
    return;
  }
  const std::string better = better_blas_core(core, avx512, avx2_fma);
  if (better.empty()) return;
  if (::setenv("OPENBLAS_CORETYPE", better.c_str(), 1) != 0) return;
  if (log)
    *log << "jaq: OpenBLAS chose its generic " << core << " kernels for this CPU, which has " << (avx512 ? "AVX-512" : "AVX2")
         << "; restarting with OPENBLAS_CORETYPE=" << better << " (set OPENBLAS_CORETYPE yourself to choose)" << std::endl;
  ::execv("/proc/self/exe", argv);  // returns only on failure: carry on with the generic kernels
  ::unsetenv("OPENBLAS_CORETYPE");
#else
  (void)argv;
  (void)log;
#endif
}

}  // namespace jaq
