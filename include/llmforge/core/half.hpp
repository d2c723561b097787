// SPDX-License-Identifier: MIT
// Scalar IEEE half (F16) and bfloat16 (BF16) storage types and exact conversions to and from float.
#pragma once

#include <bit>
#include <cstdint>

namespace llmforge {

/// IEEE 754 binary16 value stored as raw bits (layout-compatible with GGUF's F16).
struct f16 {
  uint16_t bits = 0;
};

/// bfloat16 value stored as raw bits: the upper half of a float32.
struct bf16 {
  uint16_t bits = 0;
};

static_assert(sizeof(f16) == 2 && sizeof(bf16) == 2, "half types must be 2 bytes");

/// Widens an F16 value to float exactly (subnormals, infinities and NaN preserved).
[[nodiscard]] constexpr float f16_to_f32(f16 h) noexcept {
  const uint32_t sign = static_cast<uint32_t>(h.bits & 0x8000u) << 16;
  uint32_t exp = (h.bits >> 10) & 0x1Fu;
  uint32_t mant = h.bits & 0x3FFu;
  uint32_t out = 0;
  if (exp == 0) {
    if (mant == 0) {
      out = sign;
    } else {  // subnormal: normalise into a float32 normal number
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while ((mant & 0x400u) == 0);
      out = sign | static_cast<uint32_t>(127 - 15 - e) << 23 | (mant & 0x3FFu) << 13;
    }
  } else if (exp == 31) {
    out = sign | 0x7F800000u | mant << 13;  // Inf or NaN (payload kept)
  } else {
    out = sign | (exp + 127 - 15) << 23 | mant << 13;
  }
  return std::bit_cast<float>(out);
}

/// Narrows a float to F16 with round-to-nearest-even; overflow gives infinity, NaN stays NaN.
[[nodiscard]] constexpr f16 f32_to_f16(float f) noexcept {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t abs = x & 0x7FFFFFFFu;
  if (abs > 0x7F800000u) {  // NaN: keep it quiet and non-zero
    return f16{static_cast<uint16_t>(sign | 0x7E00u | ((abs >> 13) & 0x3FFu))};
  }
  if (abs >= 0x477FF000u) {  // rounds to >= 65520 -> infinity
    return f16{static_cast<uint16_t>(sign | 0x7C00u)};
  }
  if (abs < 0x38800000u) {  // result is subnormal or zero in half precision
    if (abs < 0x33000000u) return f16{static_cast<uint16_t>(sign)};  // < 2^-25 rounds to 0
    const uint32_t e = abs >> 23;
    const uint32_t m = (abs & 0x7FFFFFu) | 0x800000u;
    // value = m * 2^(e-150); in units of the smallest subnormal 2^-24 that is m >> (126 - e).
    const uint32_t shift = 126 - e;
    const uint32_t half_mant = m >> shift;
    const uint32_t dropped = m & ((1u << shift) - 1u);
    const uint32_t halfway = 1u << (shift - 1);
    uint32_t r = half_mant;
    if (dropped > halfway || (dropped == halfway && (r & 1u))) ++r;
    return f16{static_cast<uint16_t>(sign | r)};
  }
  // normal: rebias exponent, round mantissa from 23 to 10 bits (carry may bump the exponent)
  uint32_t r = ((abs - 0x38000000u) >> 13);
  const uint32_t dropped = abs & 0x1FFFu;
  if (dropped > 0x1000u || (dropped == 0x1000u && (r & 1u))) ++r;
  return f16{static_cast<uint16_t>(sign | r)};
}

/// Widens a BF16 value to float exactly.
[[nodiscard]] constexpr float bf16_to_f32(bf16 h) noexcept {
  return std::bit_cast<float>(static_cast<uint32_t>(h.bits) << 16);
}

/// Narrows a float to BF16 with round-to-nearest-even; NaN stays a (quiet) NaN.
[[nodiscard]] constexpr bf16 f32_to_bf16(float f) noexcept {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  if ((x & 0x7FFFFFFFu) > 0x7F800000u) return bf16{static_cast<uint16_t>((x >> 16) | 0x40u)};
  const uint32_t rounding = 0x7FFFu + ((x >> 16) & 1u);
  return bf16{static_cast<uint16_t>((x + rounding) >> 16)};
}

}  // namespace llmforge
