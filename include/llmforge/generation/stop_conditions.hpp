// SPDX-License-Identifier: MIT
// Stop conditions of one sequence (end-of-generation tokens, stop strings, max tokens, deadline,
// cancellation) and StopTracker, the per-sequence state that applies them while decoding text.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <llmforge/generation/cancel_token.hpp>
#include <llmforge/generation/stop_string_filter.hpp>
#include <llmforge/tokenizer/tokenizer.hpp>

namespace llmforge {

/// Why generation ended.
enum class StopReason {
  MaxTokens,      ///< `max_tokens` tokens were generated
  EndOfSequence,  ///< an end-of-generation token of the vocabulary (EOS, EOT, EOM, end-of-turn markers)
  StopString,     ///< a stop string appeared in the text
  StopToken,      ///< one of the caller's `stop_tokens`
  ContextFull,    ///< the session's context is full
  Deadline,       ///< the wall-clock deadline passed
  Cancelled,      ///< the CancelToken fired
};

[[nodiscard]] inline const char* to_string(StopReason r) noexcept {
  switch (r) {
    case StopReason::MaxTokens: return "max_tokens";
    case StopReason::EndOfSequence: return "eos";
    case StopReason::StopString: return "stop_string";
    case StopReason::StopToken: return "stop_token";
    case StopReason::ContextFull: return "context_full";
    case StopReason::Deadline: return "deadline";
    case StopReason::Cancelled: return "cancelled";
  }
  return "unknown";
}
inline std::ostream& operator<<(std::ostream& os, StopReason r) { return os << to_string(r); }

/// When a sequence stops. The parts of GenerateOptions that a batch scheduler or a server also needs
/// per sequence.
struct StopConditions {
  std::size_t max_tokens = 128;
  std::vector<std::string> stop;       ///< stop strings (neither they nor anything after them is output)
  bool stop_at_eos = true;             ///< end at any end-of-generation token of the vocabulary
  std::vector<int32_t> stop_tokens;    ///< further ids that end generation (not output)
  std::optional<std::chrono::steady_clock::time_point> deadline;
  CancelToken cancel;
};

/// Applies StopConditions to one sequence while turning its tokens into text: decodes each token
/// (never a broken UTF-8 character), holds back bytes that might start a stop string, counts tokens and
/// checks the deadline and the cancel flag. One per sequence; a batch keeps one next to each sampler.
class StopTracker {
 public:
  using Clock = std::chrono::steady_clock;

  /// `tok` may be null (no text: stop strings and end-of-generation ids are then not checked).
  /// `context` (the prompt) is not output but decides the first piece's leading space.
  StopTracker(StopConditions c, const tokenizer::Tokenizer* tok, std::span<const int32_t> context = {})
      : c_(std::move(c)), tok_(tok), filter_(c_.stop) {
    if (tok_) decoder_.emplace(*tok_, context);
  }

  /// Checks what can end a sequence before its next token is sampled: cancellation, the deadline and
  /// the token budget. Call it before every step; the check costs one atomic load and one clock read.
  [[nodiscard]] std::optional<StopReason> before_step(Clock::time_point now = Clock::now()) const {
    if (c_.cancel.stop_requested()) return StopReason::Cancelled;
    if (c_.deadline && now >= *c_.deadline) return StopReason::Deadline;
    if (generated_ >= c_.max_tokens) return StopReason::MaxTokens;
    return std::nullopt;
  }

  /// Feeds a sampled token and appends the text that became final to `out`. Returns the reason if the
  /// sequence ends with it. An end-of-generation or stop token is neither decoded nor counted; a token
  /// that completes a stop string is counted, but its text from the stop string on is not output.
  std::optional<StopReason> on_token(int32_t id, std::string& out) {
    if (c_.stop_at_eos && tok_ && tok_->is_eog(id)) return stop_at(StopReason::EndOfSequence, id);
    for (int32_t s : c_.stop_tokens)
      if (s == id) return stop_at(StopReason::StopToken, id);
    ++generated_;
    if (decoder_ && filter_.push(decoder_->push(id), out)) return StopReason::StopString;
    return std::nullopt;
  }

  /// The sequence ended for a reason other than a stop string: releases held-back text into `out`.
  /// Returns true if the last bytes (an incomplete character flushed) completed a stop string after all.
  bool finish(std::string& out) {
    if (filter_.stopped()) return true;
    const bool hit = decoder_ && filter_.push(decoder_->flush(), out);
    filter_.finish(out);
    return hit;
  }

  [[nodiscard]] const StopConditions& conditions() const noexcept { return c_; }
  /// Tokens counted so far (the ones that are part of the output).
  [[nodiscard]] std::size_t generated() const noexcept { return generated_; }
  /// The stop string that ended the sequence, or empty.
  [[nodiscard]] const std::string& matched_stop() const noexcept { return filter_.matched(); }
  /// The end-of-generation or stop token that ended the sequence, or -1.
  [[nodiscard]] int32_t stop_token() const noexcept { return stop_token_; }

 private:
  std::optional<StopReason> stop_at(StopReason r, int32_t id) {
    stop_token_ = id;
    return r;
  }

  StopConditions c_;
  const tokenizer::Tokenizer* tok_;
  std::optional<tokenizer::StreamDecoder> decoder_;
  StopStringFilter filter_;
  std::size_t generated_ = 0;
  int32_t stop_token_ = -1;
};

}  // namespace llmforge
