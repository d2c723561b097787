// SPDX-License-Identifier: MIT
// QuantTraits for the 16-bit float formats F16 and BF16 (block size 1).
#pragma once

#include <llmforge/quant/traits.hpp>

namespace llmforge {

template <>
struct QuantTraits<F16> {
  using Block = f16;
  static constexpr std::size_t kBlockSize = 1;
  static constexpr std::size_t kBytesPerBlock = 2;
  static void quantize_ref(const float* x, Block* y, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) y[i] = f32_to_f16(x[i]);
  }
  static void dequantize_ref(const Block* x, float* y, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) y[i] = f16_to_f32(x[i]);
  }
};

template <>
struct QuantTraits<BF16> {
  using Block = bf16;
  static constexpr std::size_t kBlockSize = 1;
  static constexpr std::size_t kBytesPerBlock = 2;
  static void quantize_ref(const float* x, Block* y, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) y[i] = f32_to_bf16(x[i]);
  }
  static void dequantize_ref(const Block* x, float* y, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) y[i] = bf16_to_f32(x[i]);
  }
};

}  // namespace llmforge
