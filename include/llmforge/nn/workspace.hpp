// SPDX-License-Identifier: MIT
// Scratch buffers of a forward pass: sized on first use, reused afterwards (no allocation in steady decode).
#pragma once

#include <array>
#include <cstddef>
#include <vector>

namespace llmforge::nn {

/// Named scratch slots of one forward pass. `get(slot, n)` returns at least `n` floats; memory only
/// grows, so after the first (largest) batch the forward pass allocates nothing.
class Workspace {
 public:
  enum Slot : std::size_t { Hidden, Normed, Query, Key, Value, AttnOut, Tmp, Gate, Up, Logits, Extra, kSlotCount };

  [[nodiscard]] float* get(Slot slot, std::size_t n) {
    auto& v = buffers_[slot];
    if (v.size() < n) {
      v.resize(n);
      ++allocations_;
    }
    return v.data();
  }
  /// Per-thread scratch (attention scores, ...), at least `n` floats for thread `thread`.
  [[nodiscard]] float* thread_scratch(std::size_t thread, std::size_t n) {
    if (per_thread_.size() <= thread) {
      per_thread_.resize(thread + 1);
      ++allocations_;
    }
    auto& v = per_thread_[thread];
    if (v.size() < n) {
      v.resize(n);
      ++allocations_;
    }
    return v.data();
  }
  /// Prepares per-thread scratch for `threads` threads up front (so workers never resize the outer vector).
  void reserve_threads(std::size_t threads, std::size_t n) {
    for (std::size_t t = 0; t < threads; ++t) (void)thread_scratch(t, n);
  }
  /// How many times a buffer had to grow (a test checks that decode stops growing after warm-up).
  [[nodiscard]] std::size_t allocations() const noexcept { return allocations_; }

 private:
  std::array<std::vector<float>, kSlotCount> buffers_;
  std::vector<std::vector<float>> per_thread_;
  std::size_t allocations_ = 0;
};

}  // namespace llmforge::nn
