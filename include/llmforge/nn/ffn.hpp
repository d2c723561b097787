// SPDX-License-Identifier: MIT
// Gated feed-forward block: down(act(gate(x)) * up(x)) - SwiGLU with SiLU, GeGLU with GELU.
#pragma once

#include <cstddef>

#include <llmforge/backend/thread_pool.hpp>
#include <llmforge/nn/concepts.hpp>
#include <llmforge/nn/config.hpp>
#include <llmforge/nn/tensor_names.hpp>
#include <llmforge/nn/weight.hpp>
#include <llmforge/nn/workspace.hpp>

namespace llmforge::nn {

/// Gated FFN with separate gate and up projections (LLaMA, Qwen, Gemma).
/// @tparam Act an ActivationPolicy applied to the gate (`SiLU`, `GELU`).
template <class Act>
struct GatedFFN {
  static_assert(ActivationPolicy<Act>, "GatedFFN<Act>: Act must provide static float apply(float) - see nn/activations.hpp");
  AnyWeight gate, up, down;

  static GatedFFN load(const WeightLoader& l, std::size_t layer, const ModelConfig& c) {
    return GatedFFN{l.matrix(Role::FfnGate, layer, c.ffn_dim, c.model_dim), l.matrix(Role::FfnUp, layer, c.ffn_dim, c.model_dim),
                    l.matrix(Role::FfnDown, layer, c.model_dim, c.ffn_dim)};
  }

  /// `out[t] = down(act(gate(x[t])) * up(x[t]))` for `n` rows.
  void forward(const ModelConfig& c, std::size_t n, const float* x, float* out, Workspace& ws, ThreadPool& pool) const {
    const std::size_t f = c.ffn_dim;
    float* g = ws.get(Workspace::Gate, n * f);
    float* u = ws.get(Workspace::Up, n * f);
    matmul(gate, x, c.model_dim, n, g, f, pool);
    matmul(up, x, c.model_dim, n, u, f, pool);
    for (std::size_t i = 0; i < n * f; ++i) g[i] = Act::apply(g[i]) * u[i];
    matmul(down, g, f, n, out, c.model_dim, pool);
  }
};

}  // namespace llmforge::nn
