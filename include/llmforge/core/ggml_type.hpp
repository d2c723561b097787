// SPDX-License-Identifier: MIT
// The run-time tensor type codes used by GGUF files, with block size and bytes per block for each.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace llmforge {

/// Tensor element/block type codes as GGUF stores them (values are fixed by the file format).
enum class GgmlType : uint32_t {
  F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
  Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
  IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21, IQ2_S = 22,
  IQ4_XS = 23, I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, IQ1_M = 29, BF16 = 30,
  TQ1_0 = 34, TQ2_0 = 35,
};

/// Storage facts of one GGUF tensor type, independent of whether llmforge computes with it.
struct GgmlTypeInfo {
  GgmlType type;
  std::string_view name;
  uint32_t block_size;       ///< elements per block (1 for plain types)
  uint32_t bytes_per_block;  ///< bytes each block occupies in the file
};

namespace detail {
inline constexpr GgmlTypeInfo kGgmlTypeTable[] = {
    {GgmlType::F32, "F32", 1, 4},          {GgmlType::F16, "F16", 1, 2},
    {GgmlType::Q4_0, "Q4_0", 32, 18},      {GgmlType::Q4_1, "Q4_1", 32, 20},
    {GgmlType::Q5_0, "Q5_0", 32, 22},      {GgmlType::Q5_1, "Q5_1", 32, 24},
    {GgmlType::Q8_0, "Q8_0", 32, 34},      {GgmlType::Q8_1, "Q8_1", 32, 36},
    {GgmlType::Q2_K, "Q2_K", 256, 84},     {GgmlType::Q3_K, "Q3_K", 256, 110},
    {GgmlType::Q4_K, "Q4_K", 256, 144},    {GgmlType::Q5_K, "Q5_K", 256, 176},
    {GgmlType::Q6_K, "Q6_K", 256, 210},    {GgmlType::Q8_K, "Q8_K", 256, 292},
    {GgmlType::IQ2_XXS, "IQ2_XXS", 256, 66}, {GgmlType::IQ2_XS, "IQ2_XS", 256, 74},
    {GgmlType::IQ3_XXS, "IQ3_XXS", 256, 98}, {GgmlType::IQ1_S, "IQ1_S", 256, 50},
    {GgmlType::IQ4_NL, "IQ4_NL", 32, 18},  {GgmlType::IQ3_S, "IQ3_S", 256, 110},
    {GgmlType::IQ2_S, "IQ2_S", 256, 82},   {GgmlType::IQ4_XS, "IQ4_XS", 256, 136},
    {GgmlType::I8, "I8", 1, 1},            {GgmlType::I16, "I16", 1, 2},
    {GgmlType::I32, "I32", 1, 4},          {GgmlType::I64, "I64", 1, 8},
    {GgmlType::F64, "F64", 1, 8},          {GgmlType::IQ1_M, "IQ1_M", 256, 56},
    {GgmlType::BF16, "BF16", 1, 2},        {GgmlType::TQ1_0, "TQ1_0", 256, 54},
    {GgmlType::TQ2_0, "TQ2_0", 256, 66},
};
}  // namespace detail

/// Looks up the storage facts of a raw type code; nothing if the code is unknown to this build.
[[nodiscard]] constexpr std::optional<GgmlTypeInfo> ggml_type_info(uint32_t code) noexcept {
  for (const auto& t : detail::kGgmlTypeTable)
    if (static_cast<uint32_t>(t.type) == code) return t;
  return std::nullopt;
}

/// Storage facts of a known type.
[[nodiscard]] constexpr GgmlTypeInfo ggml_type_info(GgmlType type) noexcept {
  for (const auto& t : detail::kGgmlTypeTable)
    if (t.type == type) return t;
  return {type, "?", 1, 0};
}

/// Name of a type as GGUF tools print it ("Q4_K"), or "type N" for an unknown code.
[[nodiscard]] inline std::string ggml_type_name(uint32_t code) {
  if (auto info = ggml_type_info(code)) return std::string(info->name);
  return "type " + std::to_string(code);
}

/// Parses a type name case-insensitively ("q4_k", "Q8_0", "f16"); nothing if unknown.
[[nodiscard]] inline std::optional<GgmlType> parse_ggml_type(std::string_view name) noexcept {
  for (const auto& t : detail::kGgmlTypeTable) {
    if (t.name.size() != name.size()) continue;
    bool eq = true;
    for (size_t i = 0; i < name.size() && eq; ++i) {
      char a = name[i], b = t.name[i];
      if (a >= 'a' && a <= 'z') a = static_cast<char>(a - 'a' + 'A');
      eq = a == b;
    }
    if (eq) return t.type;
  }
  return std::nullopt;
}

}  // namespace llmforge
