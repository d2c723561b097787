// SPDX-License-Identifier: MIT
// Gemma 1/2/3: embeddings scaled by sqrt(width), GeGLU, NeoX RoPE; Gemma 2 adds post-norms, soft-capping
// and alternating sliding windows; Gemma 3 adds Q/K norms and a separate RoPE base for local layers.
#pragma once

#include <cmath>

#include <llmforge/models/llama.hpp>
#include <llmforge/models/qwen2.hpp>

namespace llmforge::models {

inline constexpr nn::TensorName kGemma2Tensors[] = {
    {Role::TokenEmbedding, "token_embd.weight", "model.embed_tokens.weight"},
    {Role::OutputNorm, "output_norm.weight", "model.norm.weight"},
    {Role::Output, "output.weight", "lm_head.weight", Presence::Optional},
    {Role::AttnNorm, "blk.{}.attn_norm.weight", "model.layers.{}.input_layernorm.weight"},
    {Role::AttnQ, "blk.{}.attn_q.weight", "model.layers.{}.self_attn.q_proj.weight"},
    {Role::AttnK, "blk.{}.attn_k.weight", "model.layers.{}.self_attn.k_proj.weight"},
    {Role::AttnV, "blk.{}.attn_v.weight", "model.layers.{}.self_attn.v_proj.weight"},
    {Role::AttnOutput, "blk.{}.attn_output.weight", "model.layers.{}.self_attn.o_proj.weight"},
    {Role::PostAttnNorm, "blk.{}.post_attention_norm.weight", "model.layers.{}.post_attention_layernorm.weight"},
    {Role::FfnNorm, "blk.{}.ffn_norm.weight", "model.layers.{}.pre_feedforward_layernorm.weight"},
    {Role::FfnGate, "blk.{}.ffn_gate.weight", "model.layers.{}.mlp.gate_proj.weight"},
    {Role::FfnUp, "blk.{}.ffn_up.weight", "model.layers.{}.mlp.up_proj.weight"},
    {Role::FfnDown, "blk.{}.ffn_down.weight", "model.layers.{}.mlp.down_proj.weight"},
    {Role::PostFfnNorm, "blk.{}.post_ffw_norm.weight", "model.layers.{}.post_feedforward_layernorm.weight"},
};
inline constexpr auto kGemma3Tensors = nn::detail::join_tables(kGemma2Tensors, kQkNormRows);

using GemmaLayer = nn::DecoderLayer<nn::RMSNorm, nn::GroupedQueryAttention<nn::RoPE<RopeStyle::NeoX>>, nn::GatedFFN<nn::GELUF16>>;

/// Config shared by the Gemma family: embeddings are multiplied by sqrt(model_dim).
inline ModelConfig read_gemma_config(const io::Metadata& md, std::string_view arch) {
  ModelConfig c = read_common_config(md, arch);
  c.embed_scale = std::sqrt(static_cast<float>(c.model_dim));
  c.scale_queries = true;  // llama.cpp scales Gemma's queries, not the scores (same value, other rounding)
  return c;
}

struct GemmaArch {
  static constexpr std::string_view kArchName = "gemma";
  static constexpr std::span<const nn::TensorName> kTensors = kLlamaTensors;
  using Layer = GemmaLayer;
  using OutputNorm = nn::RMSNorm;
  static ModelConfig read_config(const io::Metadata& md) { return read_gemma_config(md, kArchName); }
};

struct Gemma2Arch {
  static constexpr std::string_view kArchName = "gemma2";
  static constexpr std::span<const nn::TensorName> kTensors = kGemma2Tensors;
  using Layer = GemmaLayer;
  using OutputNorm = nn::RMSNorm;
  /// Even layers use the sliding window, odd layers attend globally; logits are soft-capped.
  static ModelConfig read_config(const io::Metadata& md) {
    ModelConfig c = read_gemma_config(md, kArchName);
    c.attn_softcap = static_cast<float>(md.get_float("gemma2.attn_logit_softcapping", 50.0));
    c.final_softcap = static_cast<float>(md.get_float("gemma2.final_logit_softcapping", 30.0));
    const std::size_t window = md.get_uint("gemma2.attention.sliding_window", 4096);
    for (std::size_t i = 0; i < c.layers.size(); ++i) c.layers[i].sliding_window = i % 2 == 0 ? window : 0;
    return c;
  }
};

struct Gemma3Arch {
  static constexpr std::string_view kArchName = "gemma3";
  static constexpr std::span<const nn::TensorName> kTensors = kGemma3Tensors;
  using Layer = GemmaLayer;
  using OutputNorm = nn::RMSNorm;
  static constexpr std::size_t kPattern = 6;        ///< every 6th layer is global, the others local
  static constexpr float kLocalRopeBase = 10000.f;  ///< RoPE base of the local (sliding) layers
  static ModelConfig read_config(const io::Metadata& md) {
    ModelConfig c = read_gemma_config(md, kArchName);
    const std::size_t window = md.get_uint("gemma3.attention.sliding_window", 4096);
    for (std::size_t i = 0; i < c.layers.size(); ++i) {
      if (i % kPattern < kPattern - 1) c.layers[i] = LayerConfig{window, kLocalRopeBase};
    }
    return c;
  }
};

}  // namespace llmforge::models
