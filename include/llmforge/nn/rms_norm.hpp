// SPDX-License-Identifier: MIT
// RMSNorm: scales each row by the reciprocal of its root mean square, then by a learned weight.
#pragma once

#include <cmath>
#include <cstddef>

#include <llmforge/backend/thread_pool.hpp>
#include <llmforge/core/error.hpp>
#include <llmforge/kernels/dispatch.hpp>
#include <llmforge/kernels/quant_act.hpp>
#include <llmforge/nn/config.hpp>
#include <llmforge/nn/tensor_names.hpp>
#include <llmforge/tensor/tensor.hpp>

namespace llmforge::nn {

/// Root-mean-square normalisation with a learned per-channel weight (LLaMA, Qwen, Gemma, Phi-3).
struct RMSNorm {
  Tensor<F32, Cpu> weight;
  float eps = 1e-5f;

  /// Loads the weight of `role` in `layer`, `dim` values wide.
  static RMSNorm load(const WeightLoader& l, Role role, std::size_t layer, std::size_t dim, const ModelConfig& c) {
    return RMSNorm{l.vector(role, layer, dim), c.norm_eps};
  }
  static std::optional<RMSNorm> load_optional(const WeightLoader& l, Role role, std::size_t layer, std::size_t dim,
                                              const ModelConfig& c) {
    auto w = l.optional_vector(role, layer, dim);
    if (!w) return std::nullopt;
    return RMSNorm{std::move(*w), c.norm_eps};
  }

  [[nodiscard]] std::size_t dim() const { return weight.dim(0); }

  /// `out[r] = x[r] / sqrt(mean(x[r]^2) + eps) * weight` for each of `rows` rows of `dim()` floats.
  /// `out` may alias `x`.
  void forward(const float* x, float* out, std::size_t rows) const {
    const std::size_t n = dim();
    for (std::size_t r = 0; r < rows; ++r) kernels::rms_norm_f32(x + r * n, weight.data(), out + r * n, n, eps);
  }

  /// `forward` fused with activation quantization: also quantizes the normalised rows as `act_type`
  /// (Q8_0, Q8_1 or Q8_K) into `act`, in the same pass (rows split across `pool` when there are several).
  /// `out` and `act` hold exactly what `forward` and then `act.quantize` would produce.
  void forward_quantized(const float* x, float* out, std::size_t rows, GgmlType act_type, kernels::QuantActivations& act,
                         ThreadPool& pool) const {
    const std::size_t n = dim();
    act.quantize_rms_normed(act_type, x, n, rows, n, weight.data(), eps, out, n, &pool);
  }
};

}  // namespace llmforge::nn
