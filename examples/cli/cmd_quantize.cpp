// SPDX-License-Identifier: MIT
// `llmforge quantize IN OUT TYPE`: re-quantizes a GGUF model's matrices to TYPE (llama-quantize's
// quantizers, no importance matrix) and writes a new GGUF (temporary file + rename).
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <llmforge/backend/thread_pool.hpp>
#include <llmforge/io/gguf_reader.hpp>
#include <llmforge/io/gguf_writer.hpp>
#include <llmforge/models/registry.hpp>
#include <llmforge/quant.hpp>

#include "cli.hpp"
#include "common.hpp"
#include "quant_tools.hpp"

namespace llmforge::cli {

namespace {

int cmd_quantize(const std::vector<std::string>& args) {
  po::options_description desc("options");
  std::string in, out, type;
  std::size_t threads = 0;
  desc.add_options()("input", po::value(&in)->required(), "input model (GGUF, HF folder, .lmf, llama2.c .bin)")(
      "output", po::value(&out)->required(), "output GGUF file")("type", po::value(&type)->required(),
                                                                   "target type (Q4_0, Q4_K_M, Q8_0, F16, ...)")(
      "threads,t", po::value(&threads)->default_value(0), "threads (default: all cores)");
  po::positional_options_description pos;
  pos.add("input", 1).add("output", 1).add("type", 1);
  po::variables_map vm;
  if (!parse_options("quantize", "IN.gguf OUT.gguf TYPE [-t N]", desc, args, vm, &pos)) return 0;

  const QuantPlan plan = parse_quant_plan(type);
  const auto file_ptr = open_model_file(in);  // GGUF, HF folder, .lmf or llama2.c
  const auto& file = *file_ptr;
  io::GgufWriter writer(file.alignment());
  writer.set_all(file.metadata());
  if (auto ft = llama_file_type(plan.name)) writer.set("general.file_type", io::Value(uint32_t{*ft}));
  writer.set("general.quantization_version", io::Value(uint32_t{2}));
  // Block count for the _M mixes' per-layer choices: `<arch>.block_count`, else the highest "blk.N." + 1.
  std::size_t n_layers = 0;
  if (const std::string arch = file.metadata().get_string("general.architecture", ""); !arch.empty())
    n_layers = file.metadata().find_uint(arch + ".block_count").value_or(0);
  if (n_layers == 0)
    for (const auto& t : file.tensors())
      if (t.name.rfind("blk.", 0) == 0) n_layers = std::max<std::size_t>(n_layers, std::strtoul(t.name.c_str() + 4, nullptr, 10) + 1);
  const bool tied_output = file.find_tensor("output.weight") == nullptr;
  ThreadPool pool(threads);
  std::size_t fallbacks = 0;
  for (const auto& t : file.tensors()) {
    const GgmlType src = t.ggml_type();
    const bool matrix = t.shape.size() == 2 && t.name.size() > 7 && t.name.substr(t.name.size() - 7) == ".weight";
    if (!matrix || !quant::is_supported(src)) {
      writer.add_tensor(t.name, t.shape, src, file.data(t));  // vectors (norms, biases) and unknown types stay as they are
      continue;
    }
    const std::size_t k = t.shape[1], rows = t.shape[0];
    const GgmlType want = plan.type_for(t.name, n_layers, tied_output);
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
    writer.add_tensor(t.name, t.shape, dst,
                      [=, &pool](std::byte* o) { convert_rows(src, data, dst, o, rows, k, pool); });
  }
  writer.write(out, [](std::size_t done, std::size_t total, const std::string& name) { progress_bar(done, total, name); });
  std::fprintf(stderr, "wrote %s (%s, %zu tensors%s)\n", out.c_str(), plan.name.c_str(), file.tensors().size(),
               fallbacks ? ", some with a fallback type" : "");
  return 0;
}

const Registration reg{"quantize", "re-quantize a GGUF model to another type (Q4_0, Q4_K_M, Q8_0, F16, ...)", &cmd_quantize};

}  // namespace
}  // namespace llmforge::cli
