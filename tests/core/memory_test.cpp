// retain_freed_memory (jaq/core/memory.hpp): after it, an 8 MiB block (a batch's activation)
// comes from the heap rather than a mapping of its own, and once freed it stays in the heap for
// the next allocation instead of going back to the kernel, as a training step's tensors do.
#include "jaq/core/memory.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <cstring>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

TEST_CASE("freed blocks stay in the process: an 8 MiB block is heap memory, kept after free") {
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  if (std::getenv("JAQ_MALLOC_DEFAULTS") != nullptr) {
    CHECK_FALSE(jaq::retain_freed_memory());
    return;
  }
  REQUIRE(jaq::retain_freed_memory());
  CHECK(jaq::retain_freed_memory());  // idempotent
  const std::size_t bytes = 8u << 20;
  const auto before = mallinfo2();
  auto* p = static_cast<char*>(std::malloc(bytes));
  REQUIRE(p != nullptr);
  std::memset(p, 1, bytes);
  const auto held = mallinfo2();
  CHECK(held.hblkhd - before.hblkhd < bytes);  // glibc's default would map it on its own
  std::free(p);
  const auto after = mallinfo2();
  CHECK(after.fordblks >= bytes);  // kept as free heap (glibc's default trims past 128 KiB)
  MESSAGE("mapped bytes " << before.hblkhd << " -> " << held.hblkhd << "; free heap after free " << after.fordblks);
#else
  MESSAGE("skipped: not glibc's malloc (a sanitizer's allocator, or another C library)");
#endif
}
