// SPDX-License-Identifier: MIT
// Rotary position embedding (RoPE) in the two pairings GGUF models use, with optional frequency factors.
#pragma once

#include <cmath>
#include <cstddef>
#include <vector>

#include <llmforge/nn/config.hpp>
#include <llmforge/nn/tensor_names.hpp>

namespace llmforge::nn {

/// Rotates the first `rope_dim` dimensions of each query/key head by position-dependent angles
/// theta_i = pos * base^(-2i / rope_dim) / factor_i.
/// @tparam S which dimensions form a rotated pair (`RopeStyle::Normal`: (2i, 2i+1); `NeoX`: (i, i + d/2)).
template <RopeStyle S>
struct RoPE {
  static constexpr RopeStyle kStyle = S;
  std::vector<double> inv_freq;  ///< one per rotated pair
  std::size_t rope_dim = 0;

  /// Builds the frequencies of `layer` from the config and the optional `rope_freqs` tensor
  /// (Llama 3 long-context factors), by which each angle is divided.
  static RoPE load(const WeightLoader& l, std::size_t layer, const ModelConfig& c) {
    RoPE r;
    r.rope_dim = c.rope_dim;
    const std::size_t pairs = c.rope_dim / 2;
    auto factors = l.optional_vector(Role::RopeFreqs, layer, pairs);
    const double base = c.layers[layer].rope_base;
    for (std::size_t i = 0; i < pairs; ++i) {
      double f = std::pow(base, -2.0 * static_cast<double>(i) / static_cast<double>(c.rope_dim));
      if (factors) f /= factors->data()[i];
      r.inv_freq.push_back(f);
    }
    return r;
  }

  /// Fills `cs` with cos/sin pairs of every rotated pair at position `pos` (2 * rope_dim/2 floats).
  void angles(std::size_t pos, float* cs) const {
    for (std::size_t i = 0; i < inv_freq.size(); ++i) {
      const double theta = static_cast<double>(pos) * inv_freq[i];
      cs[2 * i] = static_cast<float>(std::cos(theta));
      cs[2 * i + 1] = static_cast<float>(std::sin(theta));
    }
  }

  /// Rotates `heads` consecutive heads of width `head_dim` in place, with angles from `angles()`.
  void rotate(float* x, std::size_t heads, std::size_t head_dim, const float* cs) const {
    const std::size_t pairs = inv_freq.size();
    for (std::size_t h = 0; h < heads; ++h) {
      float* v = x + h * head_dim;
      for (std::size_t i = 0; i < pairs; ++i) {
        const std::size_t a = S == RopeStyle::Normal ? 2 * i : i;
        const std::size_t b = S == RopeStyle::Normal ? 2 * i + 1 : i + rope_dim / 2;
        const float c = cs[2 * i], s = cs[2 * i + 1];
        const float x0 = v[a], x1 = v[b];
        v[a] = x0 * c - x1 * s;
        v[b] = x0 * s + x1 * c;
      }
    }
  }
};

}  // namespace llmforge::nn

namespace llmforge::nn {

/// No rotary encoding (models with learned absolute positions, e.g. GPT-2).
struct NoPositional {
  static NoPositional load(const WeightLoader&, std::size_t, const ModelConfig&) { return {}; }
  void angles(std::size_t, float*) const {}
  void rotate(float*, std::size_t, std::size_t, const float*) const {}
};

}  // namespace llmforge::nn
