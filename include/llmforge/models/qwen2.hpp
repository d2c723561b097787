// SPDX-License-Identifier: MIT
// Qwen2 (LLaMA layout + Q/K/V biases, NeoX RoPE) and Qwen3 (no biases, per-head Q/K RMSNorm before RoPE).
#pragma once

#include <llmforge/models/llama.hpp>

namespace llmforge::models {

inline constexpr nn::TensorName kQkvBiasRows[] = {
    {Role::AttnQBias, "blk.{}.attn_q.bias", "model.layers.{}.self_attn.q_proj.bias"},
    {Role::AttnKBias, "blk.{}.attn_k.bias", "model.layers.{}.self_attn.k_proj.bias"},
    {Role::AttnVBias, "blk.{}.attn_v.bias", "model.layers.{}.self_attn.v_proj.bias"},
};
inline constexpr nn::TensorName kQkNormRows[] = {
    {Role::AttnQNorm, "blk.{}.attn_q_norm.weight", "model.layers.{}.self_attn.q_norm.weight"},
    {Role::AttnKNorm, "blk.{}.attn_k_norm.weight", "model.layers.{}.self_attn.k_norm.weight"},
};
inline constexpr auto kQwen2Tensors = nn::detail::join_tables(kLlamaTensors, kQkvBiasRows);
inline constexpr auto kQwen3Tensors = nn::detail::join_tables(kLlamaTensors, kQkNormRows);

/// LLaMA-style decoder with NeoX RoPE; the name table decides whether biases or Q/K norms are loaded.
using NeoXLlamaLayer = nn::DecoderLayer<nn::RMSNorm, nn::GroupedQueryAttention<nn::RoPE<RopeStyle::NeoX>>, nn::GatedFFN<nn::SiLU>>;

struct Qwen2Arch {
  static constexpr std::string_view kArchName = "qwen2";
  static constexpr std::span<const nn::TensorName> kTensors = kQwen2Tensors;
  using Layer = NeoXLlamaLayer;
  using OutputNorm = nn::RMSNorm;
  static ModelConfig read_config(const io::Metadata& md) { return read_common_config(md, kArchName); }
};

struct Qwen3Arch {
  static constexpr std::string_view kArchName = "qwen3";
  static constexpr std::span<const nn::TensorName> kTensors = kQwen3Tensors;
  using Layer = NeoXLlamaLayer;
  using OutputNorm = nn::RMSNorm;
  static ModelConfig read_config(const io::Metadata& md) { return read_common_config(md, kArchName); }
};

}  // namespace llmforge::models
