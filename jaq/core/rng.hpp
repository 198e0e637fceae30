// jaq/core/rng.hpp: the random-number generator, an object passed in (no global RNG).
//
// A small, fast, fully specified generator (xoshiro256**, seeded through splitmix64) so that a
// run with the same seed gives the same numbers on every platform and standard library; the
// <random> distributions are implementation-defined, so the few distributions jaq needs are
// written here too.
//
//   jaq::rng gen(42);
//   float u = gen.uniform();          // [0, 1)
//   float z = gen.normal();           // N(0, 1)
//   jaq::rng child = gen.split();     // independent stream, e.g. one per worker
#pragma once

#include <cmath>
#include <cstdint>
#include <numbers>
#include <utility>

namespace jaq {

class rng {
 public:
  using result_type = std::uint64_t;

  explicit rng(std::uint64_t seed = 0) { reseed(seed); }

  void reseed(std::uint64_t seed) {
    std::uint64_t x = seed;
    for (auto& s : s_) s = splitmix64(x);
    has_spare_ = false;
  }

  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return ~result_type{0}; }

  /// Next 64 random bits (xoshiro256**).
  result_type operator()() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  /// Uniform double in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>((*this)() >> 11) * 0x1.0p-53; }

  /// Uniform double in [lo, hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

  /// Uniform integer in [0, n); n > 0. Lemire's nearly-divisionless method, unbiased.
  std::uint64_t below(std::uint64_t n) {
    __uint128_t m = static_cast<__uint128_t>((*this)()) * n;
    auto low = static_cast<std::uint64_t>(m);
    if (low < n) {
      const std::uint64_t threshold = (0 - n) % n;
      while (low < threshold) {
        m = static_cast<__uint128_t>((*this)()) * n;
        low = static_cast<std::uint64_t>(m);
      }
    }
    return static_cast<std::uint64_t>(m >> 64);
  }

  /// Standard normal (Marsaglia polar method; the second value is kept for the next call).
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u, v, s;
    do {
      u = uniform(-1.0, 1.0);
      v = uniform(-1.0, 1.0);
      s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    const double f = std::sqrt(-2.0 * std::log(s) / s);
    spare_ = v * f;
    has_spare_ = true;
    return u * f;
  }

  /// Gumbel(0, 1) sample: -log(-log(u)), u in (0, 1).
  double gumbel() {
    double u;
    do u = uniform();
    while (u <= 0.0);
    return -std::log(-std::log(u));
  }

  /// A generator for an independent stream, derived from this one (advances this one).
  rng split() { return rng((*this)()); }

  /// Fisher-Yates shuffle of [first, last), reproducible across platforms.
  template <class It>
  void shuffle(It first, It last) {
    const auto n = static_cast<std::uint64_t>(last - first);
    for (std::uint64_t i = n; i > 1; --i) {
      using std::swap;
      swap(first[i - 1], first[below(i)]);
    }
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static std::uint64_t splitmix64(std::uint64_t& x) {
    std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  std::uint64_t s_[4]{};
  double spare_ = 0.0;
  bool has_spare_ = false;
};

}  // namespace jaq
