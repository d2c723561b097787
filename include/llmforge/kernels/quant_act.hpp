// SPDX-License-Identifier: MIT
// Activation quantization for the integer dot products (Q8_0 / Q8_1 / Q8_K blocks, as llama.cpp's CPU
// backend makes them) into the kernels' layout (QuantActView), optionally fused with RMSNorm; and the
// conversion of ready-made blocks to that layout.
#pragma once

#include <cstring>
#include <vector>

#include <llmforge/backend/thread_pool.hpp>
#include <llmforge/core/error.hpp>
#include <llmforge/kernels/nn_reference.hpp>
#include <llmforge/kernels/quant_dispatch.hpp>
#include <llmforge/quant/table.hpp>

namespace llmforge::kernels {

/// The activation block type a quantized weight type is multiplied with: Q8_1 for Q4_1/Q5_1, Q8_K
/// for the k-quants, Q8_0 for Q4_0/Q5_0/Q8_0/IQ4_NL.
/// @throws UnsupportedError if `weight` has no integer kernel.
[[nodiscard]] inline GgmlType activation_type(GgmlType weight) {
  switch (weight) {
    case GgmlType::Q4_0: case GgmlType::Q5_0: case GgmlType::Q8_0: case GgmlType::IQ4_NL: return GgmlType::Q8_0;
    case GgmlType::Q4_1: case GgmlType::Q5_1: return GgmlType::Q8_1;
    case GgmlType::Q2_K: case GgmlType::Q3_K: case GgmlType::Q4_K: case GgmlType::Q5_K: case GgmlType::Q6_K:
      return GgmlType::Q8_K;
    default:
      throw UnsupportedError("no integer matmul kernel for weight type " + std::string(ggml_type_info(weight).name));
  }
}

/// True if `weight` is multiplied through the integer (quantized-activation) kernels.
[[nodiscard]] inline bool has_quant_kernel(GgmlType weight) {
  switch (weight) {
    case GgmlType::Q4_0: case GgmlType::Q5_0: case GgmlType::Q8_0: case GgmlType::IQ4_NL: case GgmlType::Q4_1:
    case GgmlType::Q5_1: case GgmlType::Q2_K: case GgmlType::Q3_K: case GgmlType::Q4_K: case GgmlType::Q5_K:
    case GgmlType::Q6_K:
      return true;
    default: return false;
  }
}

/// Quantized activation rows. Buffers only grow, so re-quantizing rows of the same or smaller size
/// does not allocate.
class QuantActivations {
 public:
  /// Quantizes `n` rows of `k` floats (row stride `x_stride`) to `act_type` blocks (Q8_0, Q8_1 or Q8_K).
  /// With a `pool`, several rows (a prompt) are quantized in parallel.
  /// @throws ShapeError if `k` is not a multiple of the block size; UnsupportedError for other types.
  void quantize(GgmlType act_type, const float* x, std::size_t x_stride, std::size_t n, std::size_t k,
                ThreadPool* pool = nullptr) {
    run(act_type, x, x_stride, n, k, false, nullptr, 0, nullptr, 0, pool);
  }

  /// RMSNorm fused with quantization: row `t` is normalised exactly as
  /// `kernels::rms_norm_f32(x_t, w, out_t, k, eps)` would do it (`w` may be null), the result written to
  /// `out` (rows `out_stride` apart; may be `x`) unless `out` is null, and quantized in the same pass.
  void quantize_rms_normed(GgmlType act_type, const float* x, std::size_t x_stride, std::size_t n, std::size_t k,
                           const float* w, float eps, float* out, std::size_t out_stride, ThreadPool* pool = nullptr) {
    run(act_type, x, x_stride, n, k, true, w, eps, out, out_stride, pool);
  }

  /// Takes `n` rows of `k` values already quantized as `act_type` blocks (rows contiguous).
  void from_blocks(GgmlType act_type, const void* blocks, std::size_t n, std::size_t k) {
    check(act_type, k);
    reserve(n, k);
    const std::size_t rb = quant::row_bytes(act_type, k);
    for (std::size_t t = 0; t < n; ++t) unpack_row(act_type, static_cast<const unsigned char*>(blocks) + t * rb, t);
  }

  [[nodiscard]] QuantActView view() const noexcept { return {q_.data(), d4_.data(), s_.data(), bs_.data(), k_}; }
  [[nodiscard]] std::size_t rows() const noexcept { return n_; }

 private:
  // Quantizes rows as `quantize` does; with `normed`, RMS-normalises them first (`w`, `eps`, `out` as in
  // quantize_rms_normed).
  void run(GgmlType act_type, const float* x, std::size_t x_stride, std::size_t n, std::size_t k, bool normed,
           const float* w, float eps, float* out, std::size_t out_stride, ThreadPool* pool) {
    check(act_type, k);
    reserve(n, k);
    auto rows = [&](std::size_t t0, std::size_t t1, std::size_t = 0) {
      for (std::size_t t = t0; t < t1; ++t) {
        const float* xt = x + t * x_stride;
        ActRowNorm norm;
        if (normed) norm = {ref::rms_scale(xt, k, eps), w, out ? out + t * out_stride : nullptr};
        quantize_act_row(act_type, xt, k, normed ? &norm : nullptr, q_.data() + t * k, d4_.data() + t * k / 4,
                         s_.data() + t * k / 16, bs_.data() + t * k / 16);
      }
    };
    if (pool && n >= 4) pool->parallel_for(n, rows);
    else rows(0, n);
  }
  static void check(GgmlType act_type, std::size_t k) {
    if (act_type != GgmlType::Q8_0 && act_type != GgmlType::Q8_1 && act_type != GgmlType::Q8_K)
      throw UnsupportedError("activation type must be Q8_0, Q8_1 or Q8_K");
    if (k % quant::block_size(act_type) != 0)
      throw ShapeError("activation rows of " + std::to_string(k) + " values are not whole " +
                       std::string(ggml_type_info(act_type).name) + " blocks");
  }
  void reserve(std::size_t n, std::size_t k) {
    k_ = k;
    n_ = n;
    grow(q_, n * k);
    grow(d4_, n * k / 4);
    grow(s_, n * k / 16);
    grow(bs_, n * k / 16);
  }
  // Row t of the kernels' layout from one row of blocks.
  void unpack_row(GgmlType act_type, const unsigned char* row, std::size_t t) {
    const std::size_t k = k_;
    int8_t* q = q_.data() + t * k;
    float* d4 = d4_.data() + t * k / 4;
    float* s = s_.data() + t * k / 16;
    int16_t* bs = bs_.data() + t * k / 16;
    if (act_type == GgmlType::Q8_K) {
      const auto* b = reinterpret_cast<const BlockQ8_K*>(row);
      for (std::size_t i = 0; i < k / 256; ++i) {
        std::memcpy(q + 256 * i, b[i].qs, 256);
        for (int l = 0; l < 64; ++l) d4[64 * i + l] = b[i].d;
      }
    } else {
      const bool q81 = act_type == GgmlType::Q8_1;
      const std::size_t block_bytes = q81 ? sizeof(BlockQ8_1) : sizeof(BlockQ8_0);
      for (std::size_t i = 0; i < k / 32; ++i) {
        const unsigned char* b = row + i * block_bytes;
        f16 dh;
        std::memcpy(&dh, b, 2);
        std::memcpy(q + 32 * i, b + (q81 ? 4 : 2), 32);
        for (int l = 0; l < 8; ++l) d4[8 * i + l] = f16_to_f32(dh);
      }
    }
    for (std::size_t g = 0; g < k / 16; ++g) {
      int sum = 0;
      for (std::size_t l = 0; l < 16; ++l) sum += q[16 * g + l];
      bs[g] = static_cast<int16_t>(sum);  // |sum| <= 16 * 128
      s[g] = d4[4 * g] * static_cast<float>(sum);
    }
    if (act_type == GgmlType::Q8_1) {
      for (std::size_t i = 0; i < k / 32; ++i) {  // the block's own fp16 s, as llama.cpp uses it
        f16 sh;
        std::memcpy(&sh, row + i * sizeof(BlockQ8_1) + 2, 2);
        s[2 * i] = f16_to_f32(sh);
        s[2 * i + 1] = 0;
      }
    }
  }

  template <class T>
  static void grow(std::vector<T>& v, std::size_t n) {
    if (v.size() < n) v.resize(n);
  }
  std::vector<int8_t> q_;
  std::vector<float> d4_, s_;
  std::vector<int16_t> bs_;
  std::size_t k_ = 0, n_ = 0;
};

}  // namespace llmforge::kernels
