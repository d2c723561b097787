// SPDX-License-Identifier: MIT
// Overflow-checked integer arithmetic for validating sizes and offsets read from files.
#pragma once

#include <cstdint>
#include <optional>

namespace llmforge {

/// Returns `a + b`, or nothing when the sum does not fit in `uint64_t`.
[[nodiscard]] constexpr std::optional<uint64_t> checked_add(uint64_t a, uint64_t b) noexcept {
  uint64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
  return r;
}

/// Returns `a * b`, or nothing when the product does not fit in `uint64_t`.
[[nodiscard]] constexpr std::optional<uint64_t> checked_mul(uint64_t a, uint64_t b) noexcept {
  uint64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
  return r;
}

/// Rounds `x` up to a multiple of `align` (a power of two is not required); nothing on overflow.
[[nodiscard]] constexpr std::optional<uint64_t> checked_align_up(uint64_t x, uint64_t align) noexcept {
  if (align == 0) return std::nullopt;
  const uint64_t rem = x % align;
  if (rem == 0) return x;
  return checked_add(x, align - rem);
}

}  // namespace llmforge
