// SPDX-License-Identifier: MIT
// SamplerChain: a validated, seeded chain of sampler stages with per-step log-probabilities.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <llmforge/core/error.hpp>
#include <llmforge/sampling/candidates.hpp>
#include <llmforge/sampling/dry.hpp>
#include <llmforge/sampling/sampler_config.hpp>
#include <llmforge/sampling/sampler_rng.hpp>
#include <llmforge/sampling/stages.hpp>

namespace llmforge {

/// Which distribution per-step log-probabilities describe.
enum class LogprobSource {
  /// The distribution the token was drawn from, after every stage (llama.cpp's `post_sampling_probs`):
  /// truncated tokens are absent, temperature is applied; greedy gives the chosen token log-prob 0.
  Final,
  /// The model's own distribution, `log_softmax(logits)` before any stage (OpenAI-style `logprobs`).
  Model,
};

/// A token and its natural-log probability.
struct TokenLogprob {
  int32_t id = 0;
  float logprob = 0;
};

/// Log-probabilities of one sampling step: the chosen token and the most likely alternatives (most
/// likely first, at most the requested count; fewer when the final distribution holds fewer tokens).
struct StepLogprobs {
  TokenLogprob chosen;
  std::vector<TokenLogprob> top;
};

/// A configured sampler with its own random state and token history; one per sequence. Copies are
/// independent (they share only immutable data such as resolved DRY breakers). Build it fluently:
/// `SamplerChain{}.top_k(40).top_p(0.95f).temperature(0.8f).seed(42)`.
///
/// Each `sample()` runs: logit bias; then `config().stages` in order (default: llama.cpp's penalties,
/// dry, top_k, typ_p, top_p, min_p, xtc, temperature); then a seeded draw from the softmax of what is
/// left. With `mirostat == 2` the chain is logit bias, temperature, mirostat v2 (the stage order is
/// not used, as in llama.cpp). Temperature 0 keeps only the most likely token: greedy. See SamplerRng
/// for how a seed maps to tokens.
class SamplerChain {
 public:
  SamplerChain() {
    on_config_change();
    reset_random();
  }
  /// @throws ConfigError if `c` is invalid.
  explicit SamplerChain(const SamplerConfig& c) : config_(c) {
    config_.validate();
    on_config_change();
    reset_random();
  }
  /// A chain that always picks the most likely token (after logit bias and penalties, which are off).
  [[nodiscard]] static SamplerChain greedy() { return SamplerChain{}.temperature(0); }

  // Fluent setters; each validates the whole configuration and throws ConfigError (leaving the chain
  // unchanged) if the new value is out of range.
  SamplerChain& temperature(float t) { return set([&](SamplerConfig& c) { c.temperature = t; }); }
  SamplerChain& dynamic_temperature(float range, float exponent = 1.0f) {
    return set([&](SamplerConfig& c) { c.dynatemp_range = range, c.dynatemp_exponent = exponent; });
  }
  SamplerChain& top_k(int k) { return set([&](SamplerConfig& c) { c.top_k = k; }); }
  SamplerChain& top_p(float p) { return set([&](SamplerConfig& c) { c.top_p = p; }); }
  SamplerChain& min_p(float p) { return set([&](SamplerConfig& c) { c.min_p = p; }); }
  SamplerChain& typical_p(float p) { return set([&](SamplerConfig& c) { c.typical_p = p; }); }
  SamplerChain& min_keep(std::size_t n) { return set([&](SamplerConfig& c) { c.min_keep = n; }); }
  SamplerChain& repeat_penalty(float p, int32_t last_n = 64) {
    return set([&](SamplerConfig& c) { c.repeat_penalty = p, c.penalty_last_n = last_n; });
  }
  SamplerChain& presence_penalty(float p) { return set([&](SamplerConfig& c) { c.presence_penalty = p; }); }
  SamplerChain& frequency_penalty(float p) { return set([&](SamplerConfig& c) { c.frequency_penalty = p; }); }
  SamplerChain& penalty_last_n(int32_t n) { return set([&](SamplerConfig& c) { c.penalty_last_n = n; }); }
  SamplerChain& logit_bias(int32_t token, float bias) {
    return set([&](SamplerConfig& c) { c.logit_bias.push_back({token, bias}); });
  }
  SamplerChain& xtc(float probability, float threshold) {
    return set([&](SamplerConfig& c) { c.xtc_probability = probability, c.xtc_threshold = threshold; });
  }
  SamplerChain& dry(float multiplier, float base = 1.75f, int32_t allowed_length = 2, int32_t last_n = -1) {
    return set([&](SamplerConfig& c) {
      c.dry_multiplier = multiplier, c.dry_base = base, c.dry_allowed_length = allowed_length, c.dry_penalty_last_n = last_n;
    });
  }
  /// Text breakers; they are resolved to tokens by bind_vocabulary() (Generator does that).
  SamplerChain& dry_sequence_breakers(std::vector<std::string> b) {
    return set([&](SamplerConfig& c) { c.dry_sequence_breakers = std::move(b); });
  }
  /// Breakers given directly as token sequences (head first); replaces the text breakers.
  SamplerChain& dry_breaker_tokens(const std::vector<std::vector<int32_t>>& sequences) {
    config_.dry_sequence_breakers.clear();
    breakers_ = std::make_shared<const DryBreakers>(DryBreakers::from_tokens(sequences));
    breakers_bound_ = true;
    return *this;
  }
  SamplerChain& mirostat_v2(float tau, float eta) {
    return set([&](SamplerConfig& c) { c.mirostat = 2, c.mirostat_tau = tau, c.mirostat_eta = eta; });
  }
  SamplerChain& stages(std::vector<SamplerStage> order) { return set([&](SamplerConfig& c) { c.stages = std::move(order); }); }
  SamplerChain& seed(uint64_t s) {
    config_.seed = s;
    reset_random();
    return *this;
  }
  /// Records log-probabilities of the chosen token and the `top_n` most likely ones at every step.
  SamplerChain& logprobs(std::size_t top_n, LogprobSource source = LogprobSource::Final) {
    logprobs_on_ = true, logprobs_top_ = top_n, logprobs_source_ = source;
    return *this;
  }

  [[nodiscard]] const SamplerConfig& config() const noexcept { return config_; }

  /// True if DRY is on with text breakers that are not yet resolved to tokens.
  [[nodiscard]] bool needs_vocabulary() const noexcept {
    return config_.dry_active() && !config_.dry_sequence_breakers.empty() && !breakers_bound_;
  }
  /// Resolves the DRY text breakers against a vocabulary.
  SamplerChain& bind_vocabulary(const VocabularyText& vocab) {
    return set_dry_breakers(std::make_shared<const DryBreakers>(config_.dry_sequence_breakers, vocab));
  }
  /// Uses breakers resolved earlier (e.g. cached by a Generator for the same breaker list).
  SamplerChain& set_dry_breakers(std::shared_ptr<const DryBreakers> b) {
    breakers_ = std::move(b);
    breakers_bound_ = true;
    return *this;
  }

  /// Restarts the random streams, forgets the token history and resets mirostat's state.
  void reset() {
    reset_random();
    history_.clear();
  }
  /// Records a token that is part of the context (prompt tokens and accepted samples) for penalties
  /// and DRY. sample() records the token it returns.
  void accept(int32_t id) {
    history_.push_back(id);
    if (history_cap_ && history_.size() > 2 * history_cap_ + 64)
      history_.erase(history_.begin(), history_.end() - static_cast<std::ptrdiff_t>(history_cap_));
  }
  /// The recorded tokens, oldest first (possibly trimmed to the longest window a stage uses).
  [[nodiscard]] std::span<const int32_t> history() const noexcept { return history_; }

  /// Picks a token id from `logits` (one value per vocabulary entry) and records it.
  /// @throws ConfigError if `logits` is empty, a logit bias names a token outside it, DRY needs a
  ///         vocabulary it was not given, or no token has a finite logit.
  int32_t sample(std::span<const float> logits) {
    if (logits.empty()) throw ConfigError("sampler: empty logits");
    if (needs_vocabulary())
      throw ConfigError("invalid sampler setting: dry sequence breakers are text and need a vocabulary; call "
                        "bind_vocabulary() first (Generator does this)");
    const auto& c = config_;
    cand_.assign(logits);
    sampling::apply_logit_bias(cand_, c.logit_bias, logits.size());
    std::size_t pick = 0;
    if (c.mirostat == 2) {
      sampling::apply_temperature(cand_, c.temperature);
      check_finite();
      pick = mirostat_.select(cand_, rng_);
    } else {
      for (SamplerStage s : c.stages) {
        if (greedy_shortcut_ && s != SamplerStage::Penalties && s != SamplerStage::Dry) continue;
        run(s);
      }
      if (greedy_shortcut_) sampling::apply_temperature(cand_, 0);
      check_finite();
      cand_.softmax();
      pick = rng_.pick(cand_);
    }
    const int32_t id = cand_[pick].id;
    if (logprobs_on_) record_logprobs(logits, pick);
    accept(id);
    return id;
  }

  /// Log-probabilities of the last sample(), or nullptr unless logprobs() was requested.
  [[nodiscard]] const StepLogprobs* last_logprobs() const noexcept { return logprobs_on_ ? &step_ : nullptr; }
  /// The distribution the last token was drawn from (ids with normalized `p`).
  [[nodiscard]] std::span<const TokenCandidate> last_distribution() const noexcept { return cand_.view(); }

 private:
  static constexpr uint64_t kXtcStream = 1;

  template <class F>
  SamplerChain& set(F&& f) {
    SamplerConfig c = config_;
    f(c);
    c.validate();
    if (c.dry_sequence_breakers != config_.dry_sequence_breakers) breakers_bound_ = false, breakers_.reset();
    config_ = std::move(c);
    on_config_change();
    return *this;
  }

  void on_config_change() {
    const auto& c = config_;
    mirostat_.tau = c.mirostat_tau, mirostat_.eta = c.mirostat_eta;
    mirostat_.reset();
    const auto window = [](int32_t n) { return n < 0 ? std::size_t{0} : static_cast<std::size_t>(n); };
    const bool unbounded = c.penalty_last_n < 0 || (c.dry_active() && c.dry_penalty_last_n < 0);
    history_cap_ = unbounded ? 0 : std::max<std::size_t>({window(c.penalty_last_n), window(c.dry_penalty_last_n), 1});
    // Greedy can skip the truncating stages (they always keep the most likely token) when nothing
    // that changes logits runs after one of them, and no stage can drop the most likely token.
    greedy_shortcut_ = c.temperature <= 0 && c.dynatemp_range <= 0 && c.mirostat == 0;
    bool truncated = false, has_temperature = false;
    for (SamplerStage s : c.stages) {
      switch (s) {
        case SamplerStage::Penalties:
        case SamplerStage::Dry: greedy_shortcut_ = greedy_shortcut_ && !truncated; break;
        case SamplerStage::TypicalP: greedy_shortcut_ = greedy_shortcut_ && c.typical_p >= 1; break;
        case SamplerStage::Xtc: greedy_shortcut_ = greedy_shortcut_ && (c.xtc_probability <= 0 || c.xtc_threshold > 0.5f); break;
        case SamplerStage::Temperature: has_temperature = true; break;
        default: truncated = true; break;
      }
    }
    greedy_shortcut_ = greedy_shortcut_ && has_temperature;
  }

  void reset_random() {
    rng_.seed(config_.seed);
    xtc_rng_.seed(SamplerRng::stream_seed(config_.seed, kXtcStream));
    mirostat_.reset();
  }

  [[nodiscard]] std::span<const int32_t> window(int32_t last_n) const {
    if (last_n < 0 || static_cast<std::size_t>(last_n) >= history_.size()) return history_;
    return std::span<const int32_t>(history_).last(static_cast<std::size_t>(last_n));
  }

  void run(SamplerStage s) {
    const auto& c = config_;
    switch (s) {
      case SamplerStage::Penalties:
        if (c.penalty_last_n != 0)
          sampling::apply_penalties(cand_, window(c.penalty_last_n), c.repeat_penalty, c.frequency_penalty,
                                    c.presence_penalty, counts_);
        break;
      case SamplerStage::Dry:
        if (c.dry_active())
          sampling::apply_dry(cand_, window(c.dry_penalty_last_n), breakers_ ? *breakers_ : kNoBreakers, c.dry_multiplier,
                              c.dry_base, c.dry_allowed_length, dry_scratch_);
        break;
      case SamplerStage::TopK: sampling::apply_top_k(cand_, c.top_k); break;
      case SamplerStage::TypicalP: sampling::apply_typical(cand_, c.typical_p, c.min_keep, scratch_); break;
      case SamplerStage::TopP: sampling::apply_top_p(cand_, c.top_p, c.min_keep); break;
      case SamplerStage::MinP: sampling::apply_min_p(cand_, c.min_p, c.min_keep); break;
      case SamplerStage::Xtc:
        // The coin is flipped on every step the stage is on, so the stream does not depend on the logits.
        if (c.xtc_probability > 0 && c.xtc_threshold <= 0.5f && xtc_rng_.uniform() < c.xtc_probability)
          sampling::apply_xtc(cand_, c.xtc_threshold, c.min_keep);
        break;
      case SamplerStage::Temperature:
        sampling::apply_dynamic_temperature(cand_, c.temperature, c.dynatemp_range, c.dynatemp_exponent);
        break;
    }
  }

  void check_finite() const {
    for (const auto& cd : cand_)
      if (std::isfinite(cd.logit)) return;
    throw ConfigError("sampler: no token has a finite logit (all banned by logit bias, or the model produced NaN/inf)");
  }

  void record_logprobs(std::span<const float> logits, std::size_t pick) {
    auto& top = step_.top;
    top.clear();
    const int32_t id = cand_[pick].id;
    if (logprobs_source_ == LogprobSource::Final) {
      step_.chosen = {id, std::log(cand_[pick].p)};
      for (const auto& cd : cand_)
        if (cd.p > 0) top.push_back({cd.id, std::log(cd.p)});
    } else {
      const float mx = *std::max_element(logits.begin(), logits.end());
      double sum = 0;
      for (float l : logits) sum += std::exp(static_cast<double>(l) - mx);
      const float lse = mx + static_cast<float>(std::log(sum));
      step_.chosen = {id, logits[static_cast<std::size_t>(id)] - lse};
      for (std::size_t i = 0; i < logits.size(); ++i) top.push_back({static_cast<int32_t>(i), logits[i] - lse});
    }
    const auto more_likely = [](const TokenLogprob& a, const TokenLogprob& b) {
      return a.logprob > b.logprob || (a.logprob == b.logprob && a.id < b.id);
    };
    const std::size_t n = std::min(logprobs_top_, top.size());
    std::partial_sort(top.begin(), top.begin() + static_cast<std::ptrdiff_t>(n), top.end(), more_likely);
    top.resize(n);
  }

  inline static const DryBreakers kNoBreakers{};

  SamplerConfig config_;
  SamplerRng rng_, xtc_rng_;
  sampling::MirostatV2 mirostat_;
  std::shared_ptr<const DryBreakers> breakers_;
  bool breakers_bound_ = false;
  bool greedy_shortcut_ = false;
  std::size_t history_cap_ = 0;  ///< 0 = keep everything
  std::vector<int32_t> history_;
  Candidates cand_;
  sampling::TokenCounts counts_;
  sampling::DryScratch dry_scratch_;
  std::vector<TokenCandidate> scratch_;
  bool logprobs_on_ = false;
  std::size_t logprobs_top_ = 0;
  LogprobSource logprobs_source_ = LogprobSource::Final;
  StepLogprobs step_;
};

}  // namespace llmforge
