// SPDX-License-Identifier: MIT
// Run-time lookup of the block formats by GgmlType: row sizes and scalar row (de)quantization.
#pragma once

#include <string>

#include <llmforge/core/error.hpp>
#include <llmforge/quant/float.hpp>
#include <llmforge/quant/iq4_nl.hpp>
#include <llmforge/quant/k_quants.hpp>
#include <llmforge/quant/legacy.hpp>

namespace llmforge::quant {

/// Calls `fn(Tag{})` with the DType tag of `type`; returns false if the type has no QuantTraits
/// (F32 is handled by callers; it is passed as the F32 tag).
template <class Fn>
bool visit_format(GgmlType type, Fn&& fn) {
  switch (type) {
    case GgmlType::F32: fn(F32{}); return true;
    case GgmlType::F16: fn(F16{}); return true;
    case GgmlType::BF16: fn(BF16{}); return true;
    case GgmlType::Q4_0: fn(Q4_0{}); return true;
    case GgmlType::Q4_1: fn(Q4_1{}); return true;
    case GgmlType::Q5_0: fn(Q5_0{}); return true;
    case GgmlType::Q5_1: fn(Q5_1{}); return true;
    case GgmlType::Q8_0: fn(Q8_0{}); return true;
    case GgmlType::Q8_1: fn(Q8_1{}); return true;
    case GgmlType::Q2_K: fn(Q2_K{}); return true;
    case GgmlType::Q3_K: fn(Q3_K{}); return true;
    case GgmlType::Q4_K: fn(Q4_K{}); return true;
    case GgmlType::Q5_K: fn(Q5_K{}); return true;
    case GgmlType::Q6_K: fn(Q6_K{}); return true;
    case GgmlType::Q8_K: fn(Q8_K{}); return true;
    case GgmlType::IQ4_NL: fn(IQ4_NL{}); return true;
    default: return false;
  }
}

/// True if llmforge can (de)quantize this type.
[[nodiscard]] inline bool is_supported(GgmlType type) {
  return visit_format(type, [](auto) {});
}

/// Elements per block of `type` (1 for plain types).
[[nodiscard]] inline std::size_t block_size(GgmlType type) { return ggml_type_info(type).block_size; }

/// Bytes that a row of `n` elements of `type` occupies.
/// @throws ShapeError if `n` is not a multiple of the block size; UnsupportedError for unknown types.
[[nodiscard]] inline std::size_t row_bytes(GgmlType type, std::size_t n) {
  const auto info = ggml_type_info(type);
  if (info.bytes_per_block == 0) throw UnsupportedError("unknown tensor type code " + std::to_string(static_cast<uint32_t>(type)));
  if (n % info.block_size != 0)
    throw ShapeError("a row of " + std::to_string(n) + " elements cannot be stored as " + std::string(info.name) +
                     " (blocks of " + std::to_string(info.block_size) + ")");
  return n / info.block_size * info.bytes_per_block;
}

namespace detail {
[[noreturn]] inline void unsupported(GgmlType type, const char* what) {
  throw UnsupportedError(std::string("cannot ") + what + " type " + std::string(ggml_type_info(type).name) +
                         " (supported: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q2_K..Q6_K, Q8_K, IQ4_NL)");
}
}  // namespace detail

/// Dequantizes `n` elements of `type` from `src` into floats (scalar reference codecs).
/// @throws UnsupportedError for types without QuantTraits; ShapeError if `n` is not a block multiple.
inline void dequantize_row(GgmlType type, const void* src, float* dst, std::size_t n) {
  (void)row_bytes(type, n);
  if (!visit_format(type, [&](auto tag) {
        using D = decltype(tag);
        if constexpr (std::is_same_v<D, F32>) {
          std::memcpy(dst, src, n * sizeof(float));
        } else {
          QuantTraits<D>::dequantize_ref(static_cast<const typename D::storage_type*>(src), dst, n);
        }
      }))
    detail::unsupported(type, "dequantize");
}

/// Quantizes `n` floats into `type` at `dst` (what llama-quantize writes without an importance matrix).
/// @throws UnsupportedError for types without QuantTraits; ShapeError if `n` is not a block multiple.
inline void quantize_row(GgmlType type, const float* src, void* dst, std::size_t n) {
  (void)row_bytes(type, n);
  if (!visit_format(type, [&](auto tag) {
        using D = decltype(tag);
        if constexpr (std::is_same_v<D, F32>) {
          std::memcpy(dst, src, n * sizeof(float));
        } else {
          QuantTraits<D>::quantize_ref(src, static_cast<typename D::storage_type*>(dst), n);
        }
      }))
    detail::unsupported(type, "quantize to");
}

}  // namespace llmforge::quant
