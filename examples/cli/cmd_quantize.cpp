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
  ThreadPool pool(threads);
  const std::size_t fallbacks = add_tensors(writer, file, std::optional<QuantPlan>(plan), pool);
  writer.write(out, [](std::size_t done, std::size_t total, const std::string& name) { progress_bar(done, total, name); });
  std::fprintf(stderr, "wrote %s (%s, %zu tensors%s)\n", out.c_str(), plan.name.c_str(), file.tensors().size(),
               fallbacks ? ", some with a fallback type" : "");
  return 0;
}

const Registration reg{"quantize", "re-quantize a GGUF model to another type (Q4_0, Q4_K_M, Q8_0, F16, ...)", &cmd_quantize};

}  // namespace
}  // namespace llmforge::cli
