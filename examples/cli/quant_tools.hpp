// SPDX-License-Identifier: MIT
// Helpers of the quantize/synth subcommands: type plans, row conversion, a progress bar on stderr.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include <llmforge/backend/thread_pool.hpp>
#include <llmforge/core/error.hpp>
#include <llmforge/quant.hpp>
#include <llmforge/quant/plan.hpp>

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

using quant::fit_type;
using quant::llama_file_type;
using quant::parse_quant_plan;
using quant::QuantPlan;

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
