// SPDX-License-Identifier: MIT
// Weight matrices whose storage type is decided by the model file at run time, and the matrix
// products over them. A weight is a small closed variant over the supported Tensor<DType, Cpu> types.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>

#include <llmforge/backend/thread_pool.hpp>
#include <llmforge/core/dtype.hpp>
#include <llmforge/core/error.hpp>
#include <llmforge/io/gguf_reader.hpp>
#include <llmforge/kernels/dispatch.hpp>
#include <llmforge/tensor/tensor.hpp>

namespace llmforge::nn {

/// A 2-D weight `[out_features, in_features]` in any storage type the CPU kernels support.
using AnyWeight = std::variant<Tensor<F32, Cpu>, Tensor<F16, Cpu>, Tensor<BF16, Cpu>>;

/// Shape of a weight, whatever its type.
[[nodiscard]] inline const Shape& shape_of(const AnyWeight& w) {
  return std::visit([](const auto& t) -> const Shape& { return t.shape(); }, w);
}
/// GGUF type name of a weight ("F16", "Q4_K", ...).
[[nodiscard]] inline std::string_view type_name_of(const AnyWeight& w) {
  return std::visit([](const auto& t) { return std::decay_t<decltype(t)>::dtype::kName; }, w);
}

/// A zero-copy view of a GGUF tensor as a weight.
/// @throws UnsupportedError naming the tensor and its type if no kernel handles that type.
[[nodiscard]] inline AnyWeight load_weight(const io::GgufFile& file, const io::GgufTensorInfo& info) {
  switch (info.ggml_type()) {
    case GgmlType::F32: return file.tensor<F32>(info);
    case GgmlType::F16: return file.tensor<F16>(info);
    case GgmlType::BF16: return file.tensor<BF16>(info);
    default:
      throw UnsupportedError(file.path() + ": tensor '" + info.name + "' has type " + info.type_name() +
                             ", which this build cannot compute with (supported: F32, F16, BF16)");
  }
}

namespace detail {
inline void matmul_rows(const Tensor<F32, Cpu>& w, const float* x, std::size_t xs, std::size_t n, float* y, std::size_t ys,
                        std::size_t r0, std::size_t r1) {
  kernels::matmul_f32(w.data(), static_cast<std::size_t>(w.stride(0)), x, xs, n, w.dim(1), y, ys, r0, r1);
}
inline void matmul_rows(const Tensor<F16, Cpu>& w, const float* x, std::size_t xs, std::size_t n, float* y, std::size_t ys,
                        std::size_t r0, std::size_t r1) {
  kernels::matmul_f16(w.data(), static_cast<std::size_t>(w.stride(0)), x, xs, n, w.dim(1), y, ys, r0, r1);
}
inline void matmul_rows(const Tensor<BF16, Cpu>& w, const float* x, std::size_t xs, std::size_t n, float* y, std::size_t ys,
                        std::size_t r0, std::size_t r1) {
  kernels::matmul_bf16(w.data(), static_cast<std::size_t>(w.stride(0)), x, xs, n, w.dim(1), y, ys, r0, r1);
}
}  // namespace detail

/// `y[t, :] = W · x[t, :]` for `t < n`: `x` rows have `in_features` floats (row stride `x_stride`),
/// `y` rows receive `out_features` floats (row stride `y_stride`). Rows of W are split across the pool.
inline void matmul(const AnyWeight& w, const float* x, std::size_t x_stride, std::size_t n, float* y, std::size_t y_stride,
                   ThreadPool& pool) {
  std::visit(
      [&](const auto& t) {
        const std::size_t rows = t.dim(0);
        pool.parallel_for(
            rows, [&](std::size_t r0, std::size_t r1, std::size_t) { detail::matmul_rows(t, x, x_stride, n, y, y_stride, r0, r1); },
            16);
      },
      w);
}

/// Writes row `r` of a weight (e.g. one token embedding) as floats into `out`.
/// @throws ShapeError if `r` is out of range.
inline void dequantize_row(const AnyWeight& w, std::size_t r, float* out) {
  std::visit(
      [&](const auto& t) {
        using D = typename std::decay_t<decltype(t)>::dtype;
        if (r >= t.dim(0))
          throw ShapeError("row " + std::to_string(r) + " is out of range for a weight of shape " + to_string(t.shape()));
        const auto* row = t.row(r);
        const std::size_t k = t.dim(1);
        if constexpr (std::is_same_v<D, F32>) {
          std::copy(row, row + k, out);
        } else if constexpr (std::is_same_v<D, F16>) {
          kernels::convert_f16_to_f32(row, out, k);
        } else {
          kernels::convert_bf16_to_f32(row, out, k);
        }
      },
      w);
}

}  // namespace llmforge::nn
