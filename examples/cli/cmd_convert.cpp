// SPDX-License-Identifier: MIT
// `llmforge convert IN OUT [--type TYPE]`: any model file llmforge reads (GGUF, Hugging Face folder,
// .lmf, llama2.c) to GGUF or .lmf (OUT's extension decides), optionally quantizing; written to a
// temporary file and renamed, with a progress bar.
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <llmforge/llmforge.hpp>
#include <llmforge/tokenizer/gguf_export.hpp>

#include "cli.hpp"
#include "common.hpp"
#include "quant_tools.hpp"

namespace llmforge::cli {
namespace {


int cmd_convert(const std::vector<std::string>& args) {
  po::options_description desc("options");
  std::string in, out, type, tokenizer_path;
  std::size_t threads = 0;
  desc.add_options()("input", po::value(&in)->required(), kModelHelp)(
      "output", po::value(&out)->required(), "output file: .gguf or .lmf (the extension picks the format)")(
      "type", po::value(&type), "quantize matrices to this type (F16, Q8_0, Q4_K_M, ...); default: keep the stored types")(
      "tokenizer", po::value(&tokenizer_path), kTokenizerHelp)(
      "threads,t", po::value(&threads)->default_value(0), "threads (default: all cores)");
  po::positional_options_description pos;
  pos.add("input", 1).add("output", 1);
  po::variables_map vm;
  if (!parse_options("convert", "IN OUT [--type TYPE] [--tokenizer FILE]", desc, args, vm, &pos)) return 0;

  const std::string ext = std::filesystem::path(out).extension().string();
  if (ext != ".gguf" && ext != ".lmf") throw ConfigError("convert: output '" + out + "' must end in .gguf or .lmf");
  std::optional<QuantPlan> plan;
  if (!type.empty()) plan = parse_quant_plan(type);

  const auto file = open_model_file(in, tokenizer_path);
  io::Metadata md = file->metadata();
  // A tokenizer that is not in the metadata yet (tokenizer.json of an HF folder, --tokenizer) is
  // stored as GGUF tokenizer keys, so the output is self-contained.
  const bool l2c_tok = !tokenizer_path.empty() && file->format() == "llama2.c" && io::looks_like_llama2c_tokenizer(tokenizer_path);
  std::filesystem::path tok_src;
  if (!tokenizer_path.empty() && !l2c_tok) tok_src = tokenizer_path;
  else if (!md.contains("tokenizer.ggml.model") && file->format() == "safetensors") tok_src = file->path();
  if (!tok_src.empty()) {
    try {
      const auto tok = tokenizer::load_tokenizer(tok_src);
      const std::string arch = md.get_string("general.architecture", "");
      std::string pre = tok.vocab().pre;
      if (pre.empty() && (arch == "gpt2" || arch == "starcoder2")) pre = "gpt-2";
      tokenizer::add_gguf_tokenizer_metadata(tok.vocab(), md, pre);
    } catch (const Error& e) {
      std::fprintf(stderr, "note: the output holds no tokenizer (%s); run it with --tokenizer\n", e.what());
    }
  }
  if (plan) {
    if (auto ft = llama_file_type(plan->name)) md.set("general.file_type", io::Value(uint32_t{*ft}));
    md.set("general.quantization_version", io::Value(uint32_t{2}));
  }
  ThreadPool pool(threads);
  auto progress = [](std::size_t done, std::size_t total, const std::string& name) { progress_bar(done, total, "writing " + name); };
  std::size_t fallbacks = 0;
  if (ext == ".gguf") {
    io::GgufWriter writer;
    writer.set_all(md);
    fallbacks = add_tensors(writer, *file, plan, pool);
    writer.write(out, progress);
  } else {
    io::LmfWriter writer;
    writer.set_all(md);
    fallbacks = add_tensors(writer, *file, plan, pool);
    writer.write(out, progress);
  }
  std::fprintf(stderr, "wrote %s (%s from %s, %zu tensors%s)\n", out.c_str(), ext == ".gguf" ? "GGUF" : ".lmf", file->format().c_str(),
               file->tensors().size(), fallbacks ? ", some with a fallback type" : "");
  return 0;
}

const Registration reg{"convert", "convert a model (GGUF, HF folder, .lmf, llama2.c) to GGUF or .lmf, optionally quantizing",
                       &cmd_convert};

}  // namespace
}  // namespace llmforge::cli
