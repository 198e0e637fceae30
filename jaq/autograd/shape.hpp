// jaq/autograd/shape.hpp: the shape of a dense tensor (rank 0 to 4), printable.
//
//   jaq::shape s{16, 128, 28, 28};   // (C, N, H, W): feature maps are channel-major in jaq
//   s.numel();                       // 1605632
//   std::cout << s;                  // (16, 128, 28, 28)
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <sstream>
#include <string>

#include "jaq/config.hpp"

namespace jaq {

/// Extents of a row-major tensor, outermost first. Rank is at most 4.
struct shape {
  static constexpr int max_rank = 4;

  int rank = 0;
  std::array<std::int64_t, max_rank> dims{};

  constexpr shape() = default;
  constexpr shape(std::initializer_list<std::int64_t> d) {
    JAQ_ASSERT(d.size() <= max_rank);
    for (std::int64_t x : d) dims[static_cast<std::size_t>(rank++)] = x;
  }

  constexpr std::int64_t operator[](int i) const { return dims[static_cast<std::size_t>(i)]; }
  constexpr std::int64_t& operator[](int i) { return dims[static_cast<std::size_t>(i)]; }

  /// Number of elements (1 for rank 0).
  constexpr std::int64_t numel() const {
    std::int64_t n = 1;
    for (int i = 0; i < rank; ++i) n *= dims[static_cast<std::size_t>(i)];
    return n;
  }

  friend constexpr bool operator==(const shape& a, const shape& b) {
    if (a.rank != b.rank) return false;
    for (int i = 0; i < a.rank; ++i)
      if (a[i] != b[i]) return false;
    return true;
  }

  std::string str() const {
    std::ostringstream os;
    os << '(';
    for (int i = 0; i < rank; ++i) os << (i ? ", " : "") << dims[static_cast<std::size_t>(i)];
    os << ')';
    return os.str();
  }
  friend std::ostream& operator<<(std::ostream& os, const shape& s) { return os << s.str(); }
};

}  // namespace jaq
