// SPDX-License-Identifier: MIT
// Compile-time element-type tags (F32, F16, BF16; quantized block tags live in quant/) and the DType concept.
#pragma once

#include <concepts>
#include <cstddef>
#include <string_view>
#include <type_traits>

#include <llmforge/core/ggml_type.hpp>
#include <llmforge/core/half.hpp>

namespace llmforge {

/// A DType tag names one storage format: its storage unit (a scalar or a block struct), how many
/// logical elements one unit holds, and its GGUF type code. Tensors are typed by these tags.
template <class T>
concept DType = requires {
  typename T::storage_type;
  { T::kBlockSize } -> std::convertible_to<std::size_t>;
  { T::kGgmlType } -> std::convertible_to<GgmlType>;
  { T::kName } -> std::convertible_to<std::string_view>;
} && (sizeof(typename T::storage_type) > 0) && (T::kBlockSize > 0);

/// 32-bit IEEE float.
struct F32 {
  using storage_type = float;
  static constexpr std::size_t kBlockSize = 1;
  static constexpr GgmlType kGgmlType = GgmlType::F32;
  static constexpr std::string_view kName = "F32";
};

/// IEEE binary16.
struct F16 {
  using storage_type = f16;
  static constexpr std::size_t kBlockSize = 1;
  static constexpr GgmlType kGgmlType = GgmlType::F16;
  static constexpr std::string_view kName = "F16";
};

/// bfloat16.
struct BF16 {
  using storage_type = bf16;
  static constexpr std::size_t kBlockSize = 1;
  static constexpr GgmlType kGgmlType = GgmlType::BF16;
  static constexpr std::string_view kName = "BF16";
};

/// 32-bit signed integer (token ids, positions).
struct I32 {
  using storage_type = int32_t;
  static constexpr std::size_t kBlockSize = 1;
  static constexpr GgmlType kGgmlType = GgmlType::I32;
  static constexpr std::string_view kName = "I32";
};

/// True for DTypes whose storage unit holds more than one element (quantized blocks).
template <DType D>
inline constexpr bool kIsBlockType = D::kBlockSize > 1;

/// True for DTypes holding one plain arithmetic-like value per element.
template <DType D>
inline constexpr bool kIsScalarType = D::kBlockSize == 1;

/// Bytes that `n` elements of `D` occupy; `n` must be a multiple of `D::kBlockSize`.
template <DType D>
[[nodiscard]] constexpr std::size_t bytes_for(std::size_t n) noexcept {
  return n / D::kBlockSize * sizeof(typename D::storage_type);
}

}  // namespace llmforge
