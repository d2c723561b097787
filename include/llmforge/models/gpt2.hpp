// SPDX-License-Identifier: MIT
// GPT-2 and StarCoder2: LayerNorm with bias, biased projections, GELU MLP; learned positions (GPT-2,
// fused QKV) or NeoX RoPE (StarCoder2, separate Q/K/V).
#pragma once

#include <llmforge/models/llama.hpp>
#include <llmforge/nn/layer_norm.hpp>

namespace llmforge::models {

inline constexpr nn::TensorName kGpt2Tensors[] = {
    {Role::TokenEmbedding, "token_embd.weight", "wte.weight"},
    {Role::PositionEmbedding, "position_embd.weight", "wpe.weight"},
    {Role::OutputNorm, "output_norm.weight", "ln_f.weight"},
    {Role::OutputNormBias, "output_norm.bias", "ln_f.bias"},
    {Role::Output, "output.weight", "lm_head.weight", Presence::Optional},
    {Role::AttnNorm, "blk.{}.attn_norm.weight", "h.{}.ln_1.weight"},
    {Role::AttnNormBias, "blk.{}.attn_norm.bias", "h.{}.ln_1.bias"},
    {Role::AttnQKV, "blk.{}.attn_qkv.weight", "h.{}.attn.c_attn.weight"},
    {Role::AttnQKVBias, "blk.{}.attn_qkv.bias", "h.{}.attn.c_attn.bias"},
    {Role::AttnOutput, "blk.{}.attn_output.weight", "h.{}.attn.c_proj.weight"},
    {Role::AttnOutputBias, "blk.{}.attn_output.bias", "h.{}.attn.c_proj.bias"},
    {Role::FfnNorm, "blk.{}.ffn_norm.weight", "h.{}.ln_2.weight"},
    {Role::FfnNormBias, "blk.{}.ffn_norm.bias", "h.{}.ln_2.bias"},
    {Role::FfnUp, "blk.{}.ffn_up.weight", "h.{}.mlp.c_fc.weight"},
    {Role::FfnUpBias, "blk.{}.ffn_up.bias", "h.{}.mlp.c_fc.bias"},
    {Role::FfnDown, "blk.{}.ffn_down.weight", "h.{}.mlp.c_proj.weight"},
    {Role::FfnDownBias, "blk.{}.ffn_down.bias", "h.{}.mlp.c_proj.bias"},
};

inline constexpr nn::TensorName kStarcoder2Tensors[] = {
    {Role::TokenEmbedding, "token_embd.weight", "model.embed_tokens.weight"},
    {Role::OutputNorm, "output_norm.weight", "model.norm.weight"},
    {Role::OutputNormBias, "output_norm.bias", "model.norm.bias"},
    {Role::Output, "output.weight", "lm_head.weight", Presence::Optional},
    {Role::AttnNorm, "blk.{}.attn_norm.weight", "model.layers.{}.input_layernorm.weight"},
    {Role::AttnNormBias, "blk.{}.attn_norm.bias", "model.layers.{}.input_layernorm.bias"},
    {Role::AttnQ, "blk.{}.attn_q.weight", "model.layers.{}.self_attn.q_proj.weight"},
    {Role::AttnK, "blk.{}.attn_k.weight", "model.layers.{}.self_attn.k_proj.weight"},
    {Role::AttnV, "blk.{}.attn_v.weight", "model.layers.{}.self_attn.v_proj.weight"},
    {Role::AttnQBias, "blk.{}.attn_q.bias", "model.layers.{}.self_attn.q_proj.bias", Presence::Optional},
    {Role::AttnKBias, "blk.{}.attn_k.bias", "model.layers.{}.self_attn.k_proj.bias", Presence::Optional},
    {Role::AttnVBias, "blk.{}.attn_v.bias", "model.layers.{}.self_attn.v_proj.bias", Presence::Optional},
    {Role::AttnOutput, "blk.{}.attn_output.weight", "model.layers.{}.self_attn.o_proj.weight"},
    {Role::AttnOutputBias, "blk.{}.attn_output.bias", "model.layers.{}.self_attn.o_proj.bias", Presence::Optional},
    {Role::FfnNorm, "blk.{}.ffn_norm.weight", "model.layers.{}.post_attention_layernorm.weight"},
    {Role::FfnNormBias, "blk.{}.ffn_norm.bias", "model.layers.{}.post_attention_layernorm.bias"},
    {Role::FfnUp, "blk.{}.ffn_up.weight", "model.layers.{}.mlp.c_fc.weight"},
    {Role::FfnUpBias, "blk.{}.ffn_up.bias", "model.layers.{}.mlp.c_fc.bias", Presence::Optional},
    {Role::FfnDown, "blk.{}.ffn_down.weight", "model.layers.{}.mlp.c_proj.weight"},
    {Role::FfnDownBias, "blk.{}.ffn_down.bias", "model.layers.{}.mlp.c_proj.bias", Presence::Optional},
};

struct Gpt2Arch {
  static constexpr std::string_view kArchName = "gpt2";
  static constexpr std::span<const nn::TensorName> kTensors = kGpt2Tensors;
  using Layer = nn::DecoderLayer<nn::LayerNorm, nn::GroupedQueryAttention<nn::NoPositional>, nn::MLP<nn::GELUF16>>;
  using OutputNorm = nn::LayerNorm;
  static ModelConfig read_config(const io::Metadata& md) {
    ModelConfig c = read_common_config(md, kArchName);
    c.rope_dim = 0;  // positions are learned embeddings, added to the input
    return c;
  }
};

struct Starcoder2Arch {
  static constexpr std::string_view kArchName = "starcoder2";
  static constexpr std::span<const nn::TensorName> kTensors = kStarcoder2Tensors;
  using Layer = nn::DecoderLayer<nn::LayerNorm, nn::GroupedQueryAttention<nn::RoPE<RopeStyle::NeoX>>, nn::MLP<nn::GELUF16>>;
  using OutputNorm = nn::LayerNorm;
  static ModelConfig read_config(const io::Metadata& md) { return read_common_config(md, kArchName); }
};

}  // namespace llmforge::models
