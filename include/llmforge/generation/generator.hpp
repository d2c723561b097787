// SPDX-License-Identifier: MIT
// Generator: prompt processing + token-by-token decoding with streaming, stop conditions and timings.
#pragma once

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

#include <llmforge/generation/cancel_token.hpp>
#include <llmforge/generation/stop_conditions.hpp>
#include <llmforge/models/model.hpp>
#include <llmforge/sampling/sampler.hpp>
#include <llmforge/tokenizer/tokenizer.hpp>

namespace llmforge {

/// Per-request generation settings. To get log-probabilities, ask the sampler:
/// `.sampler = SamplerChain{}.logprobs(5)`.
struct GenerateOptions {
  std::size_t max_tokens = 128;
  SamplerChain sampler = SamplerChain::greedy();
  std::vector<std::string> stop;                                ///< stop strings (neither they nor what follows is output)
  bool add_special = true;                                      ///< add BOS/EOS as the vocabulary says
  bool parse_special = false;                                   ///< recognise special-token text in the prompt
  bool stop_at_eos = true;                                      ///< end at any end-of-generation token (EOS, EOT, EOM, ...)
  std::optional<std::chrono::steady_clock::time_point> deadline;  ///< checked before every token
  CancelToken cancel;                                           ///< checked before every token (`&atomic_bool` works too)
  std::vector<int32_t> stop_tokens;                             ///< further ids that end generation
  /// Called for each output token, before its text is streamed, with its log-probabilities (nullptr
  /// unless the sampler records them): what a server needs to stream per-token data.
  std::function<void(int32_t id, const StepLogprobs* logprobs)> on_token;

  /// The stop-related part, as a per-sequence StopTracker takes it.
  [[nodiscard]] StopConditions stop_conditions() const {
    return StopConditions{max_tokens, stop, stop_at_eos, stop_tokens, deadline, cancel};
  }
};

/// Settings of a Generator: those of the session it owns (context, threads, KV cache types).
using GeneratorOptions = SessionOptions;

/// What a generate() call produced, why it stopped, and how long it took.
struct GenerationResult {
  std::vector<int32_t> prompt_tokens;
  std::vector<int32_t> tokens;  ///< generated ids (an end-of-generation or stop token that ended generation is not included)
  std::string text;             ///< generated text (ends before the first stop string)
  StopReason reason = StopReason::MaxTokens;
  std::string stop_string;       ///< the stop string that ended generation, if any
  int32_t stop_token = -1;       ///< the end-of-generation / stop token that ended generation, if any
  std::vector<StepLogprobs> logprobs;  ///< one per entry of `tokens` when the sampler records them
  double prompt_seconds = 0;     ///< prefill: the forward pass over the prompt
  double generate_seconds = 0;   ///< from the end of prefill to the end (sampling + decode steps)
  double time_to_first_token = 0;  ///< from the call to the first sampled token (prefill included)

  [[nodiscard]] const char* reason_text() const noexcept { return to_string(reason); }
  /// Prefill speed, prompt tokens per second.
  [[nodiscard]] double prompt_tps() const { return prompt_seconds > 0 ? prompt_tokens.size() / prompt_seconds : 0; }
  /// Decode speed, generated tokens per second.
  [[nodiscard]] double generate_tps() const { return generate_seconds > 0 ? tokens.size() / generate_seconds : 0; }
};

/// Runs a model on prompts. Owns one session (KV cache + threads); each generate() starts a new sequence.
class Generator {
 public:
  /// Called with each new piece of text as soon as it is final (never a broken UTF-8 sequence, never
  /// bytes that might still turn out to start a stop string).
  using OnText = std::function<void(std::string_view)>;

  Generator(std::shared_ptr<const Model> model, const GeneratorOptions& opt = {})
      : model_(std::move(model)), session_(model_->new_session(opt)) {
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

  /// Generates a continuation of already tokenized input. Cancellation and the deadline are checked
  /// before the prefill and before every token, so at most one token follows a request to stop.
  /// @throws ConfigError if the prompt is empty or longer than the context, or the sampler rejects it.
  GenerationResult generate_tokens(std::span<const int32_t> prompt, GenerateOptions opt, const OnText& on_text = {}) {
    using Clock = std::chrono::steady_clock;
    const auto t0 = Clock::now();
    GenerationResult r;
    r.prompt_tokens.assign(prompt.begin(), prompt.end());
    if (prompt.empty()) throw ConfigError("the prompt is empty (no tokens to start from)");
    if (prompt.size() >= session_.kv.capacity())
      throw ConfigError("the prompt has " + std::to_string(prompt.size()) + " tokens but the context holds " +
                        std::to_string(session_.kv.capacity()) + "; shorten the prompt or raise --ctx");
    const tokenizer::Tokenizer* tok = model_->has_tokenizer() ? &model_->tokenizer() : nullptr;
    prepare_sampler(opt.sampler, tok);
    session_.reset();
    opt.sampler.reset();  // a new sequence: the seed's stream from its start, penalties see only this prompt
    for (int32_t id : prompt) opt.sampler.accept(id);
    StopTracker stop(opt.stop_conditions(), tok, prompt);
    std::string piece;
    const auto emit = [&] {
      if (piece.empty()) return;
      r.text += piece;
      if (on_text) on_text(piece);
      piece.clear();
    };

    auto t1 = Clock::now();
    if (auto why = stop.before_step(t1)) {
      r.reason = *why;
      return r;
    }
    model_->forward(session_, prompt, logits_);
    const auto prefill_start = t1;
    t1 = Clock::now();
    r.prompt_seconds = std::chrono::duration<double>(t1 - prefill_start).count();
    r.reason = StopReason::MaxTokens;
    for (;;) {
      if (auto why = stop.before_step()) {
        r.reason = *why;
        break;
      }
      const int32_t id = opt.sampler.sample(logits_);
      if (r.tokens.empty()) r.time_to_first_token = std::chrono::duration<double>(Clock::now() - t0).count();
      const auto why = stop.on_token(id, piece);
      if (why == StopReason::EndOfSequence || why == StopReason::StopToken) {
        r.reason = *why;
        break;
      }
      r.tokens.push_back(id);
      const StepLogprobs* lp = opt.sampler.last_logprobs();
      if (lp) r.logprobs.push_back(*lp);
      if (opt.on_token) opt.on_token(id, lp);
      emit();
      if (why) {
        r.reason = *why;
        break;
      }
      if (stop.generated() >= opt.max_tokens) break;  // no forward pass for a token nobody will sample
      if (session_.pos >= session_.kv.capacity()) {
        r.reason = StopReason::ContextFull;
        break;
      }
      model_->forward(session_, std::span<const int32_t>(&id, 1), logits_);
    }
    if (stop.finish(piece)) r.reason = StopReason::StopString;
    emit();
    r.stop_string = stop.matched_stop();
    r.stop_token = stop.stop_token();
    r.generate_seconds = std::chrono::duration<double>(Clock::now() - t1).count();
    return r;
  }

 private:
  /// Gives the sampler what it needs to know about the vocabulary (DRY's text breakers), resolving
  /// each breaker list once per Generator.
  void prepare_sampler(SamplerChain& s, const tokenizer::Tokenizer* tok) {
    if (!s.needs_vocabulary() || !tok) return;
    const auto& breakers = s.config().dry_sequence_breakers;
    if (!dry_cache_ || dry_cache_key_ != breakers) {
      VocabularyText v{tok->vocab_size(), [tok](int32_t id) { return tok->piece(id, true); },
                       [tok](std::string_view text) { return tok->encode(text, tokenizer::EncodeOptions{false, false}); }};
      dry_cache_ = std::make_shared<const DryBreakers>(breakers, v);
      dry_cache_key_ = breakers;
    }
    s.set_dry_breakers(dry_cache_);
  }

  std::shared_ptr<const Model> model_;
  Session session_;
  std::vector<float> logits_;
  std::vector<std::string> dry_cache_key_;
  std::shared_ptr<const DryBreakers> dry_cache_;
};

}  // namespace llmforge
