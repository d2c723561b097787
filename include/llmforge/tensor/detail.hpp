// SPDX-License-Identifier: MIT
// Internals shared by the tensor operations: type checks with readable messages, element conversion,
// broadcasting and strided iteration. Users do not name anything here.
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>

#include <llmforge/backend/cpu.hpp>
#include <llmforge/core/dtype.hpp>
#include <llmforge/core/error.hpp>
#include <llmforge/core/half.hpp>
#include <llmforge/kernels/dispatch.hpp>
#include <llmforge/tensor/shape.hpp>
#include <llmforge/tensor/tensor.hpp>

namespace llmforge::detail {

template <class T>
inline constexpr bool kIsTensor = false;
template <class D, class B>
inline constexpr bool kIsTensor<Tensor<D, B>> = true;

/// True for the DTypes the float math operations accept.
template <class D>
inline constexpr bool kIsFloatType = std::is_same_v<D, F32> || std::is_same_v<D, F16> || std::is_same_v<D, BF16>;

/// Compile-time check that tensor operands agree: one DType and one Backend per op, Cpu for now.
template <class TA, class TB>
struct SameTensorTypes {
  static_assert(std::is_same_v<typename TA::dtype, typename TB::dtype>,
                "llmforge: the operands of this tensor op have different DTypes (e.g. F32 and F16); convert one "
                "explicitly with to_dtype<D>(t) first - tensor ops never convert element types implicitly");
  static_assert(std::is_same_v<typename TA::backend, typename TB::backend>,
                "llmforge: the operands of this tensor op live on different Backends; copy one to the other "
                "backend first - tensor ops never move data between backends implicitly");
  static constexpr bool value = true;
};

/// Compile-time check that an op runs on the CPU backend with a DType it supports.
template <class T, bool kFloatOnly>
struct CpuOperand {
  static_assert(std::is_same_v<typename T::backend, Cpu>,
                "llmforge: tensor ops are implemented for the Cpu backend only in this build");
  static_assert(!kFloatOnly || kIsFloatType<typename T::dtype>,
                "llmforge: this tensor op computes in floating point and needs an F32, F16 or BF16 tensor "
                "(dequantize or convert with to_dtype<F32>(t) first)");
  static_assert(kIsScalarType<typename T::dtype>,
                "llmforge: tensor ops need a scalar DType; dequantize quantized block tensors first");
  static constexpr bool value = true;
};

inline float to_float(float v) { return v; }
inline float to_float(f16 v) { return f16_to_f32(v); }
inline float to_float(bf16 v) { return bf16_to_f32(v); }
inline float to_float(int32_t v) { return static_cast<float>(v); }
inline float to_float(uint8_t v) { return static_cast<float>(v); }

template <class T>
inline T from_float(float v) {
  if constexpr (std::is_same_v<T, float>) {
    return v;
  } else if constexpr (std::is_same_v<T, f16>) {
    return f32_to_f16(v);
  } else if constexpr (std::is_same_v<T, bf16>) {
    return f32_to_bf16(v);
  } else if constexpr (std::is_same_v<T, uint8_t>) {
    return static_cast<uint8_t>(v != 0.0f);
  } else {
    return static_cast<T>(v);  // truncates toward zero, as NumPy astype does
  }
}

template <class D>
constexpr kernels::ElemType elem_type() {
  if constexpr (std::is_same_v<D, F32>) return kernels::ElemType::F32;
  if constexpr (std::is_same_v<D, F16>) return kernels::ElemType::F16;
  return kernels::ElemType::BF16;
}

/// NumPy broadcasting of two shapes: align at the right; each pair of extents must match or one is 1.
/// @throws ShapeError naming both shapes and the first incompatible dimension.
inline Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const std::size_t r = a.rank() > b.rank() ? a.rank() : b.rank();
  Shape out;
  for (std::size_t i = 0; i < r; ++i) {
    const std::size_t ai = i + a.rank() >= r ? a[i + a.rank() - r] : 1;
    const std::size_t bi = i + b.rank() >= r ? b[i + b.rank() - r] : 1;
    if (ai != bi && ai != 1 && bi != 1)
      throw ShapeError(std::string(op) + ": shapes " + to_string(a) + " and " + to_string(b) +
                       " cannot be broadcast together (dimension " + std::to_string(i) + " of the result: " +
                       std::to_string(ai) + " vs " + std::to_string(bi) + ")");
    out.push_back(ai == 1 ? bi : ai);
  }
  return out;
}

/// Throws ShapeError unless `out` has exactly shape `want`.
inline void check_out_shape(const Shape& out, const Shape& want, const char* op) {
  if (out != want)
    throw ShapeError(std::string(op) + ": output has shape " + to_string(out) + ", expected " + to_string(want));
}

/// Visits every innermost row of a `shape`-sized iteration space shared by K strided operands.
/// `fn(offsets, n, inner_strides)` gets each operand's storage offset of the row start, the row length and
/// each operand's stride along the last dimension. Allocation-free.
template <std::size_t K, class Fn>
void for_each_row(const Shape& shape, const std::array<Strides, K>& strides, Fn&& fn) {
  std::array<std::ptrdiff_t, K> off{};
  std::array<std::ptrdiff_t, K> inner{};
  if (shape.rank() == 0) {
    fn(off, std::size_t{1}, inner);
    return;
  }
  for (std::size_t d = 0; d < shape.rank(); ++d)
    if (shape[d] == 0) return;
  const std::size_t r = shape.rank();
  for (std::size_t k = 0; k < K; ++k) inner[k] = strides[k][r - 1];
  std::array<std::size_t, kMaxRank> idx{};
  for (;;) {
    fn(off, shape[r - 1], inner);
    // advance the odometer over dimensions [0, r-1)
    std::size_t d = r - 1;
    for (;;) {
      if (d == 0) return;
      --d;
      if (++idx[d] < shape[d]) {
        for (std::size_t k = 0; k < K; ++k) off[k] += strides[k][d];
        break;
      }
      for (std::size_t k = 0; k < K; ++k) off[k] -= strides[k][d] * static_cast<std::ptrdiff_t>(idx[d] - 1);
      idx[d] = 0;
    }
  }
}

/// Storage offset of multi-index `idx` under `strides`.
inline std::ptrdiff_t offset_of(const std::array<std::size_t, kMaxRank>& idx, const Strides& strides) {
  std::ptrdiff_t o = 0;
  for (std::size_t i = 0; i < strides.rank(); ++i) o += static_cast<std::ptrdiff_t>(idx[i]) * strides[i];
  return o;
}

/// Advances a row-major multi-index over `shape`; returns false after the last index.
inline bool next_index(std::array<std::size_t, kMaxRank>& idx, const Shape& shape) {
  for (std::size_t d = shape.rank(); d-- > 0;) {
    if (++idx[d] < shape[d]) return true;
    idx[d] = 0;
  }
  return false;
}

}  // namespace llmforge::detail
