// SPDX-License-Identifier: MIT
// Helpers of the quantize/synth subcommands: type plans, row conversion, a progress bar on stderr.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include <llmforge/backend/thread_pool.hpp>
#include <llmforge/core/error.hpp>
#include <llmforge/io/gguf_reader.hpp>
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

/// Adds every tensor of `file` to `writer` (GgufWriter or LmfWriter), converting 2-D matrices to the
/// plan's types (none: copied as they are); vectors and unsupported types stay as they are. Returns
/// how many matrices got a fallback type because their rows do not fit the planned one.
template <class Writer>
std::size_t add_tensors(Writer& writer, const io::GgufFile& file, const std::optional<QuantPlan>& plan, ThreadPool& pool) {
  std::size_t n_layers = 0, fallbacks = 0;
  // Block count for the _M mixes' per-layer choices: `<arch>.block_count`, else the highest "blk.N." + 1.
  if (const std::string arch = file.metadata().get_string("general.architecture", ""); !arch.empty())
    n_layers = file.metadata().find_uint(arch + ".block_count").value_or(0);
  if (n_layers == 0)
    for (const auto& t : file.tensors())
      if (t.name.rfind("blk.", 0) == 0) n_layers = std::max<std::size_t>(n_layers, std::strtoul(t.name.c_str() + 4, nullptr, 10) + 1);
  const bool tied_output = file.find_tensor("output.weight") == nullptr;
  for (const auto& t : file.tensors()) {
    const GgmlType src = t.ggml_type();
    const bool matrix = t.shape.size() == 2 && t.name.size() > 7 && t.name.substr(t.name.size() - 7) == ".weight";
    if (!plan || !matrix || !quant::is_supported(src)) {
      writer.add_tensor(t.name, t.shape, src, file.data(t));
      continue;
    }
    const std::size_t k = t.shape[1], rows = t.shape[0];
    const GgmlType want = plan->type_for(t.name, n_layers, tied_output);
    const GgmlType dst = fit_type(want, k);
    if (dst != want) {
      ++fallbacks;
      std::fprintf(stderr, "note: %s has rows of %zu values; stored as %s instead of %s\n", t.name.c_str(), k,
                   std::string(ggml_type_info(dst).name).c_str(), std::string(ggml_type_info(want).name).c_str());
    }
    if (dst == src) {
      writer.add_tensor(t.name, t.shape, src, file.data(t));
      continue;
    }
    const std::byte* data = file.data(t);
    writer.add_tensor(t.name, t.shape, dst, [=, &pool](std::byte* o) { convert_rows(src, data, dst, o, rows, k, pool); });
  }
  return fallbacks;
}

}  // namespace llmforge::cli
