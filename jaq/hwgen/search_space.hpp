// jaq/hwgen/search_space.hpp: the accelerator parameters a hardware search chooses from.
//
// Six discrete parameters, each a list of allowed values: N and M (powers of two), the three
// buffer sizes in bytes and the DRAM interface width in bits per cycle; the clock is fixed. A
// configuration is one index per parameter (`choice`).
//
//   jaq::hwgen::search_space s = jaq::hwgen::default_space();
//   jaq::hw::accel_config c = s.decode({.index = {2, 2, 2, 2, 2, 2}});
#pragma once

#include <array>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "jaq/core/error.hpp"
#include "jaq/hw/accel_config.hpp"

namespace jaq::hwgen {

/// Number of searched parameters (N, M, WBUF, IBUF, OBUF, interface width).
inline constexpr int num_params = 6;

inline constexpr std::array<const char*, num_params> param_names = {"N", "M", "wbuf_bytes", "ibuf_bytes", "obuf_bytes", "if_width"};

/// One configuration of a space: the index of the chosen value of each parameter.
struct choice {
  std::array<int, num_params> index{};
  friend bool operator==(const choice&, const choice&) = default;
};

struct search_space {
  std::vector<std::int64_t> N, M;                                // powers of two
  std::vector<std::int64_t> wbuf_bytes, ibuf_bytes, obuf_bytes;  // bytes
  std::vector<std::int64_t> if_width;                            // bits per cycle
  double frequency_hz = 500e6;

  const std::vector<std::int64_t>& values(int p) const {
    switch (p) {
      case 0:
        return N;
      case 1:
        return M;
      case 2:
        return wbuf_bytes;
      case 3:
        return ibuf_bytes;
      case 4:
        return obuf_bytes;
      default:
        return if_width;
    }
  }
  /// Number of choices of each parameter.
  std::array<int, num_params> sizes() const {
    std::array<int, num_params> s{};
    for (int p = 0; p < num_params; ++p) s[static_cast<std::size_t>(p)] = static_cast<int>(values(p).size());
    return s;
  }
  /// Number of configurations (the product of the sizes).
  std::int64_t count() const {
    std::int64_t n = 1;
    for (int s : sizes()) n *= s;
    return n;
  }
  /// The configuration `c` names. Precondition: indices in range.
  hw::accel_config decode(const choice& c) const {
    auto v = [&](int p) { return values(p)[static_cast<std::size_t>(c.index[static_cast<std::size_t>(p)])]; };
    return {
        .N = v(0), .M = v(1), .wbuf_bytes = v(2), .ibuf_bytes = v(3), .obuf_bytes = v(4), .if_width = v(5), .frequency_hz = frequency_hz};
  }
  /// The k-th configuration in row-major order (N slowest), 0 <= k < count().
  choice nth(std::int64_t k) const {
    choice c;
    const auto s = sizes();
    for (int p = num_params - 1; p >= 0; --p) {
      c.index[static_cast<std::size_t>(p)] = static_cast<int>(k % s[static_cast<std::size_t>(p)]);
      k /= s[static_cast<std::size_t>(p)];
    }
    return c;
  }
};

/// Throws config_error naming the parameter unless every list is non-empty, its values
/// positive, N and M powers of two, and every decoded configuration valid.
inline void validate(const search_space& s, const std::string& where = "search_space") {
  for (int p = 0; p < num_params; ++p) {
    const auto& v = s.values(p);
    const char* name = param_names[static_cast<std::size_t>(p)];
    if (v.empty()) throw config_error(where, name, "no values to choose from");
    for (std::int64_t x : v) {
      if (x <= 0) throw config_error(where, name, "must be positive, got " + std::to_string(x));
      if (p < 2 && (x & (x - 1)) != 0) throw config_error(where, name, "must be a power of two, got " + std::to_string(x));
    }
  }
  hw::accel_config c = s.decode(choice{});
  for (int p = 0; p < num_params; ++p)
    for (std::size_t i = 0; i < s.values(p).size(); ++i) {
      choice ch;
      ch.index[static_cast<std::size_t>(p)] = static_cast<int>(i);
      c = s.decode(ch);
      hw::validate(c, where);
    }
}

/// A space around the spec's reference configuration (N=16, M=32, 64/32/16 KiB, 192 bits):
/// 5 x 5 x 5 x 5 x 5 x 6 = 18750 configurations.
inline search_space default_space() {
  return {.N = {4, 8, 16, 32, 64},
          .M = {8, 16, 32, 64, 128},
          .wbuf_bytes = {16384, 32768, 65536, 131072, 262144},
          .ibuf_bytes = {8192, 16384, 32768, 65536, 131072},
          .obuf_bytes = {4096, 8192, 16384, 32768, 65536},
          .if_width = {64, 128, 192, 256, 384, 512}};
}

inline std::ostream& operator<<(std::ostream& os, const search_space& s) {
  os << "search_space{";
  for (int p = 0; p < num_params; ++p) {
    os << (p ? ", " : "") << param_names[static_cast<std::size_t>(p)] << "={";
    const auto& v = s.values(p);
    for (std::size_t i = 0; i < v.size(); ++i) os << (i ? "," : "") << v[i];
    os << "}";
  }
  return os << ", " << s.count() << " configurations}";
}

inline std::ostream& operator<<(std::ostream& os, const choice& c) {
  os << "choice{";
  for (int p = 0; p < num_params; ++p) os << (p ? "," : "") << c.index[static_cast<std::size_t>(p)];
  return os << "}";
}

}  // namespace jaq::hwgen
