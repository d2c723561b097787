// SPDX-License-Identifier: MIT
// Generator: prompt processing + token-by-token decoding with streaming, stop strings, deadlines and cancellation.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <llmforge/models/model.hpp>
#include <llmforge/sampling/sampler.hpp>
#include <llmforge/tokenizer/tokenizer.hpp>

namespace llmforge {

/// Why generation ended.
enum class StopReason { MaxTokens, EndOfSequence, StopString, ContextFull, Deadline, Cancelled };

[[nodiscard]] inline const char* to_string(StopReason r) noexcept {
  switch (r) {
    case StopReason::MaxTokens: return "max_tokens";
    case StopReason::EndOfSequence: return "eos";
    case StopReason::StopString: return "stop_string";
    case StopReason::ContextFull: return "context_full";
    case StopReason::Deadline: return "deadline";
    case StopReason::Cancelled: return "cancelled";
  }
  return "unknown";
}

/// Per-request generation settings.
struct GenerateOptions {
  std::size_t max_tokens = 128;
  SamplerChain sampler = SamplerChain::greedy();
  std::vector<std::string> stop;                                ///< stop strings (not included in the output)
  bool add_special = true;                                      ///< add BOS/EOS as the vocabulary says
  bool parse_special = false;                                   ///< recognise special-token text in the prompt
  bool stop_at_eos = true;                                      ///< end at an end-of-generation token
  std::optional<std::chrono::steady_clock::time_point> deadline;
  const std::atomic<bool>* cancel = nullptr;                    ///< set to true from another thread to stop early
};

/// Settings of a Generator (its session).
struct GeneratorOptions {
  std::size_t context = 0;  ///< 0 = the model's context length (capped at 4096)
  std::size_t threads = 0;  ///< 0 = all hardware threads
  std::optional<KvType> cache_type_k, cache_type_v;  ///< KV cache types (see SessionOptions)
};

/// What a generate() call produced, with timings.
struct GenerationResult {
  std::vector<int32_t> prompt_tokens;
  std::vector<int32_t> tokens;  ///< generated ids (an EOS that ended generation is not included)
  std::string text;             ///< generated text (stop strings removed)
  StopReason reason = StopReason::MaxTokens;
  double prompt_seconds = 0, generate_seconds = 0;

  [[nodiscard]] double prompt_tps() const { return prompt_seconds > 0 ? prompt_tokens.size() / prompt_seconds : 0; }
  [[nodiscard]] double generate_tps() const { return generate_seconds > 0 ? tokens.size() / generate_seconds : 0; }
};

/// Runs a model on prompts. Owns one session (KV cache + threads); each generate() starts a new sequence.
class Generator {
 public:
  /// Called with each new piece of text as soon as it is final (never a broken UTF-8 sequence).
  using OnText = std::function<void(std::string_view)>;

  Generator(std::shared_ptr<const Model> model, const GeneratorOptions& opt = {})
      : model_(std::move(model)), session_(model_->new_session({opt.context, opt.threads, opt.cache_type_k, opt.cache_type_v})) {
    logits_.resize(model_->config().vocab_size);
  }

  [[nodiscard]] const Model& model() const noexcept { return *model_; }
  [[nodiscard]] Session& session() noexcept { return session_; }

  /// Tokenizes `prompt` and generates a continuation. @throws TokenizerError, ConfigError.
  GenerationResult generate(std::string_view prompt, GenerateOptions opt, const OnText& on_text = {}) {
    const auto& tok = model_->tokenizer();
    auto ids = tok.encode(prompt, tokenizer::EncodeOptions{opt.add_special, opt.parse_special});
    return generate_tokens(ids, std::move(opt), on_text);
  }

  /// Generates a continuation of already tokenized input. @throws ConfigError if the prompt is
  /// empty or longer than the context.
  GenerationResult generate_tokens(std::span<const int32_t> prompt, GenerateOptions opt, const OnText& on_text = {}) {
    using Clock = std::chrono::steady_clock;
    GenerationResult r;
    r.prompt_tokens.assign(prompt.begin(), prompt.end());
    if (prompt.empty()) throw ConfigError("the prompt is empty (no tokens to start from)");
    if (prompt.size() >= session_.kv.capacity())
      throw ConfigError("the prompt has " + std::to_string(prompt.size()) + " tokens but the context holds " +
                        std::to_string(session_.kv.capacity()) + "; shorten the prompt or raise --ctx");
    session_.reset();
    opt.sampler.reset();
    for (int32_t id : prompt) opt.sampler.accept(id);

    const auto t0 = Clock::now();
    model_->forward(session_, prompt, logits_);
    const auto t1 = Clock::now();
    r.prompt_seconds = std::chrono::duration<double>(t1 - t0).count();

    const tokenizer::Tokenizer* tok = model_->has_tokenizer() ? &model_->tokenizer() : nullptr;
    std::optional<tokenizer::StreamDecoder> decoder;
    if (tok) decoder.emplace(*tok, prompt);  // the prompt is context: a continuation keeps its leading space
    StopFilter filter(opt.stop, on_text, r.text);
    r.reason = StopReason::MaxTokens;
    for (std::size_t i = 0; i < opt.max_tokens; ++i) {
      if (opt.cancel && opt.cancel->load()) { r.reason = StopReason::Cancelled; break; }
      if (opt.deadline && Clock::now() >= *opt.deadline) { r.reason = StopReason::Deadline; break; }
      const int32_t id = opt.sampler.sample(logits_);
      if (opt.stop_at_eos && tok && tok->is_eog(id)) { r.reason = StopReason::EndOfSequence; break; }
      r.tokens.push_back(id);
      if (decoder && filter.push(decoder->push(id))) { r.reason = StopReason::StopString; break; }
      if (i + 1 == opt.max_tokens) break;
      if (session_.pos >= session_.kv.capacity()) { r.reason = StopReason::ContextFull; break; }
      model_->forward(session_, std::span<const int32_t>(&id, 1), logits_);
    }
    if (decoder && r.reason != StopReason::StopString) filter.finish(decoder->flush());
    r.generate_seconds = std::chrono::duration<double>(Clock::now() - t1).count();
    return r;
  }

 private:
  /// Holds back text that might be the start of a stop string; emits the rest.
  class StopFilter {
   public:
    StopFilter(const std::vector<std::string>& stops, const OnText& out, std::string& all) : stops_(stops), out_(out), all_(all) {}
    /// Adds text; returns true if a stop string appeared (text before it is emitted, it is not).
    bool push(std::string_view piece) {
      pending_ += piece;
      for (const auto& s : stops_) {
        if (s.empty()) continue;
        if (auto at = pending_.find(s); at != std::string::npos) {
          emit(pending_.substr(0, at));
          pending_.clear();
          return true;
        }
      }
      // Keep the longest suffix that is a prefix of some stop string.
      std::size_t hold = 0;
      for (const auto& s : stops_)
        for (std::size_t k = std::min(s.size() - (s.empty() ? 0 : 1), pending_.size()); k > hold; --k)
          if (pending_.compare(pending_.size() - k, k, s, 0, k) == 0) { hold = k; break; }
      emit(pending_.substr(0, pending_.size() - hold));
      pending_.erase(0, pending_.size() - hold);
      return false;
    }
    void finish(std::string_view rest) {
      if (!push(rest)) {
        emit(pending_);
        pending_.clear();
      }
    }

   private:
    void emit(std::string_view s) {
      if (s.empty()) return;
      all_ += s;
      if (out_) out_(s);
    }
    const std::vector<std::string>& stops_;
    const OnText& out_;
    std::string& all_;
    std::string pending_;
  };

  std::shared_ptr<const Model> model_;
  Session session_;
  std::vector<float> logits_;
};

}  // namespace llmforge
