// SPDX-License-Identifier: MIT
// Phi-3: fused QKV and fused gate|up projections, NeoX RoPE, SwiGLU, sliding-window attention.
#pragma once

#include <llmforge/models/llama.hpp>

namespace llmforge::models {

inline constexpr nn::TensorName kPhi3Tensors[] = {
    {Role::TokenEmbedding, "token_embd.weight", "model.embed_tokens.weight"},
    {Role::OutputNorm, "output_norm.weight", "model.norm.weight"},
    {Role::Output, "output.weight", "lm_head.weight", Presence::Optional},
    {Role::AttnNorm, "blk.{}.attn_norm.weight", "model.layers.{}.input_layernorm.weight"},
    {Role::AttnQKV, "blk.{}.attn_qkv.weight", "model.layers.{}.self_attn.qkv_proj.weight"},
    {Role::AttnOutput, "blk.{}.attn_output.weight", "model.layers.{}.self_attn.o_proj.weight"},
    {Role::FfnNorm, "blk.{}.ffn_norm.weight", "model.layers.{}.post_attention_layernorm.weight"},
    {Role::FfnUp, "blk.{}.ffn_up.weight", "model.layers.{}.mlp.gate_up_proj.weight"},  // [gate; up] rows
    {Role::FfnDown, "blk.{}.ffn_down.weight", "model.layers.{}.mlp.down_proj.weight"},
};

struct Phi3Arch {
  static constexpr std::string_view kArchName = "phi3";
  static constexpr std::span<const nn::TensorName> kTensors = kPhi3Tensors;
  using Layer = nn::DecoderLayer<nn::RMSNorm, nn::GroupedQueryAttention<nn::RoPE<RopeStyle::NeoX>>, nn::GatedFFN<nn::SiLU>>;
  using OutputNorm = nn::RMSNorm;
  static ModelConfig read_config(const io::Metadata& md) {
    ModelConfig c = read_common_config(md, kArchName);
    const std::size_t window = md.get_uint("phi3.attention.sliding_window", 0);
    for (auto& l : c.layers) l.sliding_window = window;
    return c;
  }
};

}  // namespace llmforge::models
