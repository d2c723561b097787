// SPDX-License-Identifier: MIT
// StopStringFilter: streams text while holding back only the bytes that might start a stop string.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace llmforge {

/// Cuts a text stream at the first occurrence of any stop string. Text is released as soon as it can
/// no longer be part of a stop string: after each push, the filter keeps only the longest tail that is
/// a proper prefix of some stop string, so a stop string split across any number of pushes is still
/// found and neither it nor anything after it is ever released. Stop strings are matched on bytes;
/// valid UTF-8 stop strings only ever hold back whole characters of valid UTF-8 input.
class StopStringFilter {
 public:
  StopStringFilter() = default;
  /// Empty stop strings are ignored.
  explicit StopStringFilter(std::vector<std::string> stops) : stops_(std::move(stops)) {
    std::erase_if(stops_, [](const std::string& s) { return s.empty(); });
  }

  /// Adds `piece`; appends the text that is now final to `out`. Returns true when a stop string
  /// appeared: `out` then ends right before it, matched() names it, and later pushes release nothing.
  bool push(std::string_view piece, std::string& out) {
    if (stopped_) return true;
    pending_ += piece;
    std::size_t first = std::string::npos;
    for (const auto& s : stops_)
      if (const std::size_t at = pending_.find(s); at < first) first = at, matched_ = s;  // earliest wins
    if (first != std::string::npos) {
      out.append(pending_, 0, first);
      pending_.clear();
      stopped_ = true;
      return true;
    }
    const std::size_t hold = held_tail();
    out.append(pending_, 0, pending_.size() - hold);
    pending_.erase(0, pending_.size() - hold);
    return false;
  }
  /// End of the stream: releases whatever is held back (nothing after a stop).
  void finish(std::string& out) {
    if (!stopped_) out += pending_;
    pending_.clear();
  }
  /// Starts over (same stop strings).
  void reset() {
    pending_.clear();
    matched_.clear();
    stopped_ = false;
  }

  [[nodiscard]] bool stopped() const noexcept { return stopped_; }
  /// The stop string that ended the stream (empty if none).
  [[nodiscard]] const std::string& matched() const noexcept { return matched_; }
  /// Bytes currently held back.
  [[nodiscard]] std::size_t held() const noexcept { return pending_.size(); }
  [[nodiscard]] const std::vector<std::string>& stops() const noexcept { return stops_; }

 private:
  /// Length of the longest tail of `pending_` that is a proper prefix of a stop string.
  [[nodiscard]] std::size_t held_tail() const {
    std::size_t hold = 0;
    for (const auto& s : stops_)
      for (std::size_t k = std::min(s.size() - 1, pending_.size()); k > hold; --k)
        if (pending_.compare(pending_.size() - k, k, s, 0, k) == 0) {
          hold = k;
          break;
        }
    return hold;
  }

  std::vector<std::string> stops_;
  std::string pending_;
  std::string matched_;
  bool stopped_ = false;
};

}  // namespace llmforge
