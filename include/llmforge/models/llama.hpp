// SPDX-License-Identifier: MIT
// LLaMA 1/2/3 and Mistral: RMSNorm, RoPE on adjacent pairs, grouped-query attention, SwiGLU.
#pragma once

#include <span>
#include <string_view>

#include <llmforge/models/config_reader.hpp>
#include <llmforge/models/decoder_only.hpp>
#include <llmforge/nn/activations.hpp>
#include <llmforge/nn/attention.hpp>
#include <llmforge/nn/decoder_layer.hpp>
#include <llmforge/nn/ffn.hpp>
#include <llmforge/nn/rms_norm.hpp>
#include <llmforge/nn/rope.hpp>

namespace llmforge::models {

using nn::Presence;
using nn::Role;

inline constexpr nn::TensorName kLlamaTensors[] = {
    {Role::TokenEmbedding, "token_embd.weight", "model.embed_tokens.weight"},
    {Role::OutputNorm, "output_norm.weight", "model.norm.weight"},
    {Role::Output, "output.weight", "lm_head.weight", Presence::Optional},  // absent: tied to token_embd
    {Role::RopeFreqs, "rope_freqs.weight", "", Presence::Optional},         // Llama 3.1 frequency factors
    {Role::AttnNorm, "blk.{}.attn_norm.weight", "model.layers.{}.input_layernorm.weight"},
    {Role::AttnQ, "blk.{}.attn_q.weight", "model.layers.{}.self_attn.q_proj.weight"},
    {Role::AttnK, "blk.{}.attn_k.weight", "model.layers.{}.self_attn.k_proj.weight"},
    {Role::AttnV, "blk.{}.attn_v.weight", "model.layers.{}.self_attn.v_proj.weight"},
    {Role::AttnOutput, "blk.{}.attn_output.weight", "model.layers.{}.self_attn.o_proj.weight"},
    {Role::FfnNorm, "blk.{}.ffn_norm.weight", "model.layers.{}.post_attention_layernorm.weight"},
    {Role::FfnGate, "blk.{}.ffn_gate.weight", "model.layers.{}.mlp.gate_proj.weight"},
    {Role::FfnUp, "blk.{}.ffn_up.weight", "model.layers.{}.mlp.up_proj.weight"},
    {Role::FfnDown, "blk.{}.ffn_down.weight", "model.layers.{}.mlp.down_proj.weight"},
};

/// LLaMA-family architecture description.
struct LlamaArch {
  static constexpr std::string_view kArchName = "llama";
  static constexpr std::span<const nn::TensorName> kTensors = kLlamaTensors;
  using Layer = nn::DecoderLayer<nn::RMSNorm, nn::GroupedQueryAttention<nn::RoPE<RopeStyle::Normal>>, nn::GatedFFN<nn::SiLU>>;
  using OutputNorm = nn::RMSNorm;

  /// Reads `llama.*` keys; Mistral's sliding window, if present, applies to every layer.
  static ModelConfig read_config(const io::Metadata& md) {
    ModelConfig c = read_common_config(md, kArchName);
    const std::size_t window = md.get_uint("llama.attention.sliding_window", 0);
    for (auto& l : c.layers) l.sliding_window = window;
    return c;
  }
};

using Llama = DecoderOnlyModel<LlamaArch>;

}  // namespace llmforge::models
