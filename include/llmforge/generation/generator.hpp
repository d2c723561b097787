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
#include <llmforge/generation/speculative.hpp>
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
  /// Reuse the longest prefix of the prompt that the Generator's session already holds (from the
  /// previous call's prompt and output) instead of processing it again.
  bool reuse_prefix = true;
  /// Prompts are processed in chunks of this many tokens; the deadline and cancellation are checked
  /// between chunks.
  std::size_t prefill_chunk = 512;
  /// Speculative decoding: guesses of up to `draft_tokens` tokens per step, verified by the target in
  /// one pass. The output is the same as without a drafter: every token is still sampled from the
  /// target's logits, with the same random draws, and a guess is kept only when it equals the sample.
  /// (The verifying pass runs several rows at once, so its floating-point summation order can differ
  /// from a one-token pass: at a near-tie of the top two logits, within ~1e-6, greedy could pick the
  /// other token.)
  std::shared_ptr<Drafter> drafter;
  std::size_t draft_tokens = 8;
  /// Context shift: when the context is full, keep the first `shift_keep` tokens, drop the oldest half
  /// of the rest and go on (keys are re-rotated to their new positions) instead of stopping with
  /// ContextFull. The dropped tokens are forgotten: what follows can differ from a model that saw them.
  bool context_shift = false;
  std::size_t shift_keep = 0;

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
  std::size_t prompt_cached = 0;   ///< prompt tokens reused from the session's cache (not processed again)
  std::size_t draft_proposed = 0;  ///< speculative decoding: guessed tokens verified
  std::size_t draft_accepted = 0;  ///< ... and kept
  std::size_t context_shifts = 0;  ///< times the context was shifted (GenerateOptions::context_shift)
  double prompt_seconds = 0;     ///< prefill: the forward passes over the (uncached part of the) prompt
  double generate_seconds = 0;   ///< from the end of prefill to the end (sampling + decode steps)
  double time_to_first_token = 0;  ///< from the call to the first sampled token (prefill included)

  [[nodiscard]] const char* reason_text() const noexcept { return to_string(reason); }
  /// Prefill speed, processed prompt tokens per second.
  [[nodiscard]] double prompt_tps() const { return prompt_seconds > 0 ? prompt_processed() / prompt_seconds : 0; }
  /// Decode speed, generated tokens per second.
  [[nodiscard]] double generate_tps() const { return generate_seconds > 0 ? tokens.size() / generate_seconds : 0; }
  /// Prompt tokens that went through the model.
  [[nodiscard]] std::size_t prompt_processed() const { return prompt_tokens.size() - prompt_cached; }
  /// Share of the drafter's guesses that were kept (0 without one).
  [[nodiscard]] double acceptance_rate() const { return draft_proposed ? double(draft_accepted) / draft_proposed : 0; }
};

/// Called with each new piece of text as soon as it is final (never a broken UTF-8 sequence, never
/// bytes that might still turn out to start a stop string).
using OnText = std::function<void(std::string_view)>;

/// Gives samplers what they need to know about a vocabulary (DRY's text breakers), resolving each
/// breaker list once and sharing it between the requests that use it.
class VocabularyBinder {
 public:
  void bind(SamplerChain& s, const tokenizer::Tokenizer* tok) {
    if (!s.needs_vocabulary() || !tok) return;
    const auto& breakers = s.config().dry_sequence_breakers;
    if (!cache_ || key_ != breakers) {
      VocabularyText v{tok->vocab_size(), [tok](int32_t id) { return tok->piece(id, true); },
                       [tok](std::string_view text) { return tok->encode(text, tokenizer::EncodeOptions{false, false}); }};
      cache_ = std::make_shared<const DryBreakers>(breakers, v);
      key_ = breakers;
    }
    s.set_dry_breakers(cache_);
  }

 private:
  std::vector<std::string> key_;
  std::shared_ptr<const DryBreakers> cache_;
};

/// The decoding state of one sequence: its sampler, stop conditions, streamed text and result. The
/// Generator and Batch drive it the same way: before_step() before sampling, then take() with each
/// sampled token, finish() at the end.
class SequenceRun {
 public:
  using Clock = std::chrono::steady_clock;

  /// Validates the request and prepares its sampler for `prompt`.
  /// @throws ConfigError for an empty prompt or bad settings.
  SequenceRun(std::span<const int32_t> prompt, GenerateOptions opt, OnText on_text, const tokenizer::Tokenizer* tok,
              VocabularyBinder& binder)
      : opt_(std::move(opt)), on_text_(std::move(on_text)), stop_(opt_.stop_conditions(), tok, prompt), t0_(Clock::now()) {
    if (prompt.empty()) throw ConfigError("the prompt is empty (no tokens to start from)");
    if (opt_.prefill_chunk == 0) throw ConfigError("prefill_chunk must be at least 1");
    binder.bind(opt_.sampler, tok);
    opt_.sampler.reset();  // a new sequence: the seed's stream from its start, penalties see only this prompt
    for (int32_t id : prompt) opt_.sampler.accept(id);
    r_.prompt_tokens.assign(prompt.begin(), prompt.end());
  }

  [[nodiscard]] GenerateOptions& options() noexcept { return opt_; }
  [[nodiscard]] GenerationResult& result() noexcept { return r_; }
  [[nodiscard]] std::size_t generated() const noexcept { return stop_.generated(); }
  [[nodiscard]] bool done() const noexcept { return done_; }
  [[nodiscard]] Clock::time_point started() const noexcept { return t0_; }

  /// Whether the sequence must end before its next step (cancellation, deadline, token budget).
  bool before_step() {
    if (done_) return true;
    if (auto why = stop_.before_step()) end(*why);
    return done_;
  }
  /// Samples a token from `logits`, records and streams it. Returns it, or -1 when the sequence ended
  /// instead (an end-of-generation or stop token, which is not part of the output).
  int32_t sample_and_take(std::span<const float> logits) {
    const int32_t id = opt_.sampler.sample(logits);
    if (r_.tokens.empty()) r_.time_to_first_token = std::chrono::duration<double>(Clock::now() - t0_).count();
    const auto why = stop_.on_token(id, piece_);
    if (why == StopReason::EndOfSequence || why == StopReason::StopToken) {
      end(*why);
      return -1;
    }
    r_.tokens.push_back(id);
    const StepLogprobs* lp = opt_.sampler.last_logprobs();
    if (lp) r_.logprobs.push_back(*lp);
    if (opt_.on_token) opt_.on_token(id, lp);
    emit();
    if (why) end(*why);
    else if (stop_.generated() >= opt_.max_tokens) end(StopReason::MaxTokens);
    return id;
  }
  /// Ends the sequence for `why` (if it has not ended already).
  void end(StopReason why) {
    if (done_) return;
    done_ = true;
    r_.reason = why;
  }
  /// Releases held-back text and fills in the result's stop details; call once at the end.
  GenerationResult& finish() {
    done_ = true;
    if (stop_.finish(piece_)) r_.reason = StopReason::StopString;
    emit();
    r_.stop_string = stop_.matched_stop();
    r_.stop_token = stop_.stop_token();
    return r_;
  }

 private:
  void emit() {
    if (piece_.empty()) return;
    r_.text += piece_;
    if (on_text_) on_text_(piece_);
    piece_.clear();
  }

  GenerateOptions opt_;
  OnText on_text_;
  StopTracker stop_;
  GenerationResult r_;
  std::string piece_;
  Clock::time_point t0_;
  bool done_ = false;
};

/// Runs a model on prompts. Owns one session (KV cache + threads); each generate() starts a new sequence,
/// reusing what the cache holds of its prompt.
class Generator {
 public:
  using OnText = llmforge::OnText;

  Generator(std::shared_ptr<const Model> model, const GeneratorOptions& opt = {})
      : model_(std::move(model)), session_(model_->new_session(opt)) {
    logits_.resize(model_->config().vocab_size);
  }

  [[nodiscard]] const Model& model() const noexcept { return *model_; }
  [[nodiscard]] Session& session() noexcept { return session_; }
  [[nodiscard]] const Session& session() const noexcept { return session_; }

  /// Tokenizes `prompt` and generates a continuation. @throws TokenizerError, ConfigError.
  GenerationResult generate(std::string_view prompt, GenerateOptions opt, const OnText& on_text = {}) {
    const auto& tok = model_->tokenizer();
    auto ids = tok.encode(prompt, tokenizer::EncodeOptions{opt.add_special, opt.parse_special});
    return generate_tokens(ids, std::move(opt), on_text);
  }

  /// Generates a continuation of already tokenized input.
  ///
  /// With `reuse_prefix` (the default), the longest prefix of `prompt` that the session already holds
  /// from the previous call (its prompt and generated tokens) is not processed again: a chat's next
  /// turn, or a request sharing a system prompt, runs only its new tokens. With a `drafter`, each step
  /// verifies the drafter's guesses in one forward pass (speculative decoding); the tokens are those
  /// the sampler would have drawn without it, only faster (see GenerateOptions::drafter).
  ///
  /// Cancellation and the deadline are checked before the prefill, between prefill chunks and before
  /// every token, so at most one token (or one chunk of the prompt) follows a request to stop.
  /// @throws ConfigError if the prompt is empty or longer than the context, or the sampler rejects it.
  GenerationResult generate_tokens(std::span<const int32_t> prompt, GenerateOptions opt, const OnText& on_text = {}) {
    using Clock = std::chrono::steady_clock;
    if (prompt.size() >= session_.kv.capacity())
      throw ConfigError("the prompt has " + std::to_string(prompt.size()) + " tokens but the context holds " +
                        std::to_string(session_.kv.capacity()) + "; shorten the prompt or raise --ctx");
    SequenceRun seq(prompt, std::move(opt), on_text, model_->has_tokenizer() ? &model_->tokenizer() : nullptr, binder_);
    const GenerateOptions& o = seq.options();
    GenerationResult& r = seq.result();

    // Prefill: keep the cached prefix (at least the last prompt token is run again, for its logits).
    const std::size_t keep = o.reuse_prefix && !prompt.empty() ? std::min(common_prefix(cached_, prompt), prompt.size() - 1) : 0;
    rewind(keep);
    r.prompt_cached = keep;
    const auto prefill_start = Clock::now();
    for (std::size_t at = keep; at < prompt.size() && !seq.before_step(); at += o.prefill_chunk)
      run(prompt.subspan(at, std::min(o.prefill_chunk, prompt.size() - at)), false);
    auto t1 = Clock::now();
    r.prompt_seconds = std::chrono::duration<double>(t1 - prefill_start).count();

    // Decode. `rows` logits rows are pending: row j follows the j-th token of the last forward pass.
    // Without a drafter there is one; with one, the pass ran [last token, guesses...] and sampling
    // walks the rows while the sampled token equals the next guess.
    const std::size_t V = model_->config().vocab_size;
    std::vector<int32_t> guesses;
    std::size_t rows = 1;
    while (!seq.done()) {
      const std::size_t base = session_.pos - rows;  // position of the first token of the last pass
      int32_t id = -1;
      std::size_t j = 0;
      for (; j < rows && !seq.before_step(); ++j) {
        id = seq.sample_and_take(std::span<const float>(logits_.data() + j * V, V));
        if (seq.done() || j + 1 == rows || id != guesses[j]) break;
        ++r.draft_accepted;  // the guess was right: its row is valid, go on sampling
      }
      // The cache is valid up to the token after which `id` was sampled; drop what follows.
      rewind(std::min(base + j + 1, session_.pos));
      if (seq.done()) break;
      if (session_.pos >= session_.kv.capacity()) {
        if (!o.context_shift || o.shift_keep + 2 > session_.pos) {
          seq.end(StopReason::ContextFull);
          break;
        }
        const std::size_t discard = (session_.pos - o.shift_keep) / 2;
        model_->shift_context(session_.kv, session_.pos, o.shift_keep, discard);
        cached_.erase(cached_.begin() + static_cast<std::ptrdiff_t>(o.shift_keep),
                      cached_.begin() + static_cast<std::ptrdiff_t>(o.shift_keep + discard));
        session_.pos -= discard;
        ++r.context_shifts;
      }
      guesses.clear();
      if (o.drafter) {
        const std::size_t room = session_.kv.capacity() - session_.pos - 1;
        const std::size_t left = o.max_tokens - seq.generated() - 1;
        const std::size_t want = std::min({o.draft_tokens, room, left});
        if (want > 0) {
          cached_.push_back(id);  // the drafter sees the whole sequence, `id` included
          guesses = o.drafter->propose(cached_, want);
          cached_.pop_back();
          if (guesses.size() > want) guesses.resize(want);
          r.draft_proposed += guesses.size();
        }
      }
      step_tokens_.assign(1, id);
      step_tokens_.insert(step_tokens_.end(), guesses.begin(), guesses.end());
      run(step_tokens_, !guesses.empty());
      rows = step_tokens_.size();
    }
    seq.finish();
    r.generate_seconds = std::chrono::duration<double>(Clock::now() - t1).count();
    return std::move(r);
  }

  /// The tokens whose keys and values the session holds (positions 0 .. session().pos - 1).
  [[nodiscard]] std::span<const int32_t> cached_tokens() const noexcept { return cached_; }
  /// Forgets the cached sequence: the next call processes its whole prompt.
  void reset() noexcept { rewind(0); }
  /// Declares that the session holds `tokens` (after restoring a saved KV cache into it).
  /// @throws ConfigError if that is more than the session's position.
  void assume_cached(std::span<const int32_t> tokens) {
    if (tokens.size() != session_.pos)
      throw ConfigError("assume_cached: " + std::to_string(tokens.size()) + " tokens given but the session holds " +
                        std::to_string(session_.pos) + " positions");
    cached_.assign(tokens.begin(), tokens.end());
  }

 private:
  /// Runs `tokens` after the cached ones (logits of every token when `all`, else of the last).
  void run(std::span<const int32_t> tokens, bool all) {
    const std::size_t V = model_->config().vocab_size, n = all ? tokens.size() : 1;
    if (logits_.size() < n * V) logits_.resize(n * V);
    model_->forward(session_, tokens, std::span<float>(logits_.data(), n * V), all);
    cached_.insert(cached_.end(), tokens.begin(), tokens.end());
  }
  /// Keeps only the first `n` cached positions.
  void rewind(std::size_t n) noexcept {
    session_.pos = n;
    cached_.resize(n);
  }

  std::shared_ptr<const Model> model_;
  Session session_;
  std::vector<float> logits_;
  std::vector<int32_t> cached_;       ///< the tokens at positions 0 .. session_.pos - 1
  std::vector<int32_t> step_tokens_;  ///< one decode pass's input: the last token and any guesses
  VocabularyBinder binder_;
};

}  // namespace llmforge
