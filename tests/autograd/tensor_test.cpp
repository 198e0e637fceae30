#include "jaq/autograd/tensor.hpp"

#include <doctest/doctest.h>

#include <sstream>

#include "jaq/autograd/shape.hpp"

TEST_CASE("shape counts elements, compares and prints") {
  constexpr jaq::shape s{16, 128, 28, 28};
  static_assert(s.numel() == 16 * 128 * 28 * 28);
  static_assert(s.rank == 4);
  static_assert(jaq::shape{}.numel() == 1, "rank 0 holds one element");
  CHECK(s == jaq::shape{16, 128, 28, 28});
  CHECK_FALSE(s == jaq::shape{16, 128, 28});
  std::ostringstream os;
  os << s;
  CHECK(os.str() == "(16, 128, 28, 28)");
}

TEST_CASE("tensors are 64-byte aligned, move-only, and clone deeply") {
  auto a = jaq::tensor<float>::full({3, 5}, 2.5f);
  CHECK(reinterpret_cast<std::uintptr_t>(a.data()) % 64 == 0);
  CHECK(a.bytes() == 15 * sizeof(float));
  auto b = a.clone();
  b[0] = 1.0f;
  CHECK(a[0] == 2.5f);
  auto c = std::move(a);
  CHECK(c.size() == 15);
  c.reshape({5, 3});
  CHECK(c.dim(0) == 5);
  c.reset();
  CHECK(c.empty());
  CHECK(c.bytes() == 0);
  std::ostringstream os;
  os << b;
  CHECK(os.str() == "tensor(3, 5) [1, 2.5, 2.5, 2.5, 2.5, 2.5, 2.5, 2.5, ...]");
}

static_assert(!std::is_copy_assignable_v<jaq::tensor<double>>);
static_assert(std::is_nothrow_move_constructible_v<jaq::tensor<double>>);
