// SPDX-License-Identifier: MIT
// Run-time tensor shape and strides: a small fixed-capacity list of extents.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <initializer_list>
#include <span>
#include <string>

#include <llmforge/core/error.hpp>

namespace llmforge {

/// Largest tensor rank llmforge supports.
inline constexpr std::size_t kMaxRank = 8;

/// A list of up to `kMaxRank` extents (or strides), stored inline; rank 0 is a scalar.
template <class T>
class Extents {
 public:
  constexpr Extents() = default;
  constexpr Extents(std::initializer_list<T> dims) { assign(std::span<const T>(dims.begin(), dims.size())); }
  explicit constexpr Extents(std::span<const T> dims) { assign(dims); }

  [[nodiscard]] constexpr std::size_t rank() const noexcept { return rank_; }
  [[nodiscard]] constexpr std::size_t size() const noexcept { return rank_; }
  [[nodiscard]] constexpr bool empty() const noexcept { return rank_ == 0; }
  [[nodiscard]] constexpr T operator[](std::size_t i) const noexcept { return v_[i]; }
  [[nodiscard]] constexpr T& operator[](std::size_t i) noexcept { return v_[i]; }
  [[nodiscard]] constexpr const T* begin() const noexcept { return v_.data(); }
  [[nodiscard]] constexpr const T* end() const noexcept { return v_.data() + rank_; }
  [[nodiscard]] constexpr T* begin() noexcept { return v_.data(); }
  [[nodiscard]] constexpr T* end() noexcept { return v_.data() + rank_; }
  [[nodiscard]] constexpr T back() const noexcept { return v_[rank_ - 1]; }

  constexpr void push_back(T x) {
    if (rank_ == kMaxRank) throw ShapeError("tensor rank would exceed the maximum of " + std::to_string(kMaxRank));
    v_[rank_++] = x;
  }
  constexpr void insert(std::size_t pos, T x) {
    push_back(x);
    std::rotate(v_.begin() + pos, v_.begin() + rank_ - 1, v_.begin() + rank_);
  }
  constexpr void erase(std::size_t pos) {
    std::rotate(v_.begin() + pos, v_.begin() + pos + 1, v_.begin() + rank_);
    --rank_;
  }

  friend constexpr bool operator==(const Extents& a, const Extents& b) noexcept {
    return a.rank_ == b.rank_ && std::equal(a.begin(), a.end(), b.begin());
  }

 private:
  constexpr void assign(std::span<const T> dims) {
    if (dims.size() > kMaxRank)
      throw ShapeError("tensor rank " + std::to_string(dims.size()) + " exceeds the maximum of " +
                       std::to_string(kMaxRank));
    rank_ = dims.size();
    std::copy(dims.begin(), dims.end(), v_.begin());
  }
  std::array<T, kMaxRank> v_{};
  std::size_t rank_ = 0;
};

/// Extents of each dimension, outermost first (row-major: the last dimension is contiguous).
using Shape = Extents<std::size_t>;
/// Distance between neighbours along each dimension, in storage units (elements, or blocks for
/// quantized types).
using Strides = Extents<std::ptrdiff_t>;

/// Number of elements a shape holds (1 for rank 0).
[[nodiscard]] constexpr std::size_t numel(const Shape& s) noexcept {
  std::size_t n = 1;
  for (auto d : s) n *= d;
  return n;
}

/// Formats a shape as "[2, 3, 4]" for error messages.
[[nodiscard]] inline std::string to_string(const Shape& s) {
  std::string out = "[";
  for (std::size_t i = 0; i < s.rank(); ++i) {
    if (i) out += ", ";
    out += std::to_string(s[i]);
  }
  return out + "]";
}

}  // namespace llmforge
