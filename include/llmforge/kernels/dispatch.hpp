// SPDX-License-Identifier: MIT
// Plain declarations of the runtime-dispatched SIMD kernels (no Highway types). Definitions live in
// kernels/dispatch_impl.hpp, compiled in exactly one translation unit per program.
#pragma once

#include <cstddef>
#include <cstdint>

#include <llmforge/core/half.hpp>

namespace llmforge::kernels {

namespace detail {
// Link-time sentinel: a program that forgot the dispatch TU fails to link with this name in the error.
extern const int ERROR_missing_llmforge_kernel_TU__call_llmforge_add_kernels_or_include_dispatch_impl_hpp;
[[maybe_unused]] inline const int link_check =
    ERROR_missing_llmforge_kernel_TU__call_llmforge_add_kernels_or_include_dispatch_impl_hpp;
}  // namespace detail

/// Name of the SIMD target the dispatcher selected on this CPU (e.g. "AVX3_DL").
const char* target_name();
/// Bit mask (Highway target bits) of the targets compiled into this program.
int64_t compiled_targets();
/// Bit mask of the compiled targets this CPU can run.
int64_t runnable_targets();
/// Restricts dispatch to `mask` (0 restores normal dispatch). For tests that run every target.
void set_targets_for_test(int64_t mask);
/// Name of one Highway target bit.
const char* target_bit_name(int64_t bit);

/// Matrix product against a row-major weight matrix:
/// `y[t * y_stride + r] = sum_k w[r * w_stride + k] * x[t * x_stride + k]` for `t < n`, `r0 <= r < r1`.
/// Strides are in elements. Accumulates in f32.
void matmul_f32(const float* w, std::size_t w_stride, const float* x, std::size_t x_stride, std::size_t n,
                std::size_t k, float* y, std::size_t y_stride, std::size_t r0, std::size_t r1);
/// As matmul_f32 with F16 weights (widened to f32 exactly before multiplying).
void matmul_f16(const f16* w, std::size_t w_stride, const float* x, std::size_t x_stride, std::size_t n,
                std::size_t k, float* y, std::size_t y_stride, std::size_t r0, std::size_t r1);
/// As matmul_f32 with BF16 weights.
void matmul_bf16(const bf16* w, std::size_t w_stride, const float* x, std::size_t x_stride, std::size_t n,
                 std::size_t k, float* y, std::size_t y_stride, std::size_t r0, std::size_t r1);

/// Dot product of two f32 vectors of length `n`.
float dot_f32(const float* a, const float* b, std::size_t n);
/// `y[i] += a * x[i]` for `i < n`.
void axpy_f32(float a, const float* x, float* y, std::size_t n);

/// Widens `n` F16 values to f32.
void convert_f16_to_f32(const f16* src, float* dst, std::size_t n);
/// Widens `n` BF16 values to f32.
void convert_bf16_to_f32(const bf16* src, float* dst, std::size_t n);

}  // namespace llmforge::kernels
