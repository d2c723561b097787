// SPDX-License-Identifier: MIT
// IQ4_NL: 32-element blocks of 4-bit indices into a fixed non-linear table, one fp16 scale per block.
#pragma once

#include <algorithm>
#include <cmath>

#include <llmforge/quant/traits.hpp>

namespace llmforge {

/// IQ4_NL: value = d * kIq4nlValues[idx]; byte j holds idx[j] (low nibble) and idx[j + 16] (high).
struct BlockIQ4_NL {
  f16 d;
  uint8_t qs[16];
};
static_assert(sizeof(BlockIQ4_NL) == 18, "IQ4_NL block layout must match GGUF");

LLMFORGE_QUANT_TAG(IQ4_NL, BlockIQ4_NL, 32)

/// The 16 IQ4_NL levels.
inline constexpr int8_t kIq4nlValues[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

namespace quant_detail {
/// Index of the table level nearest to `x` (ties to the upper level, as ggml).
inline int nearest_level(const int8_t* val, int n, float x) {
  if (x <= val[0]) return 0;
  if (x >= val[n - 1]) return n - 1;
  int lo = 0, hi = n - 1;
  while (hi - lo > 1) {
    const int mid = (lo + hi) / 2;
    if (x < val[mid]) {
      hi = mid;
    } else {
      lo = mid;
    }
  }
  return x - static_cast<float>(val[hi - 1]) < static_cast<float>(val[hi]) - x ? hi - 1 : hi;
}
}  // namespace quant_detail

template <>
struct QuantTraits<IQ4_NL> {
  using Block = BlockIQ4_NL;
  static constexpr std::size_t kBlockSize = 32, kBytesPerBlock = sizeof(Block);

  /// Quantizes one block with `ntry` extra scales tried on each side of the first guess; ntry = 7 is
  /// what llama-quantize writes (the default here), ntry = 0 the plain row reference.
  static void quantize_block(const float* x, Block& o, int ntry) {
    using namespace quant_detail;
    const int8_t* v = kIq4nlValues;
    float w[32];
    uint8_t L[32] = {};
    for (int j = 0; j < 32; ++j) w[j] = x[j] * x[j];
    float amax = 0, max = 0;
    for (int j = 0; j < 32; ++j)
      if (std::fabs(x[j]) > amax) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    float scale = 0;
    if (amax >= kGroupMaxEps) {
      float d = ntry > 0 ? -max / v[0] : max / v[0];
      float id = 1 / d;
      float sumqx = 0, sumq2 = 0;
      for (int j = 0; j < 32; ++j) {
        const int l = nearest_level(v, 16, id * x[j]);
        L[j] = static_cast<uint8_t>(l);
        const float q = v[l];
        sumqx += w[j] * q * x[j];
        sumq2 += w[j] * q * q;
      }
      d = sumqx / sumq2;
      float best = d * sumqx;
      for (int itry = -ntry; itry <= ntry; ++itry) {
        id = (static_cast<float>(itry) + v[0]) / max;
        sumqx = sumq2 = 0;
        for (int j = 0; j < 32; ++j) {
          const float q = v[nearest_level(v, 16, id * x[j])];
          sumqx += w[j] * q * x[j];
          sumq2 += w[j] * q * q;
        }
        if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
          d = sumqx / sumq2;
          best = d * sumqx;
        }
      }
      scale = d;
    }
    o.d = f2h(scale);
    if (ntry > 0) {
      const float id = scale ? 1 / scale : 0;
      for (int j = 0; j < 32; ++j) L[j] = static_cast<uint8_t>(nearest_level(v, 16, id * x[j]));
    }
    for (int j = 0; j < 16; ++j) o.qs[j] = static_cast<uint8_t>(L[j] | L[j + 16] << 4);
  }
  static void quantize_ref(const float* x, Block* y, std::size_t n) {
    for (std::size_t b = 0; b < n / 32; ++b) quantize_block(x + 32 * b, y[b], 7);
  }
  static void dequantize_ref(const Block* x, float* y, std::size_t n) {
    for (std::size_t b = 0; b < n / 32; ++b, y += 32) {
      const float d = quant_detail::h2f(x[b].d);
      for (int j = 0; j < 16; ++j) {
        y[j] = d * static_cast<float>(kIq4nlValues[x[b].qs[j] & 0xF]);
        y[j + 16] = d * static_cast<float>(kIq4nlValues[x[b].qs[j] >> 4]);
      }
    }
  }
};

}  // namespace llmforge
