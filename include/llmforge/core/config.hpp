// SPDX-License-Identifier: MIT
// Run-time model configuration: every size and hyper-parameter read from a model file (whatever its
// format). Lives in core/ so that kv/ and io/ need not include nn/.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <llmforge/core/error.hpp>

namespace llmforge {

/// Which pairs of a head's dimensions RoPE rotates together.
enum class RopeStyle {
  Normal,  ///< adjacent pairs (2i, 2i+1), as GGUF stores LLaMA weights ("GPT-J style")
  NeoX,    ///< halves (i, i + d/2), as GPT-NeoX, Qwen, Gemma, Phi-3 use
};

/// Settings that may differ from layer to layer (Gemma 2/3 alternate local and global attention).
struct LayerConfig {
  std::size_t sliding_window = 0;  ///< 0: full causal attention; otherwise attend to the last N positions
  float rope_base = 10000.0f;      ///< RoPE frequency base for this layer
};

/// Everything a decoder-only transformer needs to know about its shapes, read from the model file.
struct ModelConfig {
  std::string arch;            ///< architecture name as the file spells it ("llama")
  std::string name;            ///< model name from the file, if any
  std::size_t model_dim = 0;   ///< embedding width
  std::size_t num_layers = 0;
  std::size_t num_heads = 0;
  std::size_t num_kv_heads = 0;
  std::size_t head_dim = 0;    ///< width of one query/key head
  std::size_t value_dim = 0;   ///< width of one value head (usually head_dim)
  std::size_t ffn_dim = 0;
  std::size_t vocab_size = 0;
  std::size_t context_len = 0; ///< longest context the model was built for
  float norm_eps = 1e-5f;
  std::size_t rope_dim = 0;    ///< dimensions of each head that RoPE rotates (<= head_dim)
  float attn_scale = 0.0f;     ///< multiplier of q·k; 0 means 1/sqrt(head_dim)
  bool scale_queries = false;  ///< apply attn_scale to the queries before q·k (Gemma; changes only rounding)
  float attn_softcap = 0.0f;   ///< tanh soft-capping of attention logits (0: off)
  float final_softcap = 0.0f;  ///< tanh soft-capping of output logits (0: off)
  float embed_scale = 1.0f;    ///< token embeddings are multiplied by this (Gemma: sqrt(model_dim))
  std::vector<LayerConfig> layers;

  /// Checks that the sizes are consistent. @throws ConfigError naming the offending value.
  void validate() const {
    auto need = [&](bool ok, const std::string& what) {
      if (!ok) throw ConfigError(arch + " model: " + what);
    };
    need(model_dim > 0, "embedding width must be positive");
    need(num_layers > 0 && num_layers <= 4096, "block count " + std::to_string(num_layers) + " is out of range");
    need(num_heads > 0, "head count must be positive");
    need(num_kv_heads > 0 && num_heads % num_kv_heads == 0,
         "head count " + std::to_string(num_heads) + " is not a multiple of the KV head count " + std::to_string(num_kv_heads));
    need(head_dim > 0 && head_dim <= 1024, "head dimension " + std::to_string(head_dim) + " is out of range");
    need(value_dim > 0 && value_dim <= 1024, "value head dimension " + std::to_string(value_dim) + " is out of range");
    need(rope_dim % 2 == 0 && rope_dim <= head_dim,
         "RoPE dimension count " + std::to_string(rope_dim) + " must be even and at most the head dimension " + std::to_string(head_dim));
    need(ffn_dim > 0, "feed-forward width must be positive");
    need(vocab_size > 0, "vocabulary size must be positive");
    need(context_len > 0, "context length must be positive");
    need(layers.size() == num_layers, "per-layer settings do not match the block count");
    need(norm_eps > 0 && norm_eps < 1, "norm epsilon must be in (0, 1)");
  }
};

}  // namespace llmforge
