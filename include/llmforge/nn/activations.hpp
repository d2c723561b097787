// SPDX-License-Identifier: MIT
// Activation policies for feed-forward blocks: SiLU (Swish) and GELU (tanh approximation).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include <llmforge/core/half.hpp>
#include <llmforge/kernels/dispatch.hpp>
#include <llmforge/kernels/nn_reference.hpp>

namespace llmforge::nn {

/// x * sigmoid(x), used by SwiGLU (LLaMA, Qwen, Phi-3).
struct SiLU {
  static constexpr const char* kName = "silu";
  static float apply(float x) noexcept { return kernels::ref::silu(x); }
  /// `out[i] = silu(g[i]) * u[i]` over one row (SIMD; the same values as `apply`, in llama.cpp's order).
  static void gate(const float* g, const float* u, float* out, std::size_t n) { kernels::silu_mul_f32(g, u, out, n); }
};

/// GELU with the tanh approximation, used by GeGLU (Gemma) and GPT-2's MLP.
struct GELU {
  static constexpr const char* kName = "gelu";
  static float apply(float x) noexcept {
    constexpr float kSqrt2OverPi = 0.7978845608028654f;
    return 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * (x + 0.044715f * x * x * x)));
  }
};

/// GELU (tanh form) evaluated the way llama.cpp's CPU backend does: the input is rounded to F16 and
/// the result is the F16-rounded GELU of that value (a 64K-entry table there); inputs beyond +-10
/// are clamped to 0 or x. Use it to reproduce llama.cpp's outputs closely.
struct GELUF16 {
  static constexpr const char* kName = "gelu_f16";
  static float apply(float x) noexcept {
    if (x <= -10.0f) return 0.0f;
    if (x >= 10.0f) return x;
    static const std::vector<float> table = [] {
      std::vector<float> t(65536);
      for (uint32_t i = 0; i < 65536; ++i) {
        const float v = f16_to_f32(f16{static_cast<uint16_t>(i)});
        t[i] = f16_to_f32(f32_to_f16(GELU::apply(v)));
      }
      return t;
    }();
    return table[f32_to_f16(x).bits];
  }
};

}  // namespace llmforge::nn
