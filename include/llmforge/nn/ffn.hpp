// SPDX-License-Identifier: MIT
// Gated feed-forward block: down(act(gate(x)) * up(x)) - SwiGLU with SiLU, GeGLU with GELU.
#pragma once

#include <cstddef>
#include <optional>

#include <llmforge/backend/thread_pool.hpp>
#include <llmforge/nn/concepts.hpp>
#include <llmforge/nn/config.hpp>
#include <llmforge/nn/tensor_names.hpp>
#include <llmforge/nn/weight.hpp>
#include <llmforge/nn/workspace.hpp>

namespace llmforge::nn {

/// Gated FFN: `down(act(gate(x)) * up(x))`. The gate and up projections are separate (LLaMA, Qwen,
/// Gemma) or fused into one `ffn_up` matrix of twice the width, gate rows first (Phi-3).
/// @tparam Act an ActivationPolicy applied to the gate (`SiLU`, `GELU`).
template <class Act>
struct GatedFFN {
  static_assert(ActivationPolicy<Act>, "GatedFFN<Act>: Act must provide static float apply(float) - see nn/activations.hpp");
  std::optional<AnyWeight> gate;  ///< absent when fused into `up`
  AnyWeight up, down;

  static GatedFFN load(const WeightLoader& l, std::size_t layer, const ModelConfig& c) {
    const std::size_t f = c.ffn_dim, d = c.model_dim;
    if (!l.has(Role::FfnGate, layer))
      return GatedFFN{std::nullopt, l.matrix(Role::FfnUp, layer, 2 * f, d), l.matrix(Role::FfnDown, layer, d, f)};
    return GatedFFN{l.matrix(Role::FfnGate, layer, f, d), l.matrix(Role::FfnUp, layer, f, d), l.matrix(Role::FfnDown, layer, d, f)};
  }

  /// The activation type of the gate/up products (nothing for float weights); see normalize_for_matmul.
  [[nodiscard]] std::optional<GgmlType> input_activation_type() const { return nn::input_activation_type(gate ? *gate : up); }

  /// `out[t] = down(act(gate(x[t])) * up(x[t]))` for `n` rows.
  void forward(const ModelConfig& c, std::size_t n, const float* x, float* out, Workspace& ws, ThreadPool& pool) const {
    const std::size_t f = c.ffn_dim;
    float* g = ws.get(Workspace::Gate, n * f);
    if (gate) {
      float* u = ws.get(Workspace::Up, n * f);
      const MatmulOutput gate_up[] = {{&*gate, g, f}, {&up, u, f}};
      matmul_group(gate_up, x, c.model_dim, n, pool);
      if constexpr (requires { Act::gate(g, u, g, f); }) {
        for (std::size_t t = 0; t < n; ++t) Act::gate(g + t * f, u + t * f, g + t * f, f);
      } else {
        for (std::size_t i = 0; i < n * f; ++i) g[i] = Act::apply(g[i]) * u[i];
      }
    } else {
      float* gu = ws.get(Workspace::Up, n * 2 * f);
      matmul(up, x, c.model_dim, n, gu, 2 * f, pool);
      for (std::size_t t = 0; t < n; ++t) {
        if constexpr (requires { Act::gate(gu, gu, g, f); }) {
          Act::gate(gu + t * 2 * f, gu + t * 2 * f + f, g + t * f, f);
        } else {
          for (std::size_t i = 0; i < f; ++i) g[t * f + i] = Act::apply(gu[t * 2 * f + i]) * gu[t * 2 * f + f + i];
        }
      }
    }
    matmul(down, g, f, n, out, c.model_dim, pool);
  }
};

/// Plain two-layer MLP with biases: `down(act(up(x) + b_up)) + b_down` (GPT-2, StarCoder2).
/// @tparam Act an ActivationPolicy (`GELU`).
template <class Act>
struct MLP {
  static_assert(ActivationPolicy<Act>, "MLP<Act>: Act must provide static float apply(float) - see nn/activations.hpp");
  AnyWeight up, down;
  std::optional<Tensor<F32, Cpu>> up_bias, down_bias;

  static MLP load(const WeightLoader& l, std::size_t layer, const ModelConfig& c) {
    const std::size_t f = c.ffn_dim, d = c.model_dim;
    return MLP{l.matrix(Role::FfnUp, layer, f, d), l.matrix(Role::FfnDown, layer, d, f), l.optional_vector(Role::FfnUpBias, layer, f),
               l.optional_vector(Role::FfnDownBias, layer, d)};
  }

  /// The activation type of the up product (nothing for float weights); see normalize_for_matmul.
  [[nodiscard]] std::optional<GgmlType> input_activation_type() const { return nn::input_activation_type(up); }

  void forward(const ModelConfig& c, std::size_t n, const float* x, float* out, Workspace& ws, ThreadPool& pool) const {
    const std::size_t f = c.ffn_dim, d = c.model_dim;
    float* h = ws.get(Workspace::Gate, n * f);
    matmul(up, x, d, n, h, f, pool);
    for (std::size_t t = 0; t < n; ++t)
      for (std::size_t i = 0; i < f; ++i) {
        const float v = h[t * f + i] + (up_bias ? up_bias->data()[i] : 0.0f);
        h[t * f + i] = Act::apply(v);
      }
    matmul(down, h, f, n, out, d, pool);
    if (down_bias)
      for (std::size_t t = 0; t < n; ++t)
        for (std::size_t i = 0; i < d; ++i) out[t * d + i] += down_bias->data()[i];
  }
};

}  // namespace llmforge::nn
