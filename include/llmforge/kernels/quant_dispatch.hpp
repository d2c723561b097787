// SPDX-License-Identifier: MIT
// Plain declarations of the dispatched quantized-weight kernels and their activation layout.
#pragma once

#include <cstddef>
#include <cstdint>

#include <llmforge/core/ggml_type.hpp>
#include <llmforge/kernels/dispatch.hpp>

namespace llmforge::kernels {

/// Elements per scale group of the integer dot products (every format's groups are 16 or 32 wide).
inline constexpr std::size_t kQuantGroup = 16;

/// Activation rows quantized to int8 for the integer dot products, in the kernels' layout. Row `t`
/// (of `n`) has `k` int8 values `q + t * k`; per group `g` of 16 values a scale `d4[t * k / 4 + 4 g]`
/// (repeated 4 times, one per 32-bit lane of a 16-byte group) and a sum term `s[t * k / 16 + g]`
/// (`d * sum(q)` of the group, or the Q8_1 block's fp16 `s` in the even group and 0 in the odd one),
/// and the exact integer sum of the group's 16 values `bs[t * k / 16 + g]`.
struct QuantActView {
  const int8_t* q = nullptr;
  const float* d4 = nullptr;
  const float* s = nullptr;
  const int16_t* bs = nullptr;
  std::size_t k = 0;
};

/// `y[t * y_stride + r] = dot(row r of w, activation row t)` for `t < n`, `r0 <= r < r1`, where `w`
/// holds rows of `k` elements of `type` (`w_row_bytes` apart) and `act` was quantized with the
/// activation type `activation_type(type)`. Throws nothing; `type` must be a quantized weight type.
/// `w_rows` is the row count of the whole matrix (0 if unknown): on x86, llama.cpp re-packs Q4_0
/// matrices whose row count is a multiple of 8 and then sums each row block by block, and the AVX2
/// kernels follow that order for such matrices (the float results depend on it).
void matmul_quant(GgmlType type, const void* w, std::size_t w_row_bytes, const QuantActView& act, std::size_t n,
                  float* y, std::size_t y_stride, std::size_t r0, std::size_t r1, std::size_t w_rows = 0);

/// RMS normalisation applied while quantizing (RMSNorm fused with activation quantization): the row's
/// value i becomes `(x[i] * scale) * w[i]` (`w` may be null), exactly as kernels::rms_norm_f32 computes
/// it, and is also written to `out[i]` when `out` is not null (`out` may be `x`).
struct ActRowNorm {
  float scale = 1;
  const float* w = nullptr;
  float* out = nullptr;
};
/// Quantizes one activation row of `k` floats as `act_type` (Q8_0, Q8_1 or Q8_K; `k` a multiple of its
/// block size), rounding as llama.cpp's CPU backend does, straight into one row of the QuantActView
/// layout: `q[k]`, `d4[k / 4]`, `s[k / 16]`, `bs[k / 16]`. With `norm`, the row is normalised first.
void quantize_act_row(GgmlType act_type, const float* x, std::size_t k, const ActRowNorm* norm, int8_t* q, float* d4,
                      float* s, int16_t* bs);
/// Decodes one weight row into the kernels' internal form (unsigned 8-bit levels `u`, group scales
/// repeated 4x in `ws4`, group offsets `wm`): value_i = ws4[4 (i/16)] * u_i + (offset handled by wm).
/// Exposed for tests and benchmarks.
void decode_quant_row(GgmlType type, const void* row, std::size_t k, uint8_t* u, float* ws4, float* wm);

}  // namespace llmforge::kernels
