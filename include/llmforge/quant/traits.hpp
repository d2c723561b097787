// SPDX-License-Identifier: MIT
// QuantTraits<Format>: the primary template every block format specializes, plus shared scalar helpers.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include <llmforge/core/dtype.hpp>
#include <llmforge/core/half.hpp>

namespace llmforge {

/// Per-format facts and scalar reference codecs. Declared, never defined: each format header
/// specializes it with `kBlockSize`, `kBytesPerBlock`, `quantize_ref(const float*, Block*, n)` and
/// `dequantize_ref(const Block*, float*, n)` (`n` a multiple of `kBlockSize`).
template <class Format>
struct QuantTraits;

/// True when `QuantTraits<F>` is specialized with the required members.
template <class F>
concept Quantizable = DType<F> && requires(const float* x, typename F::storage_type* b, float* y, std::size_t n) {
  { QuantTraits<F>::kBlockSize } -> std::convertible_to<std::size_t>;
  { QuantTraits<F>::kBytesPerBlock } -> std::convertible_to<std::size_t>;
  QuantTraits<F>::quantize_ref(x, b, n);
  QuantTraits<F>::dequantize_ref(static_cast<const typename F::storage_type*>(b), y, n);
};

/// Declares a block-format DType tag named like its GgmlType code.
#define LLMFORGE_QUANT_TAG(NAME, BLOCK, N)                       \
  struct NAME {                                                   \
    using storage_type = BLOCK;                                   \
    static constexpr std::size_t kBlockSize = N;                  \
    static constexpr GgmlType kGgmlType = GgmlType::NAME;         \
    static constexpr std::string_view kName = #NAME;              \
  };

namespace quant_detail {

/// Groups whose largest magnitude is below this quantize to all zeros (as ggml does).
inline constexpr float kGroupMaxEps = 1e-15f;

/// Round to nearest, ties to even, for |x| < 2^22 (ggml's nearest_int trick, bit for bit).
inline int nearest_int(float fval) {
  const float val = fval + 12582912.f;
  int32_t i;
  std::memcpy(&i, &val, 4);
  return (i & 0x007fffff) - 0x00400000;
}

inline float h2f(f16 h) { return f16_to_f32(h); }
inline f16 f2h(float f) { return f32_to_f16(f); }

}  // namespace quant_detail
}  // namespace llmforge
