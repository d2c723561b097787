// SPDX-License-Identifier: MIT
// Concepts that component policies must satisfy; templates check them first so errors read as sentences.
#pragma once

#include <concepts>
#include <cstddef>

#include <llmforge/nn/config.hpp>
#include <llmforge/nn/rope.hpp>

namespace llmforge::nn {

/// A normalisation: `forward(x, out, rows)` over rows of its own width.
template <class N>
concept NormPolicy = requires(const N& n, const float* x, float* out, std::size_t rows) {
  { n.forward(x, out, rows) } -> std::same_as<void>;
};

/// An activation: a static `apply(float) -> float`.
template <class A>
concept ActivationPolicy = requires(float x) {
  { A::apply(x) } -> std::convertible_to<float>;
};

/// A positional encoding applied to query and key heads.
template <class P>
concept PositionalPolicy = requires(const P& p, float* x, std::size_t n, const float* cs) {
  { p.angles(n, x) } -> std::same_as<void>;
  { p.rotate(x, n, n, cs) } -> std::same_as<void>;
};

template <class T>
inline constexpr bool kDependentFalse = false;

}  // namespace llmforge::nn
