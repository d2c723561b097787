// SPDX-License-Identifier: MIT
// Reads the metadata keys shared by most GGUF architectures ("<arch>.embedding_length", ...) into a ModelConfig.
#pragma once

#include <string>
#include <string_view>

#include <llmforge/io/metadata.hpp>
#include <llmforge/core/config.hpp>

namespace llmforge::models {

/// Fills the common fields of a ModelConfig from `<arch>.*` keys. Architectures call this and then
/// adjust what differs. @throws ConfigError naming a missing or ill-typed required key.
[[nodiscard]] inline ModelConfig read_common_config(const io::Metadata& md, std::string_view arch) {
  const std::string p = std::string(arch) + ".";
  ModelConfig c;
  c.arch = std::string(arch);
  c.name = md.get_string("general.name", "");
  c.model_dim = md.get_uint(p + "embedding_length");
  c.num_layers = md.get_uint(p + "block_count");
  c.num_heads = md.get_uint(p + "attention.head_count");
  c.num_kv_heads = md.get_uint(p + "attention.head_count_kv", c.num_heads);
  c.ffn_dim = md.get_uint(p + "feed_forward_length");
  c.context_len = md.get_uint(p + "context_length");
  if (c.num_heads == 0) throw ConfigError(md.source() + ": " + p + "attention.head_count must be positive");
  c.head_dim = md.get_uint(p + "attention.key_length", c.model_dim / c.num_heads);
  c.value_dim = md.get_uint(p + "attention.value_length", c.head_dim);
  c.rope_dim = md.get_uint(p + "rope.dimension_count", c.head_dim);
  c.norm_eps = static_cast<float>(md.get_float(p + "attention.layer_norm_rms_epsilon",
                                               md.get_float(p + "attention.layer_norm_epsilon", 1e-5)));
  const float base = static_cast<float>(md.get_float(p + "rope.freq_base", 10000.0));
  c.layers.assign(c.num_layers, LayerConfig{0, base});
  if (auto v = md.find_uint(p + "vocab_size")) {
    c.vocab_size = *v;
  } else if (const auto* toks = md.find_array("tokenizer.ggml.tokens")) {
    c.vocab_size = toks->items.size();
  }
  return c;
}

}  // namespace llmforge::models
