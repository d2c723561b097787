// SPDX-License-Identifier: MIT
// The 32-element "legacy" block formats Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1: GGUF byte layouts, tags, traits.
#pragma once

#include <algorithm>
#include <cmath>

#include <llmforge/quant/traits.hpp>

namespace llmforge {

/// Q4_0: 32 values = d * (q - 8), q in [0, 15]; byte j holds q[j] (low nibble) and q[j + 16] (high).
struct BlockQ4_0 {
  f16 d;
  uint8_t qs[16];
};
/// Q4_1: 32 values = d * q + m, q in [0, 15]; same nibble order as Q4_0.
struct BlockQ4_1 {
  f16 d, m;
  uint8_t qs[16];
};
/// Q5_0: 32 values = d * (q - 16), q in [0, 31]; bit 4 of q[j] is bit j of the little-endian `qh`.
struct BlockQ5_0 {
  f16 d;
  uint8_t qh[4];
  uint8_t qs[16];
};
/// Q5_1: 32 values = d * q + m, q in [0, 31]; high bits as Q5_0.
struct BlockQ5_1 {
  f16 d, m;
  uint8_t qh[4];
  uint8_t qs[16];
};
/// Q8_0: 32 values = d * q, q in [-127, 127].
struct BlockQ8_0 {
  f16 d;
  int8_t qs[32];
};
/// Q8_1: Q8_0 plus `s = d * sum(q)` (fp16), the activation format for Q4_1/Q5_1 dot products.
struct BlockQ8_1 {
  f16 d, s;
  int8_t qs[32];
};
static_assert(sizeof(BlockQ4_0) == 18 && sizeof(BlockQ4_1) == 20 && sizeof(BlockQ5_0) == 22 &&
                  sizeof(BlockQ5_1) == 24 && sizeof(BlockQ8_0) == 34 && sizeof(BlockQ8_1) == 36,
              "legacy block layouts must match GGUF");

LLMFORGE_QUANT_TAG(Q4_0, BlockQ4_0, 32)
LLMFORGE_QUANT_TAG(Q4_1, BlockQ4_1, 32)
LLMFORGE_QUANT_TAG(Q5_0, BlockQ5_0, 32)
LLMFORGE_QUANT_TAG(Q5_1, BlockQ5_1, 32)
LLMFORGE_QUANT_TAG(Q8_0, BlockQ8_0, 32)
LLMFORGE_QUANT_TAG(Q8_1, BlockQ8_1, 32)

namespace quant_detail {
// Largest-magnitude value of a block, signed (first one wins ties), and its magnitude.
inline void signed_absmax(const float* x, std::size_t n, float& max, float& amax) {
  max = 0;
  amax = 0;
  for (std::size_t j = 0; j < n; ++j)
    if (std::fabs(x[j]) > amax) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
}
inline void min_max(const float* x, std::size_t n, float& mn, float& mx) {
  mn = x[0];
  mx = x[0];
  for (std::size_t j = 1; j < n; ++j) {
    mn = std::min(mn, x[j]);
    mx = std::max(mx, x[j]);
  }
}
}  // namespace quant_detail

template <>
struct QuantTraits<Q4_0> {
  using Block = BlockQ4_0;
  static constexpr std::size_t kBlockSize = 32, kBytesPerBlock = sizeof(Block);
  static void quantize_ref(const float* x, Block* y, std::size_t n) {
    for (std::size_t b = 0; b < n / 32; ++b, x += 32) {
      float max, amax;
      quant_detail::signed_absmax(x, 32, max, amax);
      const float d = max / -8;
      const float id = d ? 1.0f / d : 0.0f;
      y[b].d = quant_detail::f2h(d);
      for (int j = 0; j < 16; ++j) {
        const auto q0 = std::min<uint8_t>(15, static_cast<uint8_t>(static_cast<int8_t>(x[j] * id + 8.5f)));
        const auto q1 = std::min<uint8_t>(15, static_cast<uint8_t>(static_cast<int8_t>(x[j + 16] * id + 8.5f)));
        y[b].qs[j] = static_cast<uint8_t>(q0 | q1 << 4);
      }
    }
  }
  static void dequantize_ref(const Block* x, float* y, std::size_t n) {
    for (std::size_t b = 0; b < n / 32; ++b, y += 32) {
      const float d = quant_detail::h2f(x[b].d);
      for (int j = 0; j < 16; ++j) {
        y[j] = static_cast<float>((x[b].qs[j] & 0x0F) - 8) * d;
        y[j + 16] = static_cast<float>((x[b].qs[j] >> 4) - 8) * d;
      }
    }
  }
};

template <>
struct QuantTraits<Q4_1> {
  using Block = BlockQ4_1;
  static constexpr std::size_t kBlockSize = 32, kBytesPerBlock = sizeof(Block);
  static void quantize_ref(const float* x, Block* y, std::size_t n) {
    for (std::size_t b = 0; b < n / 32; ++b, x += 32) {
      float mn, mx;
      quant_detail::min_max(x, 32, mn, mx);
      const float d = (mx - mn) / 15;
      const float id = d ? 1.0f / d : 0.0f;
      y[b].d = quant_detail::f2h(d);
      y[b].m = quant_detail::f2h(mn);
      for (int j = 0; j < 16; ++j) {
        const auto q0 = std::min<uint8_t>(15, static_cast<uint8_t>(static_cast<int8_t>((x[j] - mn) * id + 0.5f)));
        const auto q1 = std::min<uint8_t>(15, static_cast<uint8_t>(static_cast<int8_t>((x[j + 16] - mn) * id + 0.5f)));
        y[b].qs[j] = static_cast<uint8_t>(q0 | q1 << 4);
      }
    }
  }
  static void dequantize_ref(const Block* x, float* y, std::size_t n) {
    for (std::size_t b = 0; b < n / 32; ++b, y += 32) {
      const float d = quant_detail::h2f(x[b].d), m = quant_detail::h2f(x[b].m);
      for (int j = 0; j < 16; ++j) {
        y[j] = static_cast<float>(x[b].qs[j] & 0x0F) * d + m;
        y[j + 16] = static_cast<float>(x[b].qs[j] >> 4) * d + m;
      }
    }
  }
};

template <>
struct QuantTraits<Q5_0> {
  using Block = BlockQ5_0;
  static constexpr std::size_t kBlockSize = 32, kBytesPerBlock = sizeof(Block);
  static void quantize_ref(const float* x, Block* y, std::size_t n) {
    for (std::size_t b = 0; b < n / 32; ++b, x += 32) {
      float max, amax;
      quant_detail::signed_absmax(x, 32, max, amax);
      const float d = max / -16;
      const float id = d ? 1.0f / d : 0.0f;
      y[b].d = quant_detail::f2h(d);
      uint32_t qh = 0;
      for (int j = 0; j < 16; ++j) {
        const auto q0 = std::min<uint8_t>(31, static_cast<uint8_t>(static_cast<int8_t>(x[j] * id + 16.5f)));
        const auto q1 = std::min<uint8_t>(31, static_cast<uint8_t>(static_cast<int8_t>(x[j + 16] * id + 16.5f)));
        y[b].qs[j] = static_cast<uint8_t>((q0 & 0x0F) | (q1 & 0x0F) << 4);
        qh |= static_cast<uint32_t>((q0 & 0x10) >> 4) << j;
        qh |= static_cast<uint32_t>((q1 & 0x10) >> 4) << (j + 16);
      }
      std::memcpy(y[b].qh, &qh, 4);
    }
  }
  static void dequantize_ref(const Block* x, float* y, std::size_t n) {
    for (std::size_t b = 0; b < n / 32; ++b, y += 32) {
      const float d = quant_detail::h2f(x[b].d);
      uint32_t qh;
      std::memcpy(&qh, x[b].qh, 4);
      for (int j = 0; j < 16; ++j) {
        const int h0 = ((qh >> j) << 4) & 0x10, h1 = (qh >> (j + 12)) & 0x10;
        y[j] = static_cast<float>(((x[b].qs[j] & 0x0F) | h0) - 16) * d;
        y[j + 16] = static_cast<float>(((x[b].qs[j] >> 4) | h1) - 16) * d;
      }
    }
  }
};

template <>
struct QuantTraits<Q5_1> {
  using Block = BlockQ5_1;
  static constexpr std::size_t kBlockSize = 32, kBytesPerBlock = sizeof(Block);
  static void quantize_ref(const float* x, Block* y, std::size_t n) {
    for (std::size_t b = 0; b < n / 32; ++b, x += 32) {
      float mn, mx;
      quant_detail::min_max(x, 32, mn, mx);
      const float d = (mx - mn) / 31;
      const float id = d ? 1.0f / d : 0.0f;
      y[b].d = quant_detail::f2h(d);
      y[b].m = quant_detail::f2h(mn);
      uint32_t qh = 0;
      for (int j = 0; j < 16; ++j) {
        const auto q0 = static_cast<uint8_t>((x[j] - mn) * id + 0.5f);
        const auto q1 = static_cast<uint8_t>((x[j + 16] - mn) * id + 0.5f);
        y[b].qs[j] = static_cast<uint8_t>((q0 & 0x0F) | (q1 & 0x0F) << 4);
        qh |= static_cast<uint32_t>((q0 & 0x10) >> 4) << j;
        qh |= static_cast<uint32_t>((q1 & 0x10) >> 4) << (j + 16);
      }
      std::memcpy(y[b].qh, &qh, 4);
    }
  }
  static void dequantize_ref(const Block* x, float* y, std::size_t n) {
    for (std::size_t b = 0; b < n / 32; ++b, y += 32) {
      const float d = quant_detail::h2f(x[b].d), m = quant_detail::h2f(x[b].m);
      uint32_t qh;
      std::memcpy(&qh, x[b].qh, 4);
      for (int j = 0; j < 16; ++j) {
        const int h0 = ((qh >> j) << 4) & 0x10, h1 = (qh >> (j + 12)) & 0x10;
        y[j] = static_cast<float>((x[b].qs[j] & 0x0F) | h0) * d + m;
        y[j + 16] = static_cast<float>((x[b].qs[j] >> 4) | h1) * d + m;
      }
    }
  }
};

template <>
struct QuantTraits<Q8_0> {
  using Block = BlockQ8_0;
  static constexpr std::size_t kBlockSize = 32, kBytesPerBlock = sizeof(Block);
  /// Weight quantizer (what llama-quantize writes): scale `amax / 127`, values `round(x / scale)`.
  static void quantize_ref(const float* x, Block* y, std::size_t n) {
    for (std::size_t b = 0; b < n / 32; ++b, x += 32) {
      float max, amax;
      quant_detail::signed_absmax(x, 32, max, amax);
      const float d = amax / 127;
      const float id = d ? 1.0f / d : 0.0f;
      y[b].d = quant_detail::f2h(d);
      for (int j = 0; j < 32; ++j) y[b].qs[j] = static_cast<int8_t>(std::round(x[j] * id));
    }
  }
  /// Activation quantizer (the CPU backend's SIMD `from_float`): multiplier `127 / amax`, ties to even.
  static void quantize_activation(const float* x, Block* y, std::size_t n) {
    for (std::size_t b = 0; b < n / 32; ++b, x += 32) {
      float max, amax;
      quant_detail::signed_absmax(x, 32, max, amax);
      const float d = amax / 127;
      const float id = amax != 0 ? 127.f / amax : 0.0f;
      y[b].d = quant_detail::f2h(d);
      for (int j = 0; j < 32; ++j) y[b].qs[j] = static_cast<int8_t>(std::nearbyint(x[j] * id));
    }
  }
  static void dequantize_ref(const Block* x, float* y, std::size_t n) {
    for (std::size_t b = 0; b < n / 32; ++b, y += 32) {
      const float d = quant_detail::h2f(x[b].d);
      for (int j = 0; j < 32; ++j) y[j] = static_cast<float>(x[b].qs[j]) * d;
    }
  }
};

template <>
struct QuantTraits<Q8_1> {
  using Block = BlockQ8_1;
  static constexpr std::size_t kBlockSize = 32, kBytesPerBlock = sizeof(Block);
  static void quantize_ref(const float* x, Block* y, std::size_t n) {
    for (std::size_t b = 0; b < n / 32; ++b, x += 32) {
      float max, amax;
      quant_detail::signed_absmax(x, 32, max, amax);
      const float d = amax / 127;
      const float id = d ? 1.0f / d : 0.0f;
      int sum = 0;
      for (int j = 0; j < 32; ++j) {
        y[b].qs[j] = static_cast<int8_t>(std::round(x[j] * id));
        sum += y[b].qs[j];
      }
      y[b].d = quant_detail::f2h(d);
      y[b].s = quant_detail::f2h(static_cast<float>(sum) * d);
    }
  }
  /// Activation quantizer (the CPU backend's SIMD `from_float`): multiplier `127 / amax`, ties to even.
  static void quantize_activation(const float* x, Block* y, std::size_t n) {
    for (std::size_t b = 0; b < n / 32; ++b, x += 32) {
      float max, amax;
      quant_detail::signed_absmax(x, 32, max, amax);
      const float d = amax / 127;
      const float id = amax != 0 ? 127.f / amax : 0.0f;
      int sum = 0;
      for (int j = 0; j < 32; ++j) {
        y[b].qs[j] = static_cast<int8_t>(std::nearbyint(x[j] * id));
        sum += y[b].qs[j];
      }
      y[b].d = quant_detail::f2h(d);
      y[b].s = quant_detail::f2h(static_cast<float>(sum) * d);
    }
  }
  static void dequantize_ref(const Block* x, float* y, std::size_t n) {
    for (std::size_t b = 0; b < n / 32; ++b, y += 32) {
      const float d = quant_detail::h2f(x[b].d);
      for (int j = 0; j < 32; ++j) y[j] = static_cast<float>(x[b].qs[j]) * d;
    }
  }
};

}  // namespace llmforge
