// SPDX-License-Identifier: MIT
// Scalar double-precision reference of the quantized matmul (what llama.cpp's vec_dot computes up to
// summation order); tests compare the dispatched kernels with it.
#pragma once

#include <cmath>
#include <vector>

#include <llmforge/kernels/quant_act.hpp>
#include <llmforge/quant/table.hpp>

namespace llmforge::kernels::reference {

/// Dot product of one weight row (`k` elements of `type`) with one activation row given as
/// `activation_type(type)` blocks: sum of dequantized weight x dequantized activation, in double.
/// For Q4_1/Q5_1 the block-minimum term uses the Q8_1 block's fp16 sum `s`, as llama.cpp does.
/// `magnitude` (optional) receives the sum of |terms|, the scale of legitimate rounding differences.
inline double vec_dot(GgmlType type, const void* w_row, const void* act_row, std::size_t k, double* magnitude = nullptr) {
  const GgmlType at = activation_type(type);
  std::vector<float> w(k), a(k);
  quant::dequantize_row(type, w_row, w.data(), k);
  quant::dequantize_row(at, act_row, a.data(), k);
  double acc = 0, mag = 0;
  if (at == GgmlType::Q8_1) {
    const auto* ab = static_cast<const BlockQ8_1*>(act_row);
    for (std::size_t b = 0; b < k / 32; ++b) {
      f16 mh;  // Q4_1 and Q5_1 both start with {f16 d, f16 m}
      std::memcpy(&mh, static_cast<const unsigned char*>(w_row) + b * quant::row_bytes(type, 32) + 2, 2);
      const double m = f16_to_f32(mh);
      for (std::size_t i = 32 * b; i < 32 * b + 32; ++i) {
        const double p = (static_cast<double>(w[i]) - m) * a[i];
        acc += p;
        mag += std::fabs(p);
      }
      const double ms = m * f16_to_f32(ab[b].s);
      acc += ms;
      mag += std::fabs(ms);
    }
  } else {
    for (std::size_t i = 0; i < k; ++i) {
      const double p = static_cast<double>(w[i]) * a[i];
      acc += p;
      mag += std::fabs(p);
    }
  }
  if (magnitude) *magnitude = mag;
  return acc;
}

/// Reference of matmul_quant from float activations: quantizes each activation row like the kernels
/// do, then `y[t * ys + r] = vec_dot(row r, activation row t)`; `mag` (optional, same layout as y)
/// receives each dot's magnitude.
inline void matmul_quant(GgmlType type, const void* w, std::size_t w_row_bytes, std::size_t k, const float* x,
                         std::size_t x_stride, std::size_t n, float* y, std::size_t ys, std::size_t r0, std::size_t r1,
                         double* mag = nullptr) {
  const GgmlType at = activation_type(type);
  const std::size_t arb = quant::row_bytes(at, k);
  std::vector<unsigned char> act(arb);
  for (std::size_t t = 0; t < n; ++t) {
    switch (at) {
      case GgmlType::Q8_0: QuantTraits<Q8_0>::quantize_activation(x + t * x_stride, reinterpret_cast<BlockQ8_0*>(act.data()), k); break;
      case GgmlType::Q8_1: QuantTraits<Q8_1>::quantize_activation(x + t * x_stride, reinterpret_cast<BlockQ8_1*>(act.data()), k); break;
      default: QuantTraits<Q8_K>::quantize_activation(x + t * x_stride, reinterpret_cast<BlockQ8_K*>(act.data()), k); break;
    }
    for (std::size_t r = r0; r < r1; ++r) {
      double m = 0;
      y[t * ys + r] = static_cast<float>(vec_dot(type, static_cast<const unsigned char*>(w) + r * w_row_bytes, act.data(), k, &m));
      if (mag) mag[t * ys + r] = m;
    }
  }
}

}  // namespace llmforge::kernels::reference
