// SPDX-License-Identifier: MIT
// Creating tensors: zeros, ones, full, arange, from values (span or initializer list), seeded uniform and normal.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>

#include <llmforge/tensor/detail.hpp>
#include <llmforge/tensor/tensor.hpp>

namespace llmforge {

/// A contiguous tensor of `shape` filled with zeros.
template <class D, class B = Cpu>
[[nodiscard]] Tensor<D, B> zeros(const Shape& shape) {
  return Tensor<D, B>::zeros(shape);
}

/// A contiguous tensor of `shape` with every element equal to `value` (rounded to `D`).
template <class D, class B = Cpu>
[[nodiscard]] Tensor<D, B> full(const Shape& shape, double value) {
  static_assert(detail::CpuOperand<Tensor<D, B>, false>::value);
  auto t = Tensor<D, B>::empty(shape);
  t.fill(detail::from_float<typename D::storage_type>(static_cast<float>(value)));
  return t;
}

/// A contiguous tensor of `shape` filled with ones.
template <class D, class B = Cpu>
[[nodiscard]] Tensor<D, B> ones(const Shape& shape) {
  return full<D, B>(shape, 1.0);
}

/// The 1-D tensor `start, start + step, ...` up to but excluding `stop` (NumPy arange: ceil((stop-start)/step) values).
/// @throws ShapeError if `step` is zero.
template <class D, class B = Cpu>
[[nodiscard]] Tensor<D, B> arange(double start, double stop, double step = 1.0) {
  static_assert(detail::CpuOperand<Tensor<D, B>, false>::value);
  if (step == 0.0) throw ShapeError("arange: step must not be zero");
  const double count = std::ceil((stop - start) / step);
  const std::size_t n = count > 0 ? static_cast<std::size_t>(count) : 0;
  auto t = Tensor<D, B>::empty(Shape{n});
  for (std::size_t i = 0; i < n; ++i)
    t.data()[i] = detail::from_float<typename D::storage_type>(static_cast<float>(start + static_cast<double>(i) * step));
  return t;
}
/// `arange(0, stop)`.
template <class D, class B = Cpu>
[[nodiscard]] Tensor<D, B> arange(double stop) {
  return arange<D, B>(0.0, stop, 1.0);
}

/// A contiguous tensor holding `values` (converted to `D`, rounding to nearest even) in row-major order.
/// An empty `shape` means 1-D of `values.size()`.
/// @throws ShapeError if the number of values does not equal the element count of `shape`.
template <class D, class B = Cpu, class T>
[[nodiscard]] Tensor<D, B> from_values(std::span<const T> values, const Shape& shape = Shape{}) {
  static_assert(detail::CpuOperand<Tensor<D, B>, false>::value);
  const Shape s = shape.rank() == 0 ? Shape{values.size()} : shape;
  if (numel(s) != values.size())
    throw ShapeError("from_values: " + std::to_string(values.size()) + " values cannot fill shape " + to_string(s));
  auto t = Tensor<D, B>::empty(s);
  using S = typename D::storage_type;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if constexpr (std::is_same_v<T, S>)
      t.data()[i] = values[i];
    else
      t.data()[i] = detail::from_float<S>(static_cast<float>(values[i]));
  }
  return t;
}
/// A contiguous tensor from a brace list, e.g. `from_values<F32>({1, 2, 3, 4}, {2, 2})`.
/// @throws ShapeError if the number of values does not equal the element count of `shape`.
template <class D, class B = Cpu>
[[nodiscard]] Tensor<D, B> from_values(std::initializer_list<double> values, const Shape& shape = Shape{}) {
  return from_values<D, B, double>(std::span<const double>(values.begin(), values.size()), shape);
}
/// A rank-0 tensor holding one value.
template <class D, class B = Cpu>
[[nodiscard]] Tensor<D, B> scalar(double value) {
  return full<D, B>(Shape{}, value);
}

namespace detail {
/// SplitMix64: tiny, seedable, identical on every platform (std distributions are not).
struct SplitMix64 {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
};
}  // namespace detail

/// Uniform random values in `[low, high)` from `seed`; the same seed gives the same tensor on every platform.
template <class D, class B = Cpu>
[[nodiscard]] Tensor<D, B> rand(const Shape& shape, uint64_t seed, double low = 0.0, double high = 1.0) {
  static_assert(detail::CpuOperand<Tensor<D, B>, true>::value);
  auto t = Tensor<D, B>::empty(shape);
  detail::SplitMix64 rng{seed};
  for (std::size_t i = 0; i < t.numel(); ++i)
    t.data()[i] = detail::from_float<typename D::storage_type>(static_cast<float>(low + (high - low) * rng.uniform()));
  return t;
}

/// Normal random values with `mean` and `stddev` from `seed` (Box-Muller over SplitMix64; platform independent).
template <class D, class B = Cpu>
[[nodiscard]] Tensor<D, B> randn(const Shape& shape, uint64_t seed, double mean = 0.0, double stddev = 1.0) {
  static_assert(detail::CpuOperand<Tensor<D, B>, true>::value);
  auto t = Tensor<D, B>::empty(shape);
  detail::SplitMix64 rng{seed};
  const std::size_t n = t.numel();
  for (std::size_t i = 0; i < n; i += 2) {
    const double u1 = 1.0 - rng.uniform();  // (0, 1]: log is finite
    const double u2 = rng.uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    const double z0 = r * std::cos(6.283185307179586 * u2), z1 = r * std::sin(6.283185307179586 * u2);
    t.data()[i] = detail::from_float<typename D::storage_type>(static_cast<float>(mean + stddev * z0));
    if (i + 1 < n) t.data()[i + 1] = detail::from_float<typename D::storage_type>(static_cast<float>(mean + stddev * z1));
  }
  return t;
}

}  // namespace llmforge
