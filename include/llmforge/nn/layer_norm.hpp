// SPDX-License-Identifier: MIT
// LayerNorm: subtract the mean, divide by the standard deviation, then scale and shift (GPT-2, StarCoder2).
#pragma once

#include <cmath>
#include <cstddef>
#include <optional>

#include <llmforge/nn/config.hpp>
#include <llmforge/nn/tensor_names.hpp>
#include <llmforge/tensor/tensor.hpp>

namespace llmforge::nn {

/// Layer normalisation with a learned weight and (optional) bias per channel.
struct LayerNorm {
  Tensor<F32, Cpu> weight;
  std::optional<Tensor<F32, Cpu>> bias;
  float eps = 1e-5f;

  /// Loads the weight of `role` and its bias (`bias_role(role)`, optional) in `layer`.
  static LayerNorm load(const WeightLoader& l, Role role, std::size_t layer, std::size_t dim, const ModelConfig& c) {
    return LayerNorm{l.vector(role, layer, dim), l.optional_vector(bias_role(role), layer, dim), c.norm_eps};
  }
  static std::optional<LayerNorm> load_optional(const WeightLoader& l, Role role, std::size_t layer, std::size_t dim,
                                                const ModelConfig& c) {
    auto w = l.optional_vector(role, layer, dim);
    if (!w) return std::nullopt;
    return LayerNorm{std::move(*w), l.optional_vector(bias_role(role), layer, dim), c.norm_eps};
  }

  [[nodiscard]] std::size_t dim() const { return weight.dim(0); }

  /// `out[r] = (x[r] - mean) / sqrt(var + eps) * weight + bias` over rows of `dim()` floats; may alias.
  void forward(const float* x, float* out, std::size_t rows) const {
    const std::size_t n = dim();
    const float* w = weight.data();
    const float* b = bias ? bias->data() : nullptr;
    for (std::size_t r = 0; r < rows; ++r) {
      const float* xr = x + r * n;
      float* o = out + r * n;
      double mean = 0;
      for (std::size_t i = 0; i < n; ++i) mean += xr[i];
      mean /= static_cast<double>(n);
      double var = 0;
      for (std::size_t i = 0; i < n; ++i) var += (xr[i] - mean) * (xr[i] - mean);
      const double inv = 1.0 / std::sqrt(var / static_cast<double>(n) + eps);
      for (std::size_t i = 0; i < n; ++i) {
        const float v = static_cast<float>((xr[i] - mean) * inv) * w[i];
        o[i] = b ? v + b[i] : v;
      }
    }
  }
};

}  // namespace llmforge::nn
