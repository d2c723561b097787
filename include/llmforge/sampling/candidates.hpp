// SPDX-License-Identifier: MIT
// Candidates: the token list a sampler chain narrows down, with logits and (after softmax) probabilities.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace llmforge {

/// One token still in the running.
struct TokenCandidate {
  int32_t id = 0;
  float logit = 0;
  float p = 0;  ///< probability; valid after Candidates::softmax()
};

/// The candidates of one sampling step. Stages reorder, rescale and truncate it in place.
/// Invariants tracked by flags: `identity()` (entry i is token i, the full vocabulary in id order) and
/// `sorted()` (by logit, descending, ties to the lower id - so results never depend on sort stability).
class Candidates {
 public:
  /// Refills from one logit per vocabulary entry; no heap allocation once the capacity is reached.
  /// A NaN logit counts as -inf (it would break every comparison-based stage).
  void assign(std::span<const float> logits) {
    items_.resize(logits.size());
    for (std::size_t i = 0; i < logits.size(); ++i)
      items_[i] = {static_cast<int32_t>(i), std::isnan(logits[i]) ? -INFINITY : logits[i], 0.0f};
    identity_ = true;
    sorted_ = false;
  }
  /// Replaces the contents with `c` (for tests and custom stages). Marks them unsorted.
  void assign(std::span<const TokenCandidate> c) {
    items_.assign(c.begin(), c.end());
    identity_ = false;
    sorted_ = false;
  }

  [[nodiscard]] std::size_t size() const noexcept { return items_.size(); }
  [[nodiscard]] bool empty() const noexcept { return items_.empty(); }
  [[nodiscard]] bool identity() const noexcept { return identity_; }
  [[nodiscard]] bool sorted() const noexcept { return sorted_; }
  [[nodiscard]] TokenCandidate& operator[](std::size_t i) noexcept { return items_[i]; }
  [[nodiscard]] const TokenCandidate& operator[](std::size_t i) const noexcept { return items_[i]; }
  [[nodiscard]] auto begin() noexcept { return items_.begin(); }
  [[nodiscard]] auto end() noexcept { return items_.end(); }
  [[nodiscard]] auto begin() const noexcept { return items_.begin(); }
  [[nodiscard]] auto end() const noexcept { return items_.end(); }
  [[nodiscard]] std::span<const TokenCandidate> view() const noexcept { return items_; }

  /// Logits changed (penalties, bias, temperature of a subset): order may no longer hold.
  void logits_changed() noexcept { sorted_ = false; }
  /// Order changed by a stage that sorts by something else (typical-p).
  void reordered() noexcept {
    sorted_ = false;
    identity_ = false;
  }

  /// The logit order used everywhere: higher logit first, equal logits by lower id.
  [[nodiscard]] static bool before(const TokenCandidate& a, const TokenCandidate& b) noexcept {
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
  }
  /// Sorts by logit (descending), fully or only the first `k` entries (then keeps just those).
  void sort_top(std::size_t k) {
    if (k < items_.size()) {
      std::partial_sort(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(k), items_.end(), before);
      items_.resize(k);
    } else if (!sorted_) {
      std::sort(items_.begin(), items_.end(), before);
    }
    sorted_ = true;
    identity_ = false;
  }
  void sort() { sort_top(items_.size()); }

  /// Keeps the first `n` entries.
  void truncate(std::size_t n) {
    if (n >= items_.size()) return;
    items_.resize(n);
    identity_ = false;
  }
  /// Drops the first `n` entries (XTC removes the most likely tokens).
  void drop_front(std::size_t n) {
    items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(std::min(n, items_.size())));
    identity_ = false;
  }

  /// Sorts by logit and sets `p` to the softmax of the logits (accumulated in double).
  void softmax() {
    sort();
    if (items_.empty()) return;
    const float top = items_.front().logit;
    double sum = 0;
    for (auto& c : items_) {
      const double e = std::exp(static_cast<double>(c.logit) - top);
      c.p = static_cast<float>(e);
      sum += e;
    }
    for (auto& c : items_) c.p = static_cast<float>(c.p / sum);
  }

 private:
  std::vector<TokenCandidate> items_;
  bool identity_ = false;
  bool sorted_ = false;
};

}  // namespace llmforge
