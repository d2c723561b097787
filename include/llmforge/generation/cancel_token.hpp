// SPDX-License-Identifier: MIT
// CancelToken: lets another thread stop a running generation.
#pragma once

#include <atomic>
#include <memory>

namespace llmforge {

/// A flag another thread sets to stop a generation; the generating thread polls it before every token,
/// so at most the token being computed when it is set is still produced. Copies share the flag, so a
/// server can keep one copy per request and hand another to the generation. A default-constructed token
/// never fires; a token made from `const std::atomic<bool>*` observes a flag the caller owns.
class CancelToken {
 public:
  CancelToken() = default;
  /// Observes `flag` (may be nullptr: never fires). Implicit, so `.cancel = &my_flag` works.
  CancelToken(const std::atomic<bool>* flag) noexcept : flag_(flag) {}  // NOLINT(google-explicit-constructor)
  /// A token with its own flag, set by request_stop().
  [[nodiscard]] static CancelToken make() {
    CancelToken t;
    t.own_ = std::make_shared<std::atomic<bool>>(false);
    t.flag_ = t.own_.get();
    return t;
  }

  /// Asks the generation to stop (thread-safe). No effect on default or observing tokens.
  void request_stop() const noexcept {
    if (own_) own_->store(true, std::memory_order_release);
  }
  /// Forgets an earlier request (own flag only), so the token can be reused.
  void clear() const noexcept {
    if (own_) own_->store(false, std::memory_order_release);
  }
  [[nodiscard]] bool stop_requested() const noexcept { return flag_ && flag_->load(std::memory_order_acquire); }

 private:
  std::shared_ptr<std::atomic<bool>> own_;
  const std::atomic<bool>* flag_ = nullptr;
};

}  // namespace llmforge
