// SPDX-License-Identifier: MIT
// `llmforge run`: generate text from a prompt, streaming it to stdout.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <llmforge/llmforge.hpp>

#include "cli.hpp"
#include "common.hpp"
#include "quant_tools.hpp"
#include "sampler_options.hpp"

namespace llmforge::cli {
namespace {

int cmd_run(const std::vector<std::string>& args) {
  po::options_description desc("options");
  std::string model_path, prompt, tokenizer_path;
  std::string draft_path;
  std::size_t n_predict = 128, threads = 0, ctx = 0, draft_n = 8, beam_width = 0, n_best = 1;
  float length_penalty = 1.0f;
  SamplerOptionValues sampler_values;
  desc.add_options()
      ("model,m", po::value(&model_path), (std::string(kModelHelp) + "; default: the shipped models/stories260K.gguf").c_str())
      ("tokenizer", po::value(&tokenizer_path), kTokenizerHelp)
      ("prompt,p", po::value(&prompt)->required(), "prompt text")
      ("n-predict,n", po::value(&n_predict)->default_value(128), "maximum number of tokens to generate")
      ("ignore-eos", "keep generating after end-of-generation tokens")
      ("threads,t", po::value(&threads)->default_value(0), "threads (default: all cores)")
      ("ctx", po::value(&ctx)->default_value(0), "context size in tokens (default: the model's, at most 4096)")
      ("quantize", po::value<std::string>(), "quantize float weights while loading (q8_0, q4_0, q4_k, ...)")
      ("no-bos", "do not add the BOS token")
      ("special", "parse special-token text in the prompt")
      ("draft", po::value(&draft_path), "speculative decoding with this draft model (same vocabulary); the output is unchanged")
      ("draft-n", po::value(&draft_n)->default_value(8), "tokens the draft proposes per step (1-64)")
      ("lookup", "speculative decoding without a draft model: guess by prompt lookup (repeated n-grams)")
      ("beam-width", po::value(&beam_width)->default_value(0), "beam search with this many beams (0 = off; sampler options are ignored)")
      ("n-best", po::value(&n_best)->default_value(1), "beam search: hypotheses to list on stderr with their scores")
      ("length-penalty", po::value(&length_penalty)->default_value(1.0f, "1"), "beam search: score = log p / length^penalty");
  add_sampler_options(desc, sampler_values);
  add_kernel_options(desc);
  po::variables_map vm;
  if (!parse_options("run", "[-m MODEL] -p PROMPT [options]", desc, args, vm)) return 0;

  GenerateOptions gen_opt;
  gen_opt.sampler = SamplerChain(sampler_config(sampler_values));  // validates before the model is loaded
  gen_opt.max_tokens = n_predict;
  gen_opt.stop = sampler_values.stop;
  gen_opt.stop_at_eos = !vm.count("ignore-eos");
  gen_opt.add_special = !vm.count("no-bos");
  gen_opt.parse_special = vm.count("special") > 0;

  const auto path = model_path.empty() ? default_model() : std::filesystem::path(model_path);
  LoadOptions load_opt;
  if (vm.count("quantize")) {
    const auto& name = vm["quantize"].as<std::string>();
    load_opt.quantize = parse_ggml_type(name);
    if (!load_opt.quantize) throw ConfigError("--quantize: unknown type '" + name + "' (e.g. q8_0, q4_0, q4_k, q6_k, f16)");
    load_opt.progress = [](std::size_t done, std::size_t total, const std::string& tensor) {
      progress_bar(done, total, "quantizing " + tensor);
    };
  }
  apply_kernel_options(vm, load_opt);
  load_opt.tokenizer = tokenizer_path;
  auto model = load_model(path, load_opt);
  SessionOptions session_opt{ctx, threads};
  apply_cache_options(vm, session_opt);
  check_fits(*model, session_opt);
  if (beam_width > 0) {
    if (vm.count("draft") || vm.count("lookup")) throw ConfigError("beam search does not combine with --draft or --lookup");
    BeamOptions bo{.beam_width = beam_width, .max_tokens = n_predict, .length_penalty = length_penalty, .n_best = n_best,
                   .stop_at_eos = gen_opt.stop_at_eos};
    bo.validate();
    const auto& tok = model->tokenizer();
    const auto ids = tok.encode(prompt, tokenizer::EncodeOptions{gen_opt.add_special, gen_opt.parse_special});
    BeamSearch search(model, session_opt);
    const auto hyps = search.run(ids, bo);
    const std::string text = tok.decode(hyps.front().tokens);
    std::printf("%s%s\n", prompt.c_str(), text.c_str());
    for (std::size_t i = 0; i < hyps.size(); ++i)
      std::fprintf(stderr, "beam %zu: score %.4f, log p %.4f, %zu tokens%s: %s\n", i + 1, hyps[i].score, hyps[i].logprob,
                   hyps[i].tokens.size(), hyps[i].finished ? ", finished" : "", tok.decode(hyps[i].tokens).c_str());
    return 0;
  }
  Generator gen(model, session_opt);
  if (vm.count("draft") && vm.count("lookup")) throw ConfigError("give --draft or --lookup, not both");
  if (draft_n == 0 || draft_n > 64) throw ConfigError("--draft-n must be between 1 and 64 (got " + std::to_string(draft_n) + ")");
  gen_opt.draft_tokens = draft_n;
  if (vm.count("draft")) {
    LoadOptions draft_load;
    apply_kernel_options(vm, draft_load);
    auto draft = load_model(draft_path, draft_load);
    SessionOptions draft_session{std::min(gen.session().kv.capacity(), draft->config().context_len), threads};
    apply_cache_options(vm, draft_session);
    gen_opt.drafter = std::make_shared<DraftModelDrafter>(draft, model->config().vocab_size, draft_session);
  } else if (vm.count("lookup")) {
    gen_opt.drafter = std::make_shared<NgramDrafter>();
  }
  // Like llama.cpp, the prompt is echoed and the continuation streamed after it.
  std::fwrite(prompt.data(), 1, prompt.size(), stdout);
  std::fflush(stdout);
  const auto drafter = gen_opt.drafter;
  auto r = gen.generate(prompt, std::move(gen_opt), [](std::string_view piece) {
    std::fwrite(piece.data(), 1, piece.size(), stdout);
    std::fflush(stdout);
  });
  std::fputc('\n', stdout);
  std::fprintf(stderr,
               "\nprompt: %zu tokens in %.1f ms (%.1f tokens/s); generated: %zu tokens in %.1f ms (%.1f tokens/s); "
               "first token after %.1f ms; stop: %s\n",
               r.prompt_tokens.size(), r.prompt_seconds * 1e3, r.prompt_tps(), r.tokens.size(), r.generate_seconds * 1e3,
               r.generate_tps(), r.time_to_first_token * 1e3, r.reason_text());
  if (drafter)
    std::fprintf(stderr, "speculative decoding (%s): %zu of %zu drafted tokens accepted (acceptance rate %.1f%%)\n",
                 drafter->name().c_str(), r.draft_accepted, r.draft_proposed, 100.0 * r.acceptance_rate());
  return 0;
}

const Registration reg{"run", "generate text from a prompt", &cmd_run};

}  // namespace
}  // namespace llmforge::cli
