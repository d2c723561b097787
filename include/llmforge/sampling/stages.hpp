// SPDX-License-Identifier: MIT
// The stateless sampler stages as functions on Candidates: logit bias, penalties, top-k, top-p, min-p,
// typical-p, temperature (plain and dynamic), XTC, and mirostat v2's truncate-and-draw.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include <llmforge/core/error.hpp>
#include <llmforge/sampling/candidates.hpp>
#include <llmforge/sampling/sampler_config.hpp>
#include <llmforge/sampling/sampler_rng.hpp>

/// Sampler stages, one function each. They follow llama.cpp's `src/llama-sampling.cpp` semantics; where
/// they differ it is said at the function. `min_keep == 0` means 1: no stage ever empties the list.
namespace llmforge::sampling {

/// Adds each bias to its token's logit (a token that is no longer a candidate is skipped).
/// @throws ConfigError if a biased token id is not below `vocab_size`.
inline void apply_logit_bias(Candidates& c, std::span<const LogitBias> biases, std::size_t vocab_size) {
  if (biases.empty()) return;
  for (const auto& b : biases) {
    if (b.token < 0 || static_cast<std::size_t>(b.token) >= vocab_size)
      throw ConfigError("invalid sampler setting: logit bias for token " + std::to_string(b.token) +
                        ", but the vocabulary has " + std::to_string(vocab_size) + " tokens");
    if (c.identity()) {
      c[static_cast<std::size_t>(b.token)].logit += b.bias;
    } else {
      for (auto& cd : c)
        if (cd.id == b.token) { cd.logit += b.bias; break; }
    }
  }
  c.logits_changed();
}

/// Occurrence counts of the tokens in a window (reused between steps to avoid allocation).
using TokenCounts = std::unordered_map<int32_t, int>;

/// Repetition, frequency and presence penalties for every token that occurs in `window`:
/// `l = l <= 0 ? l * repeat : l / repeat; l -= count * frequency + presence`.
inline void apply_penalties(Candidates& c, std::span<const int32_t> window, float repeat, float frequency, float presence,
                            TokenCounts& counts) {
  if (window.empty() || (repeat == 1 && frequency == 0 && presence == 0)) return;
  counts.clear();
  for (int32_t id : window) ++counts[id];
  const auto penalize = [&](TokenCandidate& cd, int count) {
    cd.logit = cd.logit <= 0 ? cd.logit * repeat : cd.logit / repeat;
    cd.logit -= static_cast<float>(count) * frequency + presence;
  };
  if (c.identity()) {
    for (const auto& [id, count] : counts)
      if (id >= 0 && static_cast<std::size_t>(id) < c.size()) penalize(c[static_cast<std::size_t>(id)], count);
  } else {
    for (auto& cd : c)
      if (auto it = counts.find(cd.id); it != counts.end()) penalize(cd, it->second);
  }
  c.logits_changed();
}

/// Keeps the `k` highest logits (sorted). `k == 0` (or `k >= size`) keeps all and leaves the order alone.
inline void apply_top_k(Candidates& c, int k) {
  if (k <= 0 || static_cast<std::size_t>(k) >= c.size()) return;
  c.sort_top(static_cast<std::size_t>(k));
}

/// Keeps the smallest prefix (by probability) whose mass reaches `p`, and at least `min_keep` tokens.
inline void apply_top_p(Candidates& c, float p, std::size_t min_keep) {
  if (p >= 1 || c.empty()) return;
  c.softmax();
  double cum = 0;
  for (std::size_t i = 0; i < c.size(); ++i) {
    cum += c[i].p;
    if (cum >= p && i + 1 >= min_keep) {
      c.truncate(i + 1);
      return;
    }
  }
}

/// Keeps tokens with `prob >= p * max_prob` (compared as `logit >= max_logit + log(p)`, which is the
/// same), and at least `min_keep` tokens. Keeps the current order when enough tokens pass.
inline void apply_min_p(Candidates& c, float p, std::size_t min_keep) {
  if (p <= 0 || c.empty()) return;
  min_keep = std::max<std::size_t>(min_keep, 1);
  float top = -INFINITY;
  for (const auto& cd : c) top = std::max(top, cd.logit);
  const float floor = top + std::log(p);
  std::size_t pass = 0;
  for (const auto& cd : c) pass += cd.logit >= floor;
  if (pass >= min_keep) {
    std::size_t w = 0;
    for (std::size_t i = 0; i < c.size(); ++i)
      if (c[i].logit >= floor) c[w++] = c[i];
    c.truncate(w);
  } else {
    c.sort_top(min_keep);
  }
}

/// Locally typical sampling: ranks tokens by `|-log p - H|` (H the entropy of the candidates) and keeps
/// the best-ranked ones until their mass exceeds `p`. The result is in that rank order.
/// Unlike llama.cpp b4748, where `min_keep = 0` underflows and disables the cut, 0 means 1 here.
inline void apply_typical(Candidates& c, float p, std::size_t min_keep, std::vector<TokenCandidate>& scratch) {
  if (p >= 1 || c.empty()) return;
  min_keep = std::max<std::size_t>(min_keep, 1);
  c.softmax();
  double entropy = 0;
  for (const auto& cd : c)
    if (cd.p > 0) entropy -= cd.p * std::log(static_cast<double>(cd.p));
  scratch.assign(c.begin(), c.end());
  const auto score = [&](const TokenCandidate& t) {
    return t.p > 0 ? std::abs(-std::log(static_cast<double>(t.p)) - entropy) : INFINITY;
  };
  std::stable_sort(scratch.begin(), scratch.end(), [&](const auto& a, const auto& b) { return score(a) < score(b); });
  std::size_t keep = scratch.size();
  double cum = 0;
  for (std::size_t i = 0; i < scratch.size(); ++i) {
    cum += scratch[i].p;
    if (cum > p && i + 1 >= min_keep) {
      keep = i + 1;
      break;
    }
  }
  for (std::size_t i = 0; i < keep; ++i) c[i] = scratch[i];
  c.truncate(keep);
  c.reordered();
}

/// Divides the logits by `t`; `t <= 0` keeps only the most likely token (ties to the lower id).
inline void apply_temperature(Candidates& c, float t) {
  if (c.empty()) return;
  if (t > 0) {
    for (auto& cd : c) cd.logit /= t;  // a positive divisor keeps the order
    return;
  }
  if (!c.sorted()) {
    std::size_t best = 0;
    for (std::size_t i = 1; i < c.size(); ++i)
      if (Candidates::before(c[i], c[best])) best = i;
    std::swap(c[0], c[best]);
  }
  c.truncate(1);
}

/// Dynamic temperature (llama.cpp's temp_ext): with `range > 0`, the temperature is
/// `lo + (hi - lo) * (H / log n)^exponent`, `lo = max(0, t - range)`, `hi = t + range`, where H is the
/// entropy of the candidates and n their count; otherwise plain `apply_temperature(c, t)`.
inline void apply_dynamic_temperature(Candidates& c, float t, float range, float exponent) {
  if (range <= 0) {
    apply_temperature(c, t);
    return;
  }
  if (c.size() <= 1) return;
  c.softmax();
  double entropy = 0;
  for (const auto& cd : c)
    if (cd.p > 0) entropy -= cd.p * std::log(static_cast<double>(cd.p));
  const double normalized = entropy / std::log(static_cast<double>(c.size()));
  const double lo = std::max(0.0f, t - range), hi = t + range;
  apply_temperature(c, static_cast<float>(lo + (hi - lo) * std::pow(normalized, static_cast<double>(exponent))));
}

/// Exclude Top Choices, once its coin has come up (the caller flips it): removes every token with
/// `prob >= threshold` except the least likely of them, if at least `min_keep` tokens remain.
/// Thresholds above 0.5 can never exclude anything (two tokens cannot both exceed it) and are a no-op.
inline void apply_xtc(Candidates& c, float threshold, std::size_t min_keep) {
  if (threshold > 0.5f || c.size() < 2) return;
  min_keep = std::max<std::size_t>(min_keep, 1);
  c.softmax();
  std::size_t last = 0;
  while (last + 1 < c.size() && c[last + 1].p >= threshold) ++last;  // sorted: a prefix
  if (last > 0 && c.size() - last >= min_keep) c.drop_front(last);
}

/// Mirostat v2: truncates to tokens whose surprise `-log2 p` is at most `mu` (at least one), draws
/// from the renormalized rest, and moves `mu` toward the target: `mu -= eta * (surprise - tau)`.
struct MirostatV2 {
  float tau = 5.0f, eta = 0.1f, mu = 10.0f;

  void reset() noexcept { mu = 2 * tau; }
  /// Returns the index of the drawn candidate; leaves `c` as the distribution it was drawn from.
  std::size_t select(Candidates& c, SamplerRng& rng) {
    c.softmax();
    std::size_t keep = 0;
    while (keep < c.size() && -std::log2(c[keep].p) <= mu) ++keep;
    c.truncate(std::max<std::size_t>(keep, 1));
    c.softmax();
    const std::size_t i = rng.pick(c);
    mu -= eta * (-std::log2(c[i].p) - tau);
    return i;
  }
};

}  // namespace llmforge::sampling
