// SPDX-License-Identifier: MIT
// `llmforge chat`: a multi-turn conversation on standard input. The KV cache is kept between turns,
// so each turn runs only its own new tokens; /reset, /save FILE and /load FILE manage the session.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <llmforge/llmforge.hpp>

#include "cli.hpp"
#include "common.hpp"
#include "sampler_options.hpp"

namespace llmforge::cli {
namespace {

/// A conversation: its messages, and the tokens (with their text) that the session holds for it.
class Conversation {
 public:
  Conversation(chat::ChatTemplate tpl, chat::ChatInputs inputs, std::optional<std::string> system)
      : tpl_(std::move(tpl)), inputs_(std::move(inputs)), system_(std::move(system)) {
    clear();
  }

  void clear() {
    messages_ = nlohmann::ordered_json::array();
    if (system_) messages_.push_back({{"role", "system"}, {"content", *system_}});
    tokens_.clear();
  }

  /// The prompt for the assistant's answer to `user`: the tokens of the conversation so far (as the
  /// session saw them: the answers as generated) followed by the tokens of the text that the template
  /// adds for the new turn, found by rendering the conversation without and with it (as llama.cpp's
  /// chat does). If the template does not extend its earlier rendering, the whole conversation is
  /// tokenized again (the generator still reuses the common prefix).
  std::vector<int32_t> prompt_for(const std::string& user, const tokenizer::Tokenizer& tok) {
    std::optional<std::string> before;
    if (!tokens_.empty()) {
      try {
        inputs_.add_generation_prompt = false;
        before = tpl_.apply(messages_, inputs_);
      } catch (const Error&) {
        before.reset();  // e.g. a template that insists on a user message last: fall back to a full render
      }
    }
    messages_.push_back({{"role", "user"}, {"content", user}});
    inputs_.add_generation_prompt = true;
    const std::string full = tpl_.apply(messages_, inputs_);
    const tokenizer::EncodeOptions enc{false, true};  // the template writes BOS itself; its markers are special tokens
    if (before && full.compare(0, before->size(), *before) == 0) {
      auto more = tok.encode(std::string_view(full).substr(before->size()), enc);
      tokens_.insert(tokens_.end(), more.begin(), more.end());
    } else {
      tokens_ = tok.encode(full, enc);
    }
    return tokens_;
  }

  /// Records the answer: its ids as generated, and the end-of-turn token that ended it (as llama.cpp,
  /// which runs that token with the next input).
  void answered(const GenerationResult& r) {
    messages_.push_back({{"role", "assistant"}, {"content", r.text}});
    tokens_.insert(tokens_.end(), r.tokens.begin(), r.tokens.end());
    if (r.stop_token >= 0) tokens_.push_back(r.stop_token);
  }
  /// Forgets the last user message (its answer failed).
  void drop_last() {
    if (!messages_.empty()) messages_.erase(messages_.size() - 1);
    tokens_.clear();
  }

  [[nodiscard]] const nlohmann::ordered_json& messages() const noexcept { return messages_; }
  void set_messages(nlohmann::ordered_json m, std::vector<int32_t> tokens) {
    messages_ = std::move(m);
    tokens_ = std::move(tokens);
  }
  [[nodiscard]] const std::vector<int32_t>& tokens() const noexcept { return tokens_; }

 private:
  chat::ChatTemplate tpl_;
  chat::ChatInputs inputs_;
  std::optional<std::string> system_;
  nlohmann::ordered_json messages_;
  std::vector<int32_t> tokens_;  ///< the conversation so far as the session sees it
};

/// `/save FILE`: the session's tokens and KV cache (FILE) and the conversation (FILE.json).
void save_chat(const std::filesystem::path& file, const Generator& gen, const Conversation& conv) {
  save_state_file(file, gen.model(), save_state(gen));
  const nlohmann::ordered_json j{{"messages", conv.messages()}, {"tokens", conv.tokens()}};
  io::write_file_atomically(std::filesystem::path(file.string() + ".json"), j.dump(1) + "\n");
}

void load_chat(const std::filesystem::path& file, Generator& gen, Conversation& conv) {
  auto state = load_state_file(file, gen.model());
  const auto side = std::filesystem::path(file.string() + ".json");
  nlohmann::ordered_json j;
  try {
    j = nlohmann::ordered_json::parse(read_text_file(side));
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(side.string() + ": not valid JSON (" + e.what() + ")");
  }
  if (!j.is_object() || !j.contains("messages") || !j["messages"].is_array() || !j.contains("tokens") || !j["tokens"].is_array())
    throw FormatError(side.string() + ": expected {\"messages\": [...], \"tokens\": [...]}");
  std::vector<int32_t> tokens;
  try {
    tokens = j["tokens"].get<std::vector<int32_t>>();
  } catch (const nlohmann::json::exception&) {
    throw FormatError(side.string() + ": \"tokens\" must be a list of token ids");
  }
  restore_state(gen, state);
  conv.set_messages(j["messages"], std::move(tokens));
}

int cmd_chat(const std::vector<std::string>& args) {
  po::options_description desc("options");
  std::string model_path, system, template_path, tokenizer_path;
  std::size_t n_predict = 256, threads = 0, ctx = 0;
  SamplerOptionValues sampler_values;
  desc.add_options()
      ("model,m", po::value(&model_path), (std::string(kModelHelp) + "; default: the shipped models/stories260K.gguf").c_str())
      ("tokenizer", po::value(&tokenizer_path), kTokenizerHelp)
      ("system", po::value(&system), "system prompt")
      ("template", po::value(&template_path), "a Jinja chat template file instead of the model's")
      ("n-predict,n", po::value(&n_predict)->default_value(256), "maximum tokens per answer")
      ("threads,t", po::value(&threads)->default_value(0), "threads (default: all cores)")
      ("ctx", po::value(&ctx)->default_value(0), "context size in tokens (default: the model's, at most 4096)");
  add_sampler_options(desc, sampler_values);
  add_kernel_options(desc);
  po::variables_map vm;
  if (!parse_options("chat", "[-m MODEL] [--system S] [options]   (then one user turn per line; /reset, /save FILE, /load FILE, /quit)",
                     desc, args, vm))
    return 0;

  GenerateOptions gen_opt;
  gen_opt.sampler = SamplerChain(sampler_config(sampler_values));
  gen_opt.max_tokens = n_predict;
  gen_opt.stop = sampler_values.stop;

  const auto path = model_path.empty() ? default_model() : std::filesystem::path(model_path);
  LoadOptions load_opt;
  load_opt.tokenizer = tokenizer_path;
  apply_kernel_options(vm, load_opt);
  auto model = load_model(path, load_opt);
  SessionOptions session_opt{ctx, threads};
  apply_cache_options(vm, session_opt);
  check_fits(*model, session_opt);
  Generator gen(model, session_opt);

  chat::ChatInputs inputs;
  std::optional<chat::ChatTemplate> tpl;
  if (!template_path.empty()) {
    tpl.emplace(read_text_file(template_path), template_path);
  } else {
    std::optional<chat::ModelChatTemplate> m;
    try {
      m = chat::load_chat_template(path);
    } catch (const FormatError&) {
      // Formats without chat metadata (llama2.c checkpoints, .lmf): the llama2 template, said aloud.
      std::fprintf(stderr, "llmforge: %s carries no chat template; using the built-in 'llama2' template\n", path.c_str());
      tpl.emplace(std::string(chat::builtin_template("llama2")), "built-in llama2");
      const auto& t = model->tokenizer();
      if (t.bos_id() >= 0) inputs.bos_token = t.piece(t.bos_id(), true);
      if (t.eos_id() >= 0) inputs.eos_token = t.piece(t.eos_id(), true);
    }
    if (m) {
      inputs.bos_token = m->bos_token;
      inputs.eos_token = m->eos_token;
      tpl.emplace(m->select(false));
    }
  }
  Conversation conv(std::move(*tpl), inputs, vm.count("system") ? std::optional<std::string>(system) : std::nullopt);
  const auto& tok = model->tokenizer();
  const bool interactive = isatty(STDIN_FILENO) != 0;

  std::string line;
  for (;;) {
    if (interactive) {
      std::fputs("> ", stdout);
      std::fflush(stdout);
    }
    if (!std::getline(std::cin, line)) break;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    try {
      if (line == "/quit" || line == "/exit") break;
      if (line == "/reset") {
        conv.clear();
        gen.reset();
        std::fprintf(stderr, "[conversation cleared]\n");
        continue;
      }
      if (line.rfind("/save ", 0) == 0 || line.rfind("/load ", 0) == 0) {
        const std::filesystem::path file = line.substr(6);
        if (line[1] == 's') {
          save_chat(file, gen, conv);
          std::fprintf(stderr, "[saved %zu tokens to %s]\n", gen.cached_tokens().size(), file.c_str());
        } else {
          load_chat(file, gen, conv);
          std::fprintf(stderr, "[loaded %zu tokens, %zu messages from %s]\n", gen.cached_tokens().size(),
                       conv.messages().size(), file.c_str());
        }
        continue;
      }
      if (line.front() == '/') {
        std::fprintf(stderr, "unknown command %s (commands: /reset, /save FILE, /load FILE, /quit)\n", line.c_str());
        continue;
      }
      const auto prompt = conv.prompt_for(line, tok);
      GenerationResult r;
      try {
        r = gen.generate_tokens(prompt, gen_opt, [](std::string_view piece) {
          std::fwrite(piece.data(), 1, piece.size(), stdout);
          std::fflush(stdout);
        });
      } catch (...) {
        conv.drop_last();
        gen.reset();
        throw;
      }
      std::fputc('\n', stdout);
      std::fflush(stdout);
      conv.answered(r);
      std::fprintf(stderr, "[prefill: %zu new tokens, %zu reused; answer: %zu tokens, %.1f tokens/s; stop: %s]\n",
                   r.prompt_processed(), r.prompt_cached, r.tokens.size(), r.generate_tps(), r.reason_text());
    } catch (const Error& e) {
      std::fprintf(stderr, "error: %s\n", e.what());  // the conversation goes on; /reset frees the context
    }
  }
  return 0;
}

const Registration reg{"chat", "interactive multi-turn chat (the KV cache is kept between turns)", &cmd_chat};

}  // namespace
}  // namespace llmforge::cli
