// SPDX-License-Identifier: MIT
// Scalar reference versions of the transformer's elementwise and attention kernels, written in the
// operation order of llama.cpp's CPU backend (x86-64, AVX-512 build), so that activations round the
// same way before they are quantized. The SIMD kernels (kernels/nn_ops-inl.hpp) are tested against
// these; on targets with fused multiply-add they agree bit for bit.
//
// Why the order matters: quantized matrix products round every activation to int8. A one-ulp
// difference in an f32 activation occasionally moves one of those roundings, and a random test model
// turns that into a logit difference of ~0.1. Matching the reference's float operation order removes
// most of those flips.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>

namespace llmforge::kernels::ref {

/// exp(x) by range reduction to [-ln2/2, ln2/2] and a degree-5 polynomial (the single-precision
/// vector exp llama.cpp uses for softmax and SiLU; < 2 ulp from the exact value). Every step is one
/// fused multiply-add or one rounded operation, so SIMD versions with FMA reproduce it exactly.
inline float exp(float x) {
  constexpr float kShift = 0x1.8p23f, kLog2e = 0x1.715476p+0f, kLn2Hi = 0x1.62e4p-1f, kLn2Lo = 0x1.7f7d1cp-20f;
  constexpr float c1 = 0x1.ffffecp-1f, c2 = 0x1.fffdb6p-2f, c3 = 0x1.555e66p-3f, c4 = 0x1.573e2ep-5f,
                  c5 = 0x1.0e4020p-7f;
  const float z = std::fma(x, kLog2e, kShift);
  const float n = z - kShift;  // round(x / ln2)
  const float b = std::fma(-n, kLn2Lo, std::fma(-n, kLn2Hi, x));
  const float u = b * b;
  const float j = std::fma(std::fma(std::fma(c5, b, c4), u, std::fma(c3, b, c2)), u, std::fma(c1, b, 1.0f));
  if (std::fabs(n) > 192.0f) return n <= 0 ? 0.0f : std::numeric_limits<float>::infinity();
  if (n < -126.0f) return j * 0x1p-64f * std::ldexp(1.0f, static_cast<int>(n) + 64);  // subnormal results
  if (n > 127.0f) return j * 2.0f * std::ldexp(1.0f, static_cast<int>(n) - 1);
  return j * std::ldexp(1.0f, static_cast<int>(n));
}

/// x * sigmoid(x) = x / (1 + exp(-x)), with `exp` above.
inline float silu(float x) { return x / (1.0f + ref::exp(-x)); }

/// RMS normalisation of one row (`rms_scale` gives the factor): the sum of squares (each square rounded to f32) is accumulated in
/// double, the mean rounded to f32, and the scale is `1 / sqrtf(mean + eps)` in f32; then
/// `out[i] = (x[i] * scale) * w[i]` (`w` may be null). `out` may alias `x`.
inline float rms_scale(const float* x, std::size_t n, float eps) {
  double sum = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const float sq = x[i] * x[i];
    sum += static_cast<double>(sq);
  }
  const float mean = static_cast<float>(sum / static_cast<double>(n));
  return 1.0f / std::sqrt(mean + eps);
}
inline void rms_norm(const float* x, const float* w, float* out, std::size_t n, float eps) {
  const float scale = rms_scale(x, n, eps);
  for (std::size_t i = 0; i < n; ++i) {
    const float y = x[i] * scale;
    out[i] = w ? y * w[i] : y;
  }
}

/// Sum of 16 lanes in the order of an AVX-512 horizontal add: halves, then quarters, then pairs.
inline float reduce16(const float* l) {
  float t3[8], t6[4];
  for (int i = 0; i < 8; ++i) t3[i] = l[i + 8] + l[i];
  for (int i = 0; i < 4; ++i) t6[i] = t3[i + 4] + t3[i];
  const float a = t6[0] + t6[2], b = t6[1] + t6[3];
  return a + b;
}

/// Dot product in the order of llama.cpp's f32 dot (AVX-512 build): blocks of 64 values go to 64
/// lane accumulators (four 16-lane registers, one fused multiply-add each), which are folded
/// register-wise ((r0 + r2) + (r1 + r3)) and then across lanes; the remaining < 64 values are added
/// one at a time.
inline float dot(const float* a, const float* b, std::size_t n) {
  const std::size_t np = n & ~std::size_t{63};
  float sum = 0.0f;
  if (np > 0) {
    float acc[64] = {};
    for (std::size_t i = 0; i < np; i += 64)
      for (std::size_t l = 0; l < 64; ++l) acc[l] = std::fma(a[i + l], b[i + l], acc[l]);
    float r[16];
    for (int l = 0; l < 16; ++l) {
      const float r0 = acc[l] + acc[32 + l], r1 = acc[16 + l] + acc[48 + l];
      r[l] = r0 + r1;
    }
    sum = reduce16(r);
  }
  // The compiled tail loop adds rounded products eight at a time in index order, and the last
  // n % 8 values with fused multiply-adds.
  const std::size_t n8 = np + ((n - np) & ~std::size_t{7});
  for (std::size_t i = np; i < n8; ++i) {
    const float prod = a[i] * b[i];
    sum += prod;
  }
  for (std::size_t i = n8; i < n; ++i) sum = std::fma(a[i], b[i], sum);
  return sum;
}

/// Softmax weights of `n` scores (already scaled; -inf for masked positions):
/// `p[j] = exp(s[j] - max) * float(1 / sum)` with the exponentials summed in blocks of 16 (each
/// block added across its lanes like `reduce16`, the block sums accumulated in double). Positions
/// past `n` up to the next multiple of 16 count as masked. Returns the double sum.
inline double softmax(const float* s, float* p, std::size_t n) {
  float mx = -std::numeric_limits<float>::infinity();
  for (std::size_t j = 0; j < n; ++j) mx = s[j] > mx ? s[j] : mx;
  double sum = 0;
  for (std::size_t j0 = 0; j0 < n; j0 += 16) {
    float lanes[16] = {};
    for (std::size_t l = 0; l < 16 && j0 + l < n; ++l) lanes[l] = p[j0 + l] = ref::exp(s[j0 + l] - mx);
    sum += static_cast<double>(reduce16(lanes));
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (std::size_t j = 0; j < n; ++j) p[j] *= inv;
  return sum;
}

/// `out[d] = sum_j p[j] * v[j * v_stride + d]` for `d < width`, summed like a 16-lane f32 GEMM:
/// position j goes to lane j % 16 (fused multiply-add chains), and the lanes are folded like `reduce16`.
inline void weighted_sum(const float* p, const float* v, std::size_t v_stride, std::size_t n, std::size_t width,
                         float* out) {
  for (std::size_t d = 0; d < width; ++d) {
    float lanes[16] = {};
    for (std::size_t j = 0; j < n; ++j) lanes[j % 16] = std::fma(p[j], v[j * v_stride + d], lanes[j % 16]);
    out[d] = reduce16(lanes);
  }
}

/// As `weighted_sum`, summed like llama.cpp's f32 dot over the positions (its single-token path):
/// the positions, padded with zero weights to a multiple of 32, go through `dot`'s order - whole
/// blocks of 64 into 64 lanes folded like `dot`, the rest added one at a time as rounded products.
inline void weighted_sum_dot(const float* p, const float* v, std::size_t v_stride, std::size_t n, std::size_t width,
                             float* out) {
  const std::size_t padded = (n + 31) & ~std::size_t{31};
  const std::size_t np = std::min(n, padded & ~std::size_t{63});
  for (std::size_t d = 0; d < width; ++d) {
    float sum = 0.0f;
    if (np > 0) {
      float acc[64] = {};
      for (std::size_t j = 0; j < np; ++j) acc[j % 64] = std::fma(p[j], v[j * v_stride + d], acc[j % 64]);
      float r[16];
      for (int l = 0; l < 16; ++l) {
        const float r0 = acc[l] + acc[32 + l], r1 = acc[16 + l] + acc[48 + l];
        r[l] = r0 + r1;
      }
      sum = reduce16(r);
    }
    for (std::size_t j = np; j < n; ++j) {
      const float prod = p[j] * v[j * v_stride + d];
      sum += prod;
    }
    out[d] = sum;
  }
}

/// cos/sin pairs for RoPE at position `pos`: the angle of pair i is pos * theta_scale^i, built by
/// repeated f32 multiplication (theta_scale = powf(base, -2 / dims)), divided by `factors[i]` when
/// given; cs[2i] = cosf, cs[2i+1] = sinf.
inline void rope_angles(std::size_t pos, float theta_scale, const float* factors, std::size_t pairs, float* cs) {
  float theta = static_cast<float>(pos);
  for (std::size_t i = 0; i < pairs; ++i) {
    const float t = factors ? theta / factors[i] : theta;
    cs[2 * i] = std::cos(t);
    cs[2 * i + 1] = std::sin(t);
    theta *= theta_scale;
  }
}

/// Rotates one pair: (x0 c - x1 s, x0 s + x1 c), each with one fused multiply-add.
inline void rope_pair(float& x0, float& x1, float c, float s) {
  const float a = std::fma(x0, c, -(x1 * s));
  const float b = std::fma(x0, s, x1 * c);
  x0 = a;
  x1 = b;
}

}  // namespace llmforge::kernels::ref
