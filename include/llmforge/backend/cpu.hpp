// SPDX-License-Identifier: MIT
// The CPU backend tag and its 64-byte-aligned allocator.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdlib>
#include <new>
#include <string_view>

namespace llmforge {

/// A Backend names where tensor memory lives and how it is allocated. Kernels are chosen per backend.
template <class B>
concept Backend = requires(std::size_t n, void* p) {
  { B::kName } -> std::convertible_to<std::string_view>;
  { B::allocate(n) } -> std::same_as<void*>;
  { B::deallocate(p) } -> std::same_as<void>;
};

/// Host memory, computed on by the Highway-dispatched CPU kernels.
struct Cpu {
  static constexpr std::string_view kName = "cpu";
  static constexpr std::size_t kAlignment = 64;

  /// Allocates `bytes` (rounded up to the alignment) aligned to 64 bytes; throws std::bad_alloc.
  static void* allocate(std::size_t bytes) {
    const std::size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
    void* p = std::aligned_alloc(kAlignment, rounded == 0 ? kAlignment : rounded);
    if (!p) throw std::bad_alloc();
    return p;
  }
  static void deallocate(void* p) { std::free(p); }
};

static_assert(Backend<Cpu>);

}  // namespace llmforge
