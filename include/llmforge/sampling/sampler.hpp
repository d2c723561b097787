// SPDX-License-Identifier: MIT
// Sampler chain: repetition penalties, top-k, top-p, min-p, temperature and a seeded RNG; greedy at temperature 0.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <numeric>
#include <random>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include <llmforge/core/error.hpp>

namespace llmforge {

/// Settings of a sampler chain. Stages run in the order penalties -> top-k -> top-p -> min-p ->
/// temperature -> draw (llama.cpp's default order). `temperature == 0` means greedy (argmax, ties to the lowest id).
struct SamplerConfig {
  float temperature = 0.8f;     ///< >= 0; 0 = greedy
  int top_k = 40;               ///< >= 0; 0 = off
  float top_p = 0.95f;          ///< in (0, 1]; 1 = off
  float min_p = 0.05f;          ///< in [0, 1]; 0 = off
  float repeat_penalty = 1.0f;  ///< > 0; 1 = off (divides positive logits, multiplies negative ones)
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  std::size_t penalty_last_n = 64;  ///< how many recent tokens the penalties look at
  uint64_t seed = 0x5EED;

  /// @throws ConfigError with a sentence saying which value is wrong and what is allowed.
  void validate() const {
    auto bad = [](const std::string& what) { throw ConfigError("invalid sampler setting: " + what); };
    if (!(temperature >= 0) || !std::isfinite(temperature))
      bad("temperature must be a finite number >= 0 (0 = greedy), got " + std::to_string(temperature));
    if (top_k < 0) bad("top-k must be >= 0 (0 = off), got " + std::to_string(top_k));
    if (!(top_p > 0 && top_p <= 1)) bad("top-p must be in (0, 1] (1 = off), got " + std::to_string(top_p));
    if (!(min_p >= 0 && min_p <= 1)) bad("min-p must be in [0, 1] (0 = off), got " + std::to_string(min_p));
    if (!(repeat_penalty > 0) || !std::isfinite(repeat_penalty))
      bad("repeat penalty must be a finite number > 0 (1 = off), got " + std::to_string(repeat_penalty));
    if (!std::isfinite(presence_penalty) || !std::isfinite(frequency_penalty)) bad("presence/frequency penalties must be finite");
  }
};

/// A configured sampler with its own random state. Build it fluently:
/// `SamplerChain{}.top_k(40).top_p(0.95f).temperature(0.8f).seed(42)`.
class SamplerChain {
 public:
  SamplerChain() { reseed(config_.seed); }
  /// @throws ConfigError if `c` is invalid.
  explicit SamplerChain(const SamplerConfig& c) : config_(c) {
    config_.validate();
    reseed(c.seed);
  }
  /// A chain that always picks the most likely token.
  [[nodiscard]] static SamplerChain greedy() { return SamplerChain{}.temperature(0); }

  SamplerChain& temperature(float t) { return set([&](SamplerConfig& c) { c.temperature = t; }); }
  SamplerChain& top_k(int k) { return set([&](SamplerConfig& c) { c.top_k = k; }); }
  SamplerChain& top_p(float p) { return set([&](SamplerConfig& c) { c.top_p = p; }); }
  SamplerChain& min_p(float p) { return set([&](SamplerConfig& c) { c.min_p = p; }); }
  SamplerChain& repeat_penalty(float p, std::size_t last_n = 64) {
    return set([&](SamplerConfig& c) { c.repeat_penalty = p; c.penalty_last_n = last_n; });
  }
  SamplerChain& seed(uint64_t s) {
    config_.seed = s;
    reseed(s);
    return *this;
  }
  [[nodiscard]] const SamplerConfig& config() const noexcept { return config_; }

  /// Restarts the random sequence and forgets the token history.
  void reset() {
    reseed(config_.seed);
    history_.clear();
  }
  /// Records a token that is part of the context (prompt tokens and accepted samples) for penalties.
  void accept(int32_t id) {
    history_.push_back(id);
    while (history_.size() > config_.penalty_last_n) history_.pop_front();
  }

  /// Picks a token id from `logits` (one value per vocabulary entry) and records it.
  /// @throws ConfigError if `logits` is empty.
  int32_t sample(std::span<const float> logits) {
    if (logits.empty()) throw ConfigError("sampler: empty logits");
    const auto& c = config_;
    candidates_.resize(logits.size());
    for (std::size_t i = 0; i < logits.size(); ++i) candidates_[i] = {static_cast<int32_t>(i), logits[i]};
    apply_penalties();
    int32_t id;
    if (c.temperature == 0) {
      id = argmax();
    } else {
      std::size_t n = candidates_.size();
      const auto by_logit = [](const Candidate& a, const Candidate& b) { return a.logit > b.logit || (a.logit == b.logit && a.id < b.id); };
      if (c.top_k > 0 && static_cast<std::size_t>(c.top_k) < n) {
        std::partial_sort(candidates_.begin(), candidates_.begin() + c.top_k, candidates_.end(), by_logit);
        n = static_cast<std::size_t>(c.top_k);
      } else {
        std::sort(candidates_.begin(), candidates_.end(), by_logit);
      }
      candidates_.resize(n);
      softmax();
      if (c.top_p < 1) {  // smallest prefix whose probability mass reaches top_p
        double cum = 0;
        std::size_t keep = n;
        for (std::size_t i = 0; i < n; ++i) {
          cum += candidates_[i].p;
          if (cum >= c.top_p) { keep = i + 1; break; }
        }
        candidates_.resize(keep);
      }
      if (c.min_p > 0) {  // drop tokens less likely than min_p times the most likely one
        const float floor = candidates_[0].p * c.min_p;
        std::size_t keep = 1;
        while (keep < candidates_.size() && candidates_[keep].p >= floor) ++keep;
        candidates_.resize(keep);
      }
      for (auto& cd : candidates_) cd.logit /= c.temperature;
      softmax();
      const double u = uniform();
      double cum = 0;
      id = candidates_.back().id;
      for (const auto& cd : candidates_) {
        cum += cd.p;
        if (u < cum) { id = cd.id; break; }
      }
    }
    accept(id);
    return id;
  }

 private:
  struct Candidate {
    int32_t id;
    float logit;
    float p = 0;
  };

  template <class F>
  SamplerChain& set(F&& f) {
    SamplerConfig c = config_;
    f(c);
    c.validate();
    config_ = c;
    return *this;
  }
  void reseed(uint64_t s) { rng_.seed(s); }
  /// Uniform double in [0, 1) from 53 random bits (same sequence on every platform for a seed).
  double uniform() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }

  int32_t argmax() const {
    std::size_t best = 0;
    for (std::size_t i = 1; i < candidates_.size(); ++i)
      if (candidates_[i].logit > candidates_[best].logit) best = i;
    return candidates_[best].id;
  }
  void softmax() {
    const float mx = std::max_element(candidates_.begin(), candidates_.end(), [](auto& a, auto& b) { return a.logit < b.logit; })->logit;
    double sum = 0;
    for (auto& cd : candidates_) sum += (cd.p = std::exp(cd.logit - mx));
    for (auto& cd : candidates_) cd.p = static_cast<float>(cd.p / sum);
  }
  void apply_penalties() {
    const auto& c = config_;
    if (history_.empty() || (c.repeat_penalty == 1 && c.presence_penalty == 0 && c.frequency_penalty == 0)) return;
    counts_.clear();
    for (int32_t id : history_) ++counts_[id];
    for (const auto& [id, count] : counts_) {
      if (id < 0 || static_cast<std::size_t>(id) >= candidates_.size()) continue;
      float& l = candidates_[static_cast<std::size_t>(id)].logit;
      l = l > 0 ? l / c.repeat_penalty : l * c.repeat_penalty;
      l -= static_cast<float>(count) * c.frequency_penalty + c.presence_penalty;
    }
  }

  SamplerConfig config_;
  std::mt19937_64 rng_;
  std::vector<Candidate> candidates_;
  std::deque<int32_t> history_;
  std::unordered_map<int32_t, int> counts_;
};

}  // namespace llmforge
