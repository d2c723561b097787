// SPDX-License-Identifier: MIT
// DRY ("don't repeat yourself") penalty: sequence breakers resolved to tokens, and the penalty stage.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <llmforge/sampling/candidates.hpp>

namespace llmforge {

/// What a sampler needs to know about a vocabulary's text (sampling does not depend on tokenizer/;
/// `Generator` fills this from the model's tokenizer).
struct VocabularyText {
  std::size_t size = 0;
  std::function<std::string(int32_t)> token_text;                 ///< a token's text, special tokens rendered
  std::function<std::vector<int32_t>(std::string_view)> encode;   ///< text to ids, no BOS/EOS
};

/// DRY sequence breakers as token sequences: a head token and the tails that must follow it. A token
/// whose text contains a breaker is a breaker by itself (empty tail).
class DryBreakers {
 public:
  static constexpr std::size_t kMaxBreakerBytes = 40;   ///< longer breakers are cut (as llama.cpp does)
  static constexpr std::size_t kMaxTailTokens = 20;

  DryBreakers() = default;
  /// Breakers given as token sequences (head first); empty sequences are ignored.
  [[nodiscard]] static DryBreakers from_tokens(const std::vector<std::vector<int32_t>>& sequences) {
    DryBreakers b;
    for (const auto& s : sequences)
      if (!s.empty()) b.add(s.front(), std::vector<int32_t>(s.begin() + 1, s.end()));
    return b;
  }
  /// Resolves text breakers against a vocabulary: every token that contains a breaker, and every token
  /// that ends with the start of one followed by the tokenization of the rest.
  DryBreakers(std::span<const std::string> breakers, const VocabularyText& vocab) {
    for (std::string b : breakers) {
      if (b.empty()) continue;
      if (b.size() > kMaxBreakerBytes) b.resize(kMaxBreakerBytes);
      for (std::size_t id = 0; id < vocab.size; ++id) {
        const std::string word = vocab.token_text(static_cast<int32_t>(id));
        if (word.find(b) != std::string::npos) {
          add(static_cast<int32_t>(id), {});
          continue;
        }
        // Each position from which the rest of `word` is a proper prefix of `b`.
        for (std::size_t pos = word.find(b[0]); pos != std::string::npos; pos = word.find(b[0], pos + 1)) {
          const std::size_t len = word.size() - pos;
          if (word.compare(pos, len, b, 0, len) != 0) continue;
          auto tail = vocab.encode(std::string_view(b).substr(len));
          if (tail.size() > kMaxTailTokens) tail.resize(kMaxTailTokens);
          add(static_cast<int32_t>(id), std::move(tail));
        }
      }
    }
  }

  [[nodiscard]] bool empty() const noexcept { return tails_.empty(); }
  /// The tails that follow head token `id` (none if it heads no breaker).
  [[nodiscard]] std::span<const std::vector<int32_t>> tails(int32_t id) const {
    auto it = tails_.find(id);
    return it == tails_.end() ? std::span<const std::vector<int32_t>>{} : std::span<const std::vector<int32_t>>(it->second);
  }
  /// True if token `id` is a whole breaker by itself (DRY never penalizes it).
  [[nodiscard]] bool breaks_alone(int32_t id) const {
    for (const auto& t : tails(id))
      if (t.empty()) return true;
    return false;
  }

 private:
  void add(int32_t head, std::vector<int32_t> tail) {
    auto& list = tails_[head];
    if (std::find(list.begin(), list.end(), tail) == list.end()) list.push_back(std::move(tail));
  }
  std::unordered_map<int32_t, std::vector<std::vector<int32_t>>> tails_;
};

namespace sampling {

/// Scratch buffers of apply_dry, reused between steps.
struct DryScratch {
  std::vector<int> z;
  std::unordered_map<int32_t, int> longest;
};

/// DRY: a token that would extend a repeat of the window's end - a suffix of `window` that also occurs
/// earlier, followed there by that token - of length `L >= allowed_length` loses
/// `multiplier * base^(L - allowed_length)` from its logit. A repeat never reaches back across a
/// sequence breaker, and tokens that are breakers by themselves are never penalized. The exponent is
/// clamped as llama.cpp does, and the penalty to the largest float (llama.cpp's clamp alone can still
/// overflow to infinity, e.g. for base 2).
inline void apply_dry(Candidates& c, std::span<const int32_t> window, const DryBreakers& breakers, float multiplier,
                      float base, int allowed_length, DryScratch& scratch) {
  const int n = static_cast<int>(window.size());
  if (multiplier == 0 || n <= allowed_length) return;
  const auto back = [&](int i) { return window[static_cast<std::size_t>(n - 1 - i)]; };  // i-th token from the end

  // 1. The nearest breaker (looking back from the end) limits how long a repeat can be.
  int limit = n;
  for (int i = 0; i < n && limit == n; ++i) {
    int best = -1;
    for (const auto& tail : breakers.tails(back(i))) {
      const int len = static_cast<int>(tail.size());
      if (len <= best || len > i) continue;
      bool match = true;
      for (int o = 0; o < len && match; ++o) match = tail[static_cast<std::size_t>(o)] == back(i - 1 - o);
      if (match) best = len;
    }
    if (best >= 0) limit = i - best;
  }
  if (limit < allowed_length) return;

  // 2. z[k] = length of the longest common suffix of the window and the window without its last k
  //    tokens (the Z-function of the reversed window), capped at `limit`.
  auto& z = scratch.z;
  z.assign(static_cast<std::size_t>(n), 0);
  for (int k = 1, l = 0, r = 0; k < n; ++k) {
    int len = k < r ? std::min(r - k, z[static_cast<std::size_t>(k - l)]) : 0;
    while (k + len < n && back(len) == back(k + len)) ++len;
    z[static_cast<std::size_t>(k)] = len;
    if (k + len > r) l = k, r = k + len;
  }

  // 3. A repeat of length z[k] ends k tokens before the end; the token after it would extend it.
  auto& longest = scratch.longest;
  longest.clear();
  for (int k = 1; k < n; ++k) {
    const int len = std::min(z[static_cast<std::size_t>(k)], limit);
    if (len < allowed_length) continue;
    int& m = longest[back(k - 1)];
    m = std::max(m, len);
  }
  if (longest.empty()) return;

  // 4. Penalize.
  constexpr float kLogFloatMax = 88.7228391f;
  const int max_exponent = base > 1.000001f ? static_cast<int>(kLogFloatMax / std::log(base)) : 0;
  for (auto& cd : c) {
    auto it = longest.find(cd.id);
    if (it == longest.end() || breakers.breaks_alone(cd.id)) continue;
    int e = it->second - allowed_length;
    if (max_exponent > 0) e = std::min(e, max_exponent);
    const double penalty = multiplier * std::pow(static_cast<double>(base), e);
    cd.logit -= static_cast<float>(std::min(penalty, static_cast<double>(std::numeric_limits<float>::max())));
  }
  c.logits_changed();
}

}  // namespace sampling
}  // namespace llmforge
