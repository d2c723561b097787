// SPDX-License-Identifier: MIT
// Activation policies for feed-forward blocks: SiLU (Swish) and GELU (tanh approximation).
#pragma once

#include <cmath>
#include <cstddef>

namespace llmforge::nn {

/// x * sigmoid(x), used by SwiGLU (LLaMA, Qwen, Phi-3).
struct SiLU {
  static constexpr const char* kName = "silu";
  static float apply(float x) noexcept { return x / (1.0f + std::exp(-x)); }
};

/// GELU with the tanh approximation, used by GeGLU (Gemma) and GPT-2's MLP.
struct GELU {
  static constexpr const char* kName = "gelu";
  static float apply(float x) noexcept {
    constexpr float kSqrt2OverPi = 0.7978845608028654f;
    return 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * (x + 0.044715f * x * x * x)));
  }
};

}  // namespace llmforge::nn
