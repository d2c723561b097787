// SPDX-License-Identifier: MIT
// Helpers of the quantize/synth subcommands: type plans, row conversion, a progress bar on stderr.
#pragma once

#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <llmforge/backend/thread_pool.hpp>
#include <llmforge/core/error.hpp>
#include <llmforge/quant.hpp>

namespace llmforge::cli {

/// Redraws `[=====>    ] done/total label` on stderr (only when stderr is a terminal, else one line per 10%).
inline void progress_bar(std::size_t done, std::size_t total, const std::string& label) {
  static int last_decile = -1;
  const double f = total ? static_cast<double>(done) / static_cast<double>(total) : 1.0;
  constexpr int kWidth = 30;
  const int fill = static_cast<int>(f * kWidth);
  std::string bar(static_cast<std::size_t>(fill), '=');
  if (fill < kWidth) bar += '>';
  bar.resize(kWidth, ' ');
  const bool tty = isatty(fileno(stderr));
  const int decile = static_cast<int>(f * 10);
  if (!tty && decile == last_decile && done != total) return;
  last_decile = decile;
  std::fprintf(stderr, "%s[%s] %zu/%zu %-40.40s%s", tty ? "\r" : "", bar.c_str(), done, total, label.c_str(),
               tty && done != total ? "" : "\n");
  std::fflush(stderr);
}

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

/// A quantization request: the main type, and a type for the output (lm_head) matrix (the _M mixes use Q6_K).
struct QuantPlan {
  GgmlType base = GgmlType::F32;
  GgmlType output = GgmlType::F32;
  std::string name;
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
  p.base = *t;
  p.output = mix ? GgmlType::Q6_K : *t;
  return p;
}

/// The type a matrix with rows of `k` values gets: the wanted type, or Q8_0 / F16 when `k` is not a
/// multiple of its block size (as llama-quantize falls back).
inline GgmlType fit_type(GgmlType want, std::size_t k) {
  if (k % quant::block_size(want) == 0) return want;
  if (k % 32 == 0) return GgmlType::Q8_0;
  return GgmlType::F16;
}

/// Converts rows of `k` values from `src_type` to `dst_type` on the pool.
inline void convert_rows(GgmlType src_type, const std::byte* src, GgmlType dst_type, std::byte* dst, std::size_t rows,
                         std::size_t k, ThreadPool& pool) {
  const std::size_t srb = quant::row_bytes(src_type, k), drb = quant::row_bytes(dst_type, k);
  pool.parallel_for(rows, [&](std::size_t r0, std::size_t r1, std::size_t) {
    std::vector<float> row(k);
    for (std::size_t r = r0; r < r1; ++r) {
      quant::dequantize_row(src_type, src + r * srb, row.data(), k);
      quant::quantize_row(dst_type, row.data(), dst + r * drb, k);
    }
  });
}

}  // namespace llmforge::cli
