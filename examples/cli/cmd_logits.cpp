// SPDX-License-Identifier: MIT
// `llmforge logits`: run one forward pass and write float32 logits (last position, or all positions).
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <llmforge/llmforge.hpp>

#include "cli.hpp"
#include "common.hpp"

namespace llmforge::cli {
namespace {

int cmd_logits(const std::vector<std::string>& args) {
  po::options_description desc("options");
  std::string model_path, prompt, tokens, out, tokenizer_path;
  std::size_t threads = 0, ctx = 0;
  desc.add_options()
      ("model,m", po::value(&model_path)->required(), kModelHelp)
      ("tokenizer", po::value(&tokenizer_path), kTokenizerHelp)
      ("prompt,p", po::value(&prompt), "prompt text (tokenized with BOS, like llama.cpp)")
      ("tokens", po::value(&tokens), "token ids, e.g. \"1 2 3\"")
      ("all", "write the logits of every position (row-major), not just the last")
      ("output,o", po::value(&out)->required(), "output file: float32 little-endian")
      ("threads,t", po::value(&threads)->default_value(0), "threads (default: all cores)")
      ("ctx", po::value(&ctx)->default_value(0), "context size (default: the model's, at most 4096)");
  add_kernel_options(desc);
  po::variables_map vm;
  if (!parse_options("logits", "-m MODEL (-p PROMPT | --tokens \"1 2 3\") [--all] -o OUT.f32", desc, args, vm)) return 0;
  if (vm.count("prompt") == vm.count("tokens")) throw ConfigError("give exactly one of -p PROMPT or --tokens \"1 2 3\"");

  LoadOptions load_opt{.load_tokenizer = vm.count("prompt") > 0};
  load_opt.tokenizer = tokenizer_path;
  apply_kernel_options(vm, load_opt);
  auto model = load_model(model_path, load_opt);
  const auto ids = vm.count("tokens") ? parse_token_list(tokens) : model->tokenizer().encode(prompt);
  if (ids.empty()) throw ConfigError("no tokens to evaluate");
  const bool all = vm.count("all") > 0;
  if (ctx == 0) ctx = std::max<std::size_t>(ids.size(), std::min<std::size_t>(model->config().context_len, 4096));
  SessionOptions session_opt{ctx, threads};
  apply_cache_options(vm, session_opt);
  Session s = model->new_session(session_opt);
  std::vector<float> logits((all ? ids.size() : 1) * model->config().vocab_size);
  model->forward(s, ids, logits, all);

  const std::string tmp = out + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) throw IoError(out + ": cannot open for writing");
    f.write(reinterpret_cast<const char*>(logits.data()), static_cast<std::streamsize>(logits.size() * sizeof(float)));
    if (!f) throw IoError(out + ": write failed");
  }
  std::filesystem::rename(tmp, out);
  std::fprintf(stderr, "wrote %zu x %zu logits to %s\n", all ? ids.size() : std::size_t{1}, model->config().vocab_size, out.c_str());
  return 0;
}

const Registration reg{"logits", "run a forward pass and write float32 logits", &cmd_logits};

}  // namespace
}  // namespace llmforge::cli
