// SPDX-License-Identifier: MIT
// A pre-norm transformer decoder layer composed from a norm, an attention and a feed-forward policy.
#pragma once

#include <concepts>
#include <cstddef>
#include <optional>

#include <llmforge/nn/attention.hpp>
#include <llmforge/nn/concepts.hpp>
#include <llmforge/nn/config.hpp>
#include <llmforge/nn/tensor_names.hpp>
#include <llmforge/nn/weight.hpp>
#include <llmforge/nn/workspace.hpp>

namespace llmforge::nn {

/// x += Attn(Norm(x)); x += Ffn(Norm(x)), with optional norms after each block (Gemma 2/3).
/// @tparam Norm a NormPolicy with `load(loader, role, layer, dim, config)`.
/// @tparam Attn an attention policy with `load(loader, layer, config)` and `forward(config, ctx, x, out)`.
/// @tparam Ffn a feed-forward policy with `load(loader, layer, config)` and `forward(config, n, x, out, ws, pool)`.
template <class Norm, class Attn, class Ffn>
struct DecoderLayer {
  static_assert(NormPolicy<Norm>, "DecoderLayer<Norm, ...>: Norm must provide forward(const float* x, float* out, size_t rows)"
                                  " - see nn/rms_norm.hpp");
  static_assert(requires(const Attn& a, const ModelConfig& c, const AttnContext& ctx, const float* x, float* o) {
    a.forward(c, ctx, x, o);
  }, "DecoderLayer<..., Attn, ...>: Attn must provide forward(const ModelConfig&, const AttnContext&, const float* x, float* out)"
     " - see nn/attention.hpp");
  static_assert(requires(const Ffn& f, const ModelConfig& c, std::size_t n, const float* x, float* o, Workspace& ws, ThreadPool& p) {
    f.forward(c, n, x, o, ws, p);
  }, "DecoderLayer<..., Ffn>: Ffn must provide forward(const ModelConfig&, size_t n, const float* x, float* out, Workspace&, ThreadPool&)"
     " - see nn/ffn.hpp");

  Norm attn_norm;
  Attn attn;
  std::optional<Norm> post_attn_norm;
  Norm ffn_norm;
  Ffn ffn;
  std::optional<Norm> post_ffn_norm;

  static DecoderLayer load(const WeightLoader& l, std::size_t layer, const ModelConfig& c) {
    return DecoderLayer{Norm::load(l, Role::AttnNorm, layer, c.model_dim, c),
                        Attn::load(l, layer, c),
                        Norm::load_optional(l, Role::PostAttnNorm, layer, c.model_dim, c),
                        Norm::load(l, Role::FfnNorm, layer, c.model_dim, c),
                        Ffn::load(l, layer, c),
                        Norm::load_optional(l, Role::PostFfnNorm, layer, c.model_dim, c)};
  }

  /// The activation type a block's products take, if the block says (input_activation_type()).
  template <class Block>
  static std::optional<GgmlType> activation_type_of(const Block& b) {
    if constexpr (requires { { b.input_activation_type() } -> std::convertible_to<std::optional<GgmlType>>; })
      return b.input_activation_type();
    else
      return std::nullopt;
  }

  /// Runs the layer on the hidden states `x` ([n_tokens, model_dim]) in place.
  void forward(const ModelConfig& c, const AttnContext& ctx, float* x) const {
    const std::size_t n = ctx.n_tokens, d = c.model_dim;
    float* h = ctx.ws.get(Workspace::Normed, n * d);
    float* tmp = ctx.ws.get(Workspace::Tmp, n * d);
    {
      std::optional<PreparedInput> prepared;  // the normed rows, quantized in the norm's pass
      normalize_for_matmul(attn_norm, x, h, n, d, activation_type_of(attn), prepared, ctx.pool);
      attn.forward(c, ctx, h, tmp);
    }
    if (post_attn_norm) post_attn_norm->forward(tmp, tmp, n);
    for (std::size_t i = 0; i < n * d; ++i) x[i] += tmp[i];
    {
      std::optional<PreparedInput> prepared;
      normalize_for_matmul(ffn_norm, x, h, n, d, activation_type_of(ffn), prepared, ctx.pool);
      ffn.forward(c, n, h, tmp, ctx.ws, ctx.pool);
    }
    if (post_ffn_norm) post_ffn_norm->forward(tmp, tmp, n);
    for (std::size_t i = 0; i < n * d; ++i) x[i] += tmp[i];
  }
};

}  // namespace llmforge::nn
