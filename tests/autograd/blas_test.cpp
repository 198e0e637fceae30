// Which OpenBLAS kernels jaq asks for on a CPU the library does not recognise.
#include "jaq/autograd/blas.hpp"

#include <doctest/doctest.h>

TEST_CASE("generic fallback kernels are replaced by the best the CPU supports, nothing else is") {
  using jaq::better_blas_core;
  CHECK(better_blas_core("Prescott", true, true) == "SkylakeX");
  CHECK(better_blas_core("Prescott", false, true) == "Haswell");
  CHECK(better_blas_core("Prescott", false, false).empty());  // an SSE3 machine keeps them
  CHECK(better_blas_core("Nehalem", true, true) == "SkylakeX");
  CHECK(better_blas_core("Sandybridge", false, true) == "Haswell");
  CHECK(better_blas_core("Haswell", true, true).empty());  // a recognised core is left alone
  CHECK(better_blas_core("SkylakeX", true, true).empty());
  CHECK(better_blas_core("Cooperlake", true, true).empty());
  CHECK(better_blas_core("Zen", false, true).empty());
}

TEST_CASE("a forced core weaker than the CPU is named, a matching one is not") {
  using jaq::stronger_blas_core;
  CHECK(stronger_blas_core("Haswell", true, true) == "SkylakeX");  // AVX2 kernels on an AVX-512 CPU
  CHECK(stronger_blas_core("Zen", true, true) == "SkylakeX");
  CHECK(stronger_blas_core("Prescott", false, true) == "Haswell");
  CHECK(stronger_blas_core("Haswell", false, true).empty());  // an AVX2 CPU: the right kernels
  CHECK(stronger_blas_core("SkylakeX", true, true).empty());
  CHECK(stronger_blas_core("Cooperlake", true, true).empty());
}

TEST_CASE("the loaded OpenBLAS names its kernels, and a set OPENBLAS_CORETYPE is respected") {
  CHECK_FALSE(jaq::blas_core().empty());
  ::setenv("OPENBLAS_CORETYPE", "Prescott", 1);
  jaq::use_best_blas_kernel(nullptr);  // returns: no argv, and the variable is set
  char arg0[] = "x";
  char* argv[] = {arg0, nullptr};
  jaq::use_best_blas_kernel(argv);  // returns at once: the user's choice stands (no restart)
  CHECK(std::string(std::getenv("OPENBLAS_CORETYPE")) == "Prescott");
  ::unsetenv("OPENBLAS_CORETYPE");
}
