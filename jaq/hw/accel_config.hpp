// jaq/hw/accel_config.hpp: an accelerator configuration (array size, buffers, DRAM width, clock).
//
// `accel_config` is the run-time value a hardware search varies; `fixed_accel_config<...>` is the
// same configuration fixed at compile time (every field a static constexpr member), so that the
// cost model, written once against the `accel_config_like` concept, specialises fully on it.
//
//   jaq::hw::accel_config cfg = jaq::hw::reference_config();       // N=16, M=32, 64/32/16 KiB
//   cfg.obuf_bytes = 32 * 1024;
//   using ref = jaq::hw::fixed_accel_config<16, 32, 65536, 32768, 16384, 192>;  // same numbers
#pragma once

#include <concepts>
#include <cstdint>
#include <ostream>
#include <string>

#include "jaq/core/error.hpp"

namespace jaq::hw {

/// A BitFusion accelerator instance. Sizes in bytes, the DRAM interface in bits per cycle.
struct accel_config {
  std::int64_t N = 16;              // array rows (input channels)
  std::int64_t M = 32;              // array columns (output channels)
  std::int64_t wbuf_bytes = 65536;  // weight buffer (double-buffered: half usable per tile)
  std::int64_t ibuf_bytes = 32768;  // activation buffer
  std::int64_t obuf_bytes = 16384;  // 32-bit partial-sum buffer
  std::int64_t if_width = 192;      // DRAM interface, bits per cycle
  double frequency_hz = 500e6;      // converts cycles to seconds only
  friend bool operator==(const accel_config&, const accel_config&) = default;
};

/// The spec's reference configuration: N=16, M=32, WBUF 64 KiB, IBUF 32 KiB, OBUF 16 KiB,
/// 192-bit interface, 500 MHz.
constexpr accel_config reference_config() { return accel_config{}; }

/// A configuration fixed at compile time. Same fields, as static constexpr members.
template <std::int64_t N_, std::int64_t M_, std::int64_t WbufBytes, std::int64_t IbufBytes, std::int64_t ObufBytes, std::int64_t IfWidth,
          std::int64_t FrequencyHz = 500000000>
requires(N_ > 0 && M_ > 0 && WbufBytes > 0 && IbufBytes > 0 && ObufBytes > 0 && IfWidth > 0 && FrequencyHz > 0) struct fixed_accel_config {
  static constexpr std::int64_t N = N_;
  static constexpr std::int64_t M = M_;
  static constexpr std::int64_t wbuf_bytes = WbufBytes;
  static constexpr std::int64_t ibuf_bytes = IbufBytes;
  static constexpr std::int64_t obuf_bytes = ObufBytes;
  static constexpr std::int64_t if_width = IfWidth;
  static constexpr double frequency_hz = static_cast<double>(FrequencyHz);
  constexpr operator accel_config() const {
    return {.N = N,
            .M = M,
            .wbuf_bytes = wbuf_bytes,
            .ibuf_bytes = ibuf_bytes,
            .obuf_bytes = obuf_bytes,
            .if_width = if_width,
            .frequency_hz = frequency_hz};
  }
};

/// The reference configuration fixed at compile time.
using reference_fixed_config = fixed_accel_config<16, 32, 65536, 32768, 16384, 192, 500000000>;

/// Anything with the seven fields of accel_config, run-time or compile-time.
template <class C>
concept accel_config_like = requires(const C& c) {
  { c.N } -> std::convertible_to<std::int64_t>;
  { c.M } -> std::convertible_to<std::int64_t>;
  { c.wbuf_bytes } -> std::convertible_to<std::int64_t>;
  { c.ibuf_bytes } -> std::convertible_to<std::int64_t>;
  { c.obuf_bytes } -> std::convertible_to<std::int64_t>;
  { c.if_width } -> std::convertible_to<std::int64_t>;
  { c.frequency_hz } -> std::convertible_to<double>;
};

/// Any configuration as a run-time value.
template <accel_config_like C>
constexpr accel_config to_runtime(const C& c) {
  return {.N = c.N,
          .M = c.M,
          .wbuf_bytes = c.wbuf_bytes,
          .ibuf_bytes = c.ibuf_bytes,
          .obuf_bytes = c.obuf_bytes,
          .if_width = c.if_width,
          .frequency_hz = c.frequency_hz};
}

/// Half of each buffer in bits: what one tile may occupy (the other half prefetches).
template <accel_config_like C>
constexpr std::int64_t wbuf_cap_bits(const C& c) {
  return c.wbuf_bytes * 8 / 2;
}
template <accel_config_like C>
constexpr std::int64_t ibuf_cap_bits(const C& c) {
  return c.ibuf_bytes * 8 / 2;
}
template <accel_config_like C>
constexpr std::int64_t obuf_cap_bits(const C& c) {
  return c.obuf_bytes * 8 / 2;
}

/// Throws config_error (naming `where` and the field) unless every field is positive and small
/// enough for the model's 64-bit counts (sizes below 2^40, N and M below 2^20).
inline void validate(const accel_config& c, const std::string& where = "accel_config") {
  auto check = [&](const char* field, std::int64_t v, std::int64_t max) {
    if (v <= 0) throw config_error(where, field, "must be positive, got " + std::to_string(v));
    if (v > max) throw config_error(where, field, "too large (" + std::to_string(v) + " > " + std::to_string(max) + ")");
  };
  check("N", c.N, std::int64_t{1} << 20);
  check("M", c.M, std::int64_t{1} << 20);
  check("wbuf_bytes", c.wbuf_bytes, std::int64_t{1} << 40);
  check("ibuf_bytes", c.ibuf_bytes, std::int64_t{1} << 40);
  check("obuf_bytes", c.obuf_bytes, std::int64_t{1} << 40);
  check("if_width", c.if_width, std::int64_t{1} << 40);
  if (!(c.frequency_hz > 0) || c.frequency_hz > 1e15)
    throw config_error(where, "frequency_hz", "must be positive and finite, got " + std::to_string(c.frequency_hz));
}

inline std::ostream& operator<<(std::ostream& os, const accel_config& c) {
  return os << "accel_config{N=" << c.N << ", M=" << c.M << ", wbuf_bytes=" << c.wbuf_bytes << ", ibuf_bytes=" << c.ibuf_bytes
            << ", obuf_bytes=" << c.obuf_bytes << ", if_width=" << c.if_width << ", frequency_hz=" << c.frequency_hz << "}";
}

}  // namespace jaq::hw
