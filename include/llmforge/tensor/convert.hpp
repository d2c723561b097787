// SPDX-License-Identifier: MIT
// Explicit element-type conversion between tensors (F32 <-> F16 <-> BF16, and to/from I32): round to nearest even,
// NaN, infinities and subnormals preserved.
#pragma once

#include <cstddef>
#include <type_traits>

#include <llmforge/kernels/dispatch.hpp>
#include <llmforge/tensor/detail.hpp>
#include <llmforge/tensor/tensor.hpp>

namespace llmforge {

/// Converts every element of `x` into `out` (same shape, any DType pair among F32, F16, BF16, I32).
/// F16 and BF16 widen to F32 exactly; narrowing rounds to nearest even, overflows to infinity and keeps NaN;
/// F16 <-> BF16 goes through F32 (exact first step, so there is a single rounding).
/// @throws ShapeError if the shapes differ.
template <class DS, class BS, class DD, class BD>
void convert(const Tensor<DS, BS>& x, const Tensor<DD, BD>& out) {
  static_assert(std::is_same_v<BS, BD>,
                "llmforge: the operands of this tensor op live on different Backends; copy one to the other "
                "backend first - tensor ops never move data between backends implicitly");
  static_assert(detail::CpuOperand<Tensor<DS, BS>, false>::value);
  static_assert(detail::CpuOperand<Tensor<DD, BD>, false>::value);
  detail::check_out_shape(out.shape(), x.shape(), "convert");
  using TS = typename DS::storage_type;
  using TD = typename DD::storage_type;
  detail::for_each_row<2>(x.shape(), {x.strides(), out.strides()}, [&](const auto& off, std::size_t n, const auto& st) {
    const TS* src = x.data() + off[0];
    TD* dst = out.data() + off[1];
    if constexpr (std::is_same_v<TD, float> && std::is_same_v<TS, f16>) {
      if (st[0] == 1 && st[1] == 1) return kernels::convert_f16_to_f32(src, dst, n);
    } else if constexpr (std::is_same_v<TD, float> && std::is_same_v<TS, bf16>) {
      if (st[0] == 1 && st[1] == 1) return kernels::convert_bf16_to_f32(src, dst, n);
    }
    for (std::size_t i = 0; i < n; ++i) {
      const auto ii = static_cast<std::ptrdiff_t>(i);
      if constexpr (std::is_same_v<TS, TD>)
        dst[ii * st[1]] = src[ii * st[0]];
      else
        dst[ii * st[1]] = detail::from_float<TD>(detail::to_float(src[ii * st[0]]));
    }
  });
}

/// A copy of `x` with elements converted to `D` (see `convert`). Converting to the same DType copies.
template <class D, class DS, class B>
[[nodiscard]] Tensor<D, B> to_dtype(const Tensor<DS, B>& x) {
  auto out = Tensor<D, B>::empty(x.shape());
  convert(x, out);
  return out;
}

}  // namespace llmforge
