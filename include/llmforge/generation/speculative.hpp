// SPDX-License-Identifier: MIT
// Drafters for speculative decoding: something cheap proposes the next few tokens, the target model
// checks them all in one forward pass and keeps the longest prefix it would have produced itself.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <llmforge/core/error.hpp>
#include <llmforge/models/model.hpp>

namespace llmforge {

/// Proposes continuations of a token sequence. A Generator asks for at most `max` tokens after
/// `context` (every token of the sequence so far, prompt included) and verifies them with the target
/// model, so a drafter's guesses only ever change the speed, never the output.
class Drafter {
 public:
  virtual ~Drafter() = default;
  /// Up to `max` guessed next tokens after `context` (possibly none).
  virtual std::vector<int32_t> propose(std::span<const int32_t> context, std::size_t max) = 0;
  /// A short description for reports ("draft model X", "prompt lookup").
  [[nodiscard]] virtual std::string name() const = 0;
};

/// Length of the common prefix of two token sequences.
[[nodiscard]] inline std::size_t common_prefix(std::span<const int32_t> a, std::span<const int32_t> b) noexcept {
  const std::size_t n = std::min(a.size(), b.size());
  std::size_t i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

/// Drafts greedily with a second, smaller model that shares the target's vocabulary. The draft model
/// keeps its own session; before each proposal it is brought up to `context` by running only the
/// tokens after the longest prefix it already holds (so rejected guesses are simply overwritten).
class DraftModelDrafter final : public Drafter {
 public:
  /// @throws ConfigError if the draft model's vocabulary size differs from `target_vocab`.
  DraftModelDrafter(std::shared_ptr<const Model> draft, std::size_t target_vocab, const SessionOptions& opt = {})
      : model_(std::move(draft)), session_(model_->new_session(opt)) {
    if (model_->config().vocab_size != target_vocab)
      throw ConfigError("draft model: its vocabulary has " + std::to_string(model_->config().vocab_size) +
                        " tokens but the target's has " + std::to_string(target_vocab) +
                        "; speculative decoding needs the same vocabulary");
    logits_.resize(model_->config().vocab_size);
  }

  std::vector<int32_t> propose(std::span<const int32_t> context, std::size_t max) override {
    std::vector<int32_t> out;
    if (context.empty() || max == 0) return out;
    const std::size_t cap = session_.kv.capacity();
    if (context.size() + max > cap) max = context.size() < cap ? cap - context.size() : 0;
    if (max == 0) return out;
    // Keep the longest prefix the cache already holds, and always rerun at least the last token so
    // its logits are fresh.
    const std::size_t keep = std::min(common_prefix(cached_, context), context.size() - 1);
    session_.pos = keep;
    cached_.resize(keep);
    run(context.subspan(keep));
    for (std::size_t i = 0; i < max; ++i) {
      const int32_t id = argmax();
      out.push_back(id);
      if (i + 1 < max) run(std::span<const int32_t>(&out.back(), 1));
    }
    return out;
  }

  [[nodiscard]] std::string name() const override { return "draft model " + model_->metadata().source(); }
  [[nodiscard]] const Model& model() const noexcept { return *model_; }

 private:
  void run(std::span<const int32_t> tokens) {
    model_->forward(session_, tokens, logits_);
    cached_.insert(cached_.end(), tokens.begin(), tokens.end());
  }
  [[nodiscard]] int32_t argmax() const {
    return static_cast<int32_t>(std::max_element(logits_.begin(), logits_.end()) - logits_.begin());
  }

  std::shared_ptr<const Model> model_;
  Session session_;
  std::vector<int32_t> cached_;  ///< the tokens whose keys and values the draft session holds
  std::vector<float> logits_;
};

/// Prompt-lookup drafting, no second model: finds the most recent earlier occurrence of the last
/// `n` tokens (n from `max_ngram` down to `min_ngram`) and proposes the tokens that followed it.
/// Works well when the output repeats the input (summaries, code edits, extraction).
class NgramDrafter final : public Drafter {
 public:
  /// @throws ConfigError unless 1 <= min_ngram <= max_ngram.
  explicit NgramDrafter(std::size_t max_ngram = 3, std::size_t min_ngram = 1) : max_(max_ngram), min_(min_ngram) {
    if (min_ngram == 0 || min_ngram > max_ngram)
      throw ConfigError("prompt lookup: n-gram sizes must satisfy 1 <= min (" + std::to_string(min_ngram) + ") <= max (" +
                        std::to_string(max_ngram) + ")");
  }

  std::vector<int32_t> propose(std::span<const int32_t> context, std::size_t max) override {
    const std::size_t len = context.size();
    for (std::size_t n = std::min(max_, len > 0 ? len - 1 : 0); n >= min_ && n > 0; --n) {
      const auto tail = context.subspan(len - n);
      // The latest earlier start s with context[s, s+n) == tail and something after it.
      for (std::size_t s = len - n; s-- > 0;) {
        if (!std::equal(tail.begin(), tail.end(), context.begin() + static_cast<std::ptrdiff_t>(s))) continue;
        const std::size_t from = s + n, count = std::min(max, len - from);
        return std::vector<int32_t>(context.begin() + static_cast<std::ptrdiff_t>(from),
                                    context.begin() + static_cast<std::ptrdiff_t>(from + count));
      }
    }
    return {};
  }

  [[nodiscard]] std::string name() const override {
    return "prompt lookup (n-grams " + std::to_string(min_) + ".." + std::to_string(max_) + ")";
  }

 private:
  std::size_t max_, min_;
};

}  // namespace llmforge
