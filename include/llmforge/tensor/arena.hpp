// SPDX-License-Identifier: MIT
// Arena (workspace) allocator: hands out tensors from reusable blocks so a steady-state forward pass allocates nothing.
#pragma once

#include <cstddef>
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <llmforge/backend/cpu.hpp>
#include <llmforge/tensor/tensor.hpp>

namespace llmforge {

/// A bump allocator for temporary tensors. `empty<D>(shape)` returns a tensor that *borrows* arena memory:
/// it (and every view of it) is valid until the next `reset()` or the arena's destruction. `reset()` makes all
/// memory reusable; if the previous round needed more than one block, the blocks are merged into one block of
/// the peak size, so from the second round of the same work on, no heap allocation happens at all.
/// Not thread-safe: use one arena per thread (or hand out tensors before going parallel).
class Arena {
 public:
  /// Creates an arena; `initial_bytes` > 0 allocates the first block up front.
  explicit Arena(std::size_t initial_bytes = 0) {
    blocks_.reserve(16);
    if (initial_bytes) add_block(initial_bytes);
  }
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;
  ~Arena() {
    for (auto& b : blocks_) Cpu::deallocate(b.data);
  }

  /// An uninitialised contiguous tensor of `shape` in arena memory (64-byte aligned).
  /// @throws ShapeError for a quantized DType whose last dimension is not a multiple of the block size.
  template <class D>
  [[nodiscard]] Tensor<D, Cpu> empty(const Shape& shape) {
    const std::size_t bytes = Tensor<D, Cpu>::storage_units(shape) * sizeof(typename D::storage_type);
    auto* p = static_cast<typename D::storage_type*>(allocate(bytes));
    return Tensor<D, Cpu>(kBorrow, p, shape);
  }
  /// A zero-filled contiguous tensor of `shape` in arena memory.
  template <class D>
  [[nodiscard]] Tensor<D, Cpu> zeros(const Shape& shape) {
    auto t = empty<D>(shape);
    if (t.nbytes()) std::memset(static_cast<void*>(t.data()), 0, t.nbytes());
    return t;
  }

  /// Raw 64-byte-aligned bytes valid until `reset()`.
  [[nodiscard]] void* allocate(std::size_t bytes) {
    const std::size_t need = (bytes + kAlign - 1) / kAlign * kAlign;
    if (blocks_.empty() || blocks_[current_].size - offset_ < need) {
      // Try the following blocks (kept from an earlier round) before allocating a new one.
      while (!blocks_.empty() && current_ + 1 < blocks_.size()) {
        ++current_;
        offset_ = 0;
        if (blocks_[current_].size >= need) break;
      }
      if (blocks_.empty() || blocks_[current_].size - offset_ < need) {
        add_block(std::max(need, capacity() == 0 ? kMinBlock : capacity()));
        current_ = blocks_.size() - 1;
        offset_ = 0;
      }
    }
    void* p = static_cast<char*>(blocks_[current_].data) + offset_;
    offset_ += need;
    used_ += need;
    if (used_ > peak_) peak_ = used_;
    return p;
  }

  /// Invalidates everything handed out and makes the memory reusable (merging blocks into one if needed).
  void reset() {
    if (blocks_.size() > 1) {
      const std::size_t total = std::max(capacity(), peak_);
      for (auto& b : blocks_) Cpu::deallocate(b.data);
      blocks_.clear();
      add_block(total);
    }
    current_ = 0;
    offset_ = 0;
    used_ = 0;
  }

  /// Bytes handed out since the last reset (including alignment padding).
  [[nodiscard]] std::size_t used() const noexcept { return used_; }
  /// Largest `used()` seen.
  [[nodiscard]] std::size_t peak() const noexcept { return peak_; }
  /// Bytes held in blocks.
  [[nodiscard]] std::size_t capacity() const noexcept {
    std::size_t c = 0;
    for (const auto& b : blocks_) c += b.size;
    return c;
  }
  /// Heap allocations the arena has made over its lifetime (blocks, not tensors).
  [[nodiscard]] std::size_t heap_allocations() const noexcept { return heap_allocations_; }

 private:
  static constexpr std::size_t kAlign = 64;
  static constexpr std::size_t kMinBlock = std::size_t{1} << 16;
  struct Block {
    void* data;
    std::size_t size;
  };
  void add_block(std::size_t bytes) {
    blocks_.push_back(Block{Cpu::allocate(bytes), bytes});
    ++heap_allocations_;
  }
  std::vector<Block> blocks_;
  std::size_t current_ = 0, offset_ = 0, used_ = 0, peak_ = 0, heap_allocations_ = 0;
};

}  // namespace llmforge
