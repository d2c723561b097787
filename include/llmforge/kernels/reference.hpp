// SPDX-License-Identifier: MIT
// Scalar reference implementations of the dispatched kernels; tests compare the SIMD versions to these.
#pragma once

#include <cstddef>

#include <llmforge/core/half.hpp>

namespace llmforge::kernels::reference {

/// Widens one weight element to double for reference accumulation.
inline double widen(float v) { return v; }
inline double widen(f16 v) { return f16_to_f32(v); }
inline double widen(bf16 v) { return bf16_to_f32(v); }

/// Reference for matmul_f32/f16/bf16: accumulates each dot product in double.
template <class W>
void matmul(const W* w, std::size_t w_stride, const float* x, std::size_t x_stride, std::size_t n, std::size_t k,
            float* y, std::size_t y_stride, std::size_t r0, std::size_t r1) {
  for (std::size_t t = 0; t < n; ++t)
    for (std::size_t r = r0; r < r1; ++r) {
      double acc = 0;
      for (std::size_t i = 0; i < k; ++i) acc += widen(w[r * w_stride + i]) * static_cast<double>(x[t * x_stride + i]);
      y[t * y_stride + r] = static_cast<float>(acc);
    }
}

/// Sum of |w_i * x_i| of one dot product: the scale of its rounding error, used for tolerances.
template <class W>
double dot_magnitude(const W* w, const float* x, std::size_t k) {
  double acc = 0;
  for (std::size_t i = 0; i < k; ++i) {
    const double p = widen(w[i]) * static_cast<double>(x[i]);
    acc += p < 0 ? -p : p;
  }
  return acc;
}

}  // namespace llmforge::kernels::reference
