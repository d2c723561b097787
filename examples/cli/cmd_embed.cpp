// SPDX-License-Identifier: MIT
// `llmforge embed`: print the pooled, L2-normalized embedding of a text as one JSON array of floats.
#include <cstdio>
#include <string>
#include <vector>

#include <llmforge/llmforge.hpp>

#include "cli.hpp"
#include "common.hpp"

namespace llmforge::cli {
namespace {

void print_vector(const std::vector<float>& v) {
  std::fputc('[', stdout);
  for (std::size_t i = 0; i < v.size(); ++i) std::printf(i ? ", %.9g" : "%.9g", static_cast<double>(v[i]));
  std::fputc(']', stdout);
}

int cmd_embed(const std::vector<std::string>& args) {
  po::options_description desc("options");
  std::string model_path, pooling = "mean";
  std::vector<std::string> prompts;
  std::size_t threads = 0, ctx = 0;
  desc.add_options()
      ("model,m", po::value(&model_path), "model file (GGUF); default: the shipped models/stories260K.gguf")
      ("prompt,p", po::value(&prompts)->composing()->required(), "text to embed; repeat for a batch (prints a list of arrays)")
      ("pooling", po::value(&pooling)->default_value("mean"), "mean, last or cls")
      ("no-normalize", "print the pooled vector without L2 normalization")
      ("no-bos", "do not add the BOS token")
      ("threads,t", po::value(&threads)->default_value(0), "threads (default: all cores)")
      ("ctx", po::value(&ctx)->default_value(0), "longest text in tokens (default: the model's context, at most 4096)");
  add_kernel_options(desc);
  po::variables_map vm;
  if (!parse_options("embed", "[-m MODEL] -p TEXT [--pooling mean|last|cls]", desc, args, vm)) return 0;
  EmbedOptions opt;
  opt.pooling = parse_pooling(pooling);  // validated before the model is loaded
  opt.normalize = !vm.count("no-normalize");
  opt.add_special = !vm.count("no-bos");

  const auto path = model_path.empty() ? default_model() : std::filesystem::path(model_path);
  LoadOptions load_opt;
  apply_kernel_options(vm, load_opt);
  SessionOptions session_opt{ctx, threads};
  apply_cache_options(vm, session_opt);
  Embedder embedder(load_model(path, load_opt), session_opt);
  const auto out = embedder.embed_batch(prompts, opt);
  if (out.size() == 1) {
    print_vector(out[0].values);
  } else {
    std::fputc('[', stdout);
    for (std::size_t i = 0; i < out.size(); ++i) {
      if (i) std::fputs(", ", stdout);
      print_vector(out[i].values);
    }
    std::fputc(']', stdout);
  }
  std::fputc('\n', stdout);
  return 0;
}

const Registration reg{"embed", "print a text's embedding (pooled, L2-normalized hidden states) as a JSON array", &cmd_embed};

}  // namespace
}  // namespace llmforge::cli
