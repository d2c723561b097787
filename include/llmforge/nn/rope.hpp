// SPDX-License-Identifier: MIT
// Rotary position embedding (RoPE) in the two pairings GGUF models use, with optional frequency factors.
#pragma once

#include <cmath>
#include <cstddef>
#include <vector>

#include <llmforge/kernels/dispatch.hpp>
#include <llmforge/kernels/nn_reference.hpp>
#include <llmforge/nn/config.hpp>
#include <llmforge/nn/tensor_names.hpp>

namespace llmforge::nn {

/// Rotates the first `rope_dim` dimensions of each query/key head by position-dependent angles
/// theta_i = pos * base^(-2i / rope_dim) / factor_i.
/// @tparam S which dimensions form a rotated pair (`RopeStyle::Normal`: (2i, 2i+1); `NeoX`: (i, i + d/2)).
template <RopeStyle S>
struct RoPE {
  static constexpr RopeStyle kStyle = S;
  std::vector<float> factors;  ///< per-pair divisors of the angle (empty: none)
  std::size_t pairs = 0;
  std::size_t rope_dim = 0;
  float theta_scale = 1.0f;  ///< base^(-2 / rope_dim), in f32 like llama.cpp

  /// Builds the frequencies of `layer` from the config and the optional `rope_freqs` tensor
  /// (Llama 3 long-context factors), by which each angle is divided.
  static RoPE load(const WeightLoader& l, std::size_t layer, const ModelConfig& c) {
    RoPE r;
    r.rope_dim = c.rope_dim;
    r.pairs = c.rope_dim / 2;
    if (auto f = l.optional_vector(Role::RopeFreqs, layer, r.pairs)) r.factors.assign(f->data(), f->data() + r.pairs);
    r.theta_scale = std::pow(c.layers[layer].rope_base, -2.0f / static_cast<float>(c.rope_dim));
    return r;
  }

  /// Fills `cs` with cos/sin pairs of every rotated pair at position `pos` (2 * rope_dim/2 floats).
  /// The angles are built in f32 by repeated multiplication, as llama.cpp does.
  void angles(std::size_t pos, float* cs) const {
    kernels::ref::rope_angles(pos, theta_scale, factors.empty() ? nullptr : factors.data(), pairs, cs);
  }

  /// Rotates `heads` consecutive heads of width `head_dim` in place, with angles from `angles()`.
  void rotate(float* x, std::size_t heads, std::size_t head_dim, const float* cs) const {
    kernels::rope_f32(x, heads, head_dim, rope_dim, cs, S == RopeStyle::NeoX);
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
