// SPDX-License-Identifier: MIT
// Quantization plans: which block type each matrix of a model gets when a whole model is quantized
// (`llmforge quantize`, `llmforge synth`), including llama-quantize's k-quant "_M" mixes.
#pragma once

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>

#include <llmforge/core/error.hpp>
#include <llmforge/core/ggml_type.hpp>
#include <llmforge/quant/table.hpp>

namespace llmforge::quant {

/// llama.cpp's `general.file_type` code of a quantization, if it has one.
inline std::optional<uint32_t> llama_file_type(const std::string& upper) {
  static const std::pair<const char*, uint32_t> kTable[] = {
      {"F32", 0},    {"F16", 1},     {"Q4_0", 2},   {"Q4_1", 3},    {"Q8_0", 7},    {"Q5_0", 8},  {"Q5_1", 9},
      {"Q2_K", 10},  {"Q3_K", 12},   {"Q3_K_M", 12}, {"Q4_K", 15},  {"Q4_K_M", 15}, {"Q5_K", 17}, {"Q5_K_M", 17},
      {"Q6_K", 18},  {"IQ4_NL", 25}, {"BF16", 32}};
  for (const auto& [n, c] : kTable)
    if (upper == n) return c;
  return std::nullopt;
}

/// llama-quantize's rule for the layers that get more bits in the _M mixes: the first and last eighth
/// of the layers and every third layer in between.
inline bool use_more_bits(std::size_t layer, std::size_t n_layers) {
  return layer < n_layers / 8 || layer >= 7 * n_layers / 8 || (layer >= n_layers / 8 && (layer - n_layers / 8) % 3 == 2);
}

/// A quantization request: the main type, a type for the output (lm_head) matrix (the _M mixes use
/// Q6_K) and, for the k-quant _M mixes, llama-quantize's per-tensor choices (type_for).
struct QuantPlan {
  GgmlType base = GgmlType::F32;
  GgmlType output = GgmlType::F32;
  std::string name;
  bool mix = false;  ///< Q3_K_M, Q4_K_M or Q5_K_M

  /// The type for matrix `name` (a GGUF tensor name such as "blk.3.ffn_down.weight") of a model with
  /// `n_layers` blocks. The mixes follow llama-quantize (LLaMA-style models): Q4_K_M and Q5_K_M store
  /// attn_v and ffn_down as Q6_K in the layers use_more_bits() picks and a fused attn_qkv as Q5_K / Q6_K;
  /// Q3_K_M stores attn_v as Q5_K in the first two layers (Q4_K after), ffn_down as Q5_K in the first
  /// sixteenth (Q4_K after), attn_output and attn_qkv as Q4_K. With `tied_output` (no output.weight:
  /// the token embedding doubles as the output matrix) token_embd gets the output's type.
  [[nodiscard]] GgmlType type_for(const std::string& name, std::size_t n_layers, bool tied_output = false) const {
    if (name == "output.weight" || (tied_output && name == "token_embd.weight")) return output;
    if (!mix) return base;
    std::size_t layer = 0;
    if (name.rfind("blk.", 0) == 0) layer = std::strtoul(name.c_str() + 4, nullptr, 10);
    auto is = [&](const char* role) { return name.find(role) != std::string::npos; };
    if (base == GgmlType::Q3_K) {
      if (is(".attn_v.")) return layer < 2 ? GgmlType::Q5_K : GgmlType::Q4_K;
      if (is(".ffn_down.")) return layer < n_layers / 16 ? GgmlType::Q5_K : GgmlType::Q4_K;
      if (is(".attn_output.") || is(".attn_qkv.")) return GgmlType::Q4_K;
      return base;
    }
    if (is(".attn_v.") || is(".ffn_down.")) return use_more_bits(layer, n_layers) ? GgmlType::Q6_K : base;
    if (is(".attn_qkv.")) return base == GgmlType::Q4_K ? GgmlType::Q5_K : GgmlType::Q6_K;
    return base;
  }
};

/// Parses "q4_0", "Q4_K_M", "f16" ... @throws ConfigError for unknown or non-weight types.
inline QuantPlan parse_quant_plan(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  QuantPlan p;
  p.name = s;
  std::string base = s;
  const bool mix = s.size() > 2 && s.substr(s.size() - 2) == "_M" && s.find("_K") != std::string::npos;
  if (mix) base = s.substr(0, s.size() - 2);
  const auto t = parse_ggml_type(base);
  if (!t || !quant::is_supported(*t) || *t == GgmlType::Q8_1 || *t == GgmlType::Q8_K)
    throw ConfigError("unknown quantization type '" + s +
                      "' (use F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, Q3_K_M, "
                      "Q4_K_M or Q5_K_M)");
  if (mix && *t != GgmlType::Q3_K && *t != GgmlType::Q4_K && *t != GgmlType::Q5_K)
    throw ConfigError("unknown quantization type '" + s + "' (the _M mixes are Q3_K_M, Q4_K_M and Q5_K_M)");
  p.base = *t;
  p.output = mix ? GgmlType::Q6_K : *t;
  p.mix = mix;
  return p;
}

/// The type a matrix with rows of `k` values gets: the wanted type, or Q8_0 / F16 when `k` is not a
/// multiple of its block size (as llama-quantize falls back).
inline GgmlType fit_type(GgmlType want, std::size_t k) {
  if (k % quant::block_size(want) == 0) return want;
  if (k % 32 == 0) return GgmlType::Q8_0;
  return GgmlType::F16;
}

}  // namespace llmforge::quant
