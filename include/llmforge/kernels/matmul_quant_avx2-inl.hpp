// SPDX-License-Identifier: MIT
// AVX2 bodies of the quantized-weight matrix products that reproduce llama.cpp's CPU backend (b4748)
// bit for bit. One weight row is multiplied with up to four activation rows at a time: each weight
// block is expanded into registers once, and every token keeps its own accumulators, so a token's
// arithmetic is exactly llama.cpp's: the same int32 lane sums, the same int -> float conversions, the
// same float products of scales, the same accumulators and the same final reductions.
//  - single tokens and the k-quants / Q4_1 / Q5_1 follow ggml_vec_dot_<type>_q8_<x> (__AVX2__ code);
//  - prompts of >= 2 tokens with Q4_0 / Q5_0 / Q8_0 / IQ4_NL weights follow llamafile's tinyBLAS_Q0_AVX
//    (one accumulator per output, fma(dA * dB, lane sums), 8-lane horizontal sum). For the first three
//    that order equals vec_dot's; IQ4_NL's vec_dot alternates two accumulators instead.
#if defined(LLMFORGE_KERNELS_MATMUL_QUANT_AVX2_INL_HPP_) == defined(HWY_TARGET_TOGGLE)
#ifdef LLMFORGE_KERNELS_MATMUL_QUANT_AVX2_INL_HPP_
#undef LLMFORGE_KERNELS_MATMUL_QUANT_AVX2_INL_HPP_
#else
#define LLMFORGE_KERNELS_MATMUL_QUANT_AVX2_INL_HPP_
#endif

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include <hwy/highway.h>

#include <llmforge/core/half.hpp>
#include <llmforge/kernels/quant_dispatch.hpp>
#include <llmforge/quant/iq4_nl.hpp>
#include <llmforge/quant/k_quants.hpp>
#include <llmforge/quant/legacy.hpp>

#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX2  // AVX2 and every AVX-512 target
#include <immintrin.h>

HWY_BEFORE_NAMESPACE();
namespace llmforge::kernels::HWY_NAMESPACE {

// llama.cpp's build contracts `sum += a * b` in its scalar code into one fused multiply-add (GCC's
// default -ffp-contract=fast with FMA enabled). These kernels state every fused multiply-add
// explicitly, so their results do not depend on this file's own contraction setting.
inline constexpr bool kQaScalarFma = true;

// Activation rows in the kernels' layout (QuantActView), token t at q + t * k, d4 + t * k / 4, s and bs + t * k / 16.
struct QaAct {
  const int8_t* q;
  const float* d4;
  const float* s;
  const int16_t* bs;
  std::size_t k;

  // Tokens t0, t0 + 1, ... of these rows.
  [[nodiscard]] QaAct from(std::size_t t0) const { return {q + t0 * k, d4 + t0 * (k / 4), s + t0 * (k / 16), bs + t0 * (k / 16), k}; }
};

// Which of llama.cpp's summation orders a product follows (see qa_matmul).
enum class QaOrder { VecDot, TinyBlas, Interleaved };

HWY_INLINE __m256i qa_load(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// `acc += v` kept as a running sum: without the (empty) asm barrier GCC re-associates the eight
// chunk products of a super-block into a tree and, with several tokens, spills them to the stack.
// Integer sums are exact, so this changes speed only.
HWY_INLINE __m256i qa_add_running(__m256i acc, __m256i v) {
  acc = _mm256_add_epi32(acc, v);
  __asm__("" : "+x"(acc));
  return acc;
}
HWY_INLINE float qa_h2f(f16 h) { return _cvtsh_ss(h.bits); }
HWY_INLINE float qa_mla(float a, float b, float c) {
  if constexpr (kQaScalarFma) return _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(a), _mm_set_ss(b), _mm_set_ss(c)));
  return a * b + c;
}

// Horizontal sums in llama.cpp's order: high + low half, then lanes {0+2, 1+3}, then those two.
HWY_INLINE float qa_hsum4(__m128 r) {
  r = _mm_add_ps(r, _mm_movehl_ps(r, r));
  return _mm_cvtss_f32(_mm_add_ss(r, _mm_movehdup_ps(r)));
}
HWY_INLINE float qa_hsum(__m256 v) { return qa_hsum4(_mm_add_ps(_mm256_extractf128_ps(v, 1), _mm256_castps256_ps128(v))); }

// Lane l (of 8) = sum of the 4 products w[4l..4l+3] * x[4l..4l+3]: signed weights with the sign trick,
// unsigned levels directly (u8 x i8 pairs are exact in int16 for every format here).
HWY_INLINE __m256i qa_dot_ss(__m256i w, __m256i x) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w)), _mm256_set1_epi16(1));
}
HWY_INLINE __m256i qa_dot_us(__m256i u, __m256i x) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, x), _mm256_set1_epi16(1));
}
// Same, with the int16 pair sums weighted by per-pair scales (k-quant group scales).
HWY_INLINE __m256i qa_dot_ss_scaled(__m256i w, __m256i x, __m256i sc16) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w)), sc16);
}
// Sixteen int8 group scales of a super-block widened to int16 once, handed out per 32-value chunk
// by an in-lane byte shuffle: pair(c) holds scale 2c in the low 128 bits (values 0..15 of the chunk)
// and scale 2c + 1 in the high 128 bits.
struct QaScales16 {
  __m256i lo, hi;  // scales 0..7 and 8..15 as int16, repeated in both 128-bit halves
  HWY_INLINE explicit QaScales16(__m128i s8)
      : lo(_mm256_broadcastsi128_si256(_mm_cvtepi8_epi16(s8))),
        hi(_mm256_broadcastsi128_si256(_mm_cvtepi8_epi16(_mm_srli_si128(s8, 8)))) {}
  HWY_INLINE __m256i pair(int c) const {
    const int j = c & 3;  // int16 lanes 2j (low half) and 2j + 1 (high half) of lo or hi
    const __m256i mask = _mm256_setr_epi8(
        static_cast<char>(4 * j), static_cast<char>(4 * j + 1), static_cast<char>(4 * j), static_cast<char>(4 * j + 1),
        static_cast<char>(4 * j), static_cast<char>(4 * j + 1), static_cast<char>(4 * j), static_cast<char>(4 * j + 1),
        static_cast<char>(4 * j), static_cast<char>(4 * j + 1), static_cast<char>(4 * j), static_cast<char>(4 * j + 1),
        static_cast<char>(4 * j), static_cast<char>(4 * j + 1), static_cast<char>(4 * j), static_cast<char>(4 * j + 1),
        static_cast<char>(4 * j + 2), static_cast<char>(4 * j + 3), static_cast<char>(4 * j + 2), static_cast<char>(4 * j + 3),
        static_cast<char>(4 * j + 2), static_cast<char>(4 * j + 3), static_cast<char>(4 * j + 2), static_cast<char>(4 * j + 3),
        static_cast<char>(4 * j + 2), static_cast<char>(4 * j + 3), static_cast<char>(4 * j + 2), static_cast<char>(4 * j + 3),
        static_cast<char>(4 * j + 2), static_cast<char>(4 * j + 3), static_cast<char>(4 * j + 2), static_cast<char>(4 * j + 3));
    return _mm256_shuffle_epi8(c < 4 ? lo : hi, mask);
  }
};

// Q3_K: the sixteen 6-bit scales minus 32 (int8), unpacked from their 12-byte packing: low nibbles
// from bytes 0..7 (scales 0..7 low, 8..15 high nibble), two high bits per scale from bytes 8..11.
HWY_INLINE __m128i qa_q3k_scales(const uint8_t* packed) {
  uint32_t u[3];
  std::memcpy(u, packed, 12);
  const uint32_t m4 = 0x0f0f0f0fu, m2 = 0x03030303u;
  const __m128i v = _mm_setr_epi32(static_cast<int>((u[0] & m4) | ((u[2] & m2) << 4)),
                                   static_cast<int>((u[1] & m4) | (((u[2] >> 2) & m2) << 4)),
                                   static_cast<int>(((u[0] >> 4) & m4) | (((u[2] >> 4) & m2) << 4)),
                                   static_cast<int>(((u[1] >> 4) & m4) | (((u[2] >> 6) & m2) << 4)));
  return _mm_sub_epi8(v, _mm_set1_epi8(32));
}

// Q4_K / Q5_K: the eight 6-bit scales (bytes 0..7) and minimums (bytes 8..15) of a super-block,
// unpacked from their 12-byte packing with 32-bit word operations.
HWY_INLINE __m128i qa_k4_scales_mins(const uint8_t* packed) {
  uint32_t u[3];
  std::memcpy(u, packed, 12);
  const uint32_t sc_lo = u[0] & 0x3f3f3f3fu, mn_lo = u[1] & 0x3f3f3f3fu;
  const uint32_t sc_hi = (u[2] & 0x0f0f0f0fu) | (((u[0] >> 6) & 0x03030303u) << 4);
  const uint32_t mn_hi = ((u[2] >> 4) & 0x0f0f0f0fu) | (((u[1] >> 6) & 0x03030303u) << 4);
  return _mm_setr_epi32(static_cast<int>(sc_lo), static_cast<int>(sc_hi), static_cast<int>(mn_lo), static_cast<int>(mn_hi));
}

// 16 bytes of nibble pairs -> 32 levels (low nibbles first), as the 32-value formats store them.
HWY_INLINE __m256i qa_nibbles(const uint8_t* qs) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  return _mm256_and_si256(_mm256_insertf128_si256(_mm256_castsi128_si256(v), _mm_srli_epi16(v, 4), 1),
                          _mm256_set1_epi8(0x0F));
}
// 32 bits -> 32 bytes, 0xFF where the bit is set.
HWY_INLINE __m256i qa_bits(const uint8_t* qh) {
  uint32_t bits;
  std::memcpy(&bits, qh, 4);
  const __m256i shuf = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0);
  const __m256i b = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(bits)), shuf);
  return _mm256_cmpeq_epi8(_mm256_or_si256(b, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe)), _mm256_set1_epi64x(-1));
}

// Q8_K group sums (16 x int16) of token t's super-block i.
HWY_INLINE __m256i qa_bsums(QaAct a, std::size_t t, std::size_t i) { return qa_load(a.bs + t * (a.k / 16) + 16 * i); }

// ---- 32-value formats ----

template <GgmlType kType>
inline constexpr bool kQaWithMin = kType == GgmlType::Q4_1 || kType == GgmlType::Q5_1;

// Block i expanded to 32 signed weights (unsigned levels for the formats with a minimum).
template <GgmlType kType>
HWY_INLINE __m256i qa_block32(const uint8_t* row, std::size_t i, float& d, float& m) {
  if constexpr (kType == GgmlType::Q4_0) {
    const auto& b = reinterpret_cast<const BlockQ4_0*>(row)[i];
    d = qa_h2f(b.d);
    return _mm256_sub_epi8(qa_nibbles(b.qs), _mm256_set1_epi8(8));
  } else if constexpr (kType == GgmlType::Q4_1) {
    const auto& b = reinterpret_cast<const BlockQ4_1*>(row)[i];
    d = qa_h2f(b.d);
    m = qa_h2f(b.m);
    return qa_nibbles(b.qs);
  } else if constexpr (kType == GgmlType::Q5_0) {
    const auto& b = reinterpret_cast<const BlockQ5_0*>(row)[i];
    d = qa_h2f(b.d);
    // (level | 0xF0) where the fifth bit is clear = level - 16 as int8.
    return _mm256_or_si256(qa_nibbles(b.qs), _mm256_andnot_si256(qa_bits(b.qh), _mm256_set1_epi8(static_cast<char>(0xF0))));
  } else if constexpr (kType == GgmlType::Q5_1) {
    const auto& b = reinterpret_cast<const BlockQ5_1*>(row)[i];
    d = qa_h2f(b.d);
    m = qa_h2f(b.m);
    return _mm256_or_si256(qa_nibbles(b.qs), _mm256_and_si256(qa_bits(b.qh), _mm256_set1_epi8(0x10)));
  } else if constexpr (kType == GgmlType::Q8_0) {
    const auto& b = reinterpret_cast<const BlockQ8_0*>(row)[i];
    d = qa_h2f(b.d);
    return qa_load(b.qs);
  } else {
    static_assert(kType == GgmlType::IQ4_NL, "unexpected 32-value format");
    const auto& b = reinterpret_cast<const BlockIQ4_NL*>(row)[i];
    d = qa_h2f(b.d);
    const __m128i lut = _mm_loadu_si128(reinterpret_cast<const __m128i*>(kIq4nlValues));
    return _mm256_shuffle_epi8(_mm256_insertf128_si256(_mm256_castsi128_si256(lut), lut, 1), qa_nibbles(b.qs));
  }
}

// Per block: acc = fma(dw * dx, lane sums, acc); the formats with a minimum add m * s in scalar.
// IQ4_NL's vec_dot (not tinyBLAS) keeps even and odd blocks in two accumulators and adds an odd
// last block in scalar after the horizontal sum.
HWY_INLINE int qa_isum(__m256i p) {
  const __m128i h = _mm_add_epi32(_mm256_castsi256_si128(p), _mm256_extracti128_si256(p, 1));
  const __m128i h2 = _mm_add_epi32(h, _mm_unpackhi_epi64(h, h));
  return _mm_cvtsi128_si32(_mm_add_epi32(h2, _mm_shuffle_epi32(h2, 1)));
}
template <GgmlType kType, int NT>
HWY_NOINLINE void qa_row32(const uint8_t* row, QaAct a, QaOrder order, float* out) {
  const std::size_t k = a.k, nb = k / 32;
  if constexpr (kType == GgmlType::Q4_0) {
    if (order == QaOrder::Interleaved) {
      // Re-packed Q4_0 (llama.cpp's 8-row interleaved layout on x86): each block's integer dot is
      // summed completely, then acc = fma(float(sum), dw * dx, acc), one block after another.
      float acc[NT] = {};
      for (std::size_t i = 0; i < nb; ++i) {
        float dw, mw = 0.f;
        const __m256i w = qa_block32<kType>(row, i, dw, mw);
        for (int t = 0; t < NT; ++t) {
          const int isum = qa_isum(qa_dot_ss(w, qa_load(a.q + t * k + 32 * i)));
          acc[t] = _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(static_cast<float>(isum)), _mm_set_ss(dw * a.d4[t * (k / 4) + 8 * i]), _mm_set_ss(acc[t])));
        }
      }
      for (int t = 0; t < NT; ++t) out[t] = acc[t];
      return;
    }
  }
  const bool pairs = kType == GgmlType::IQ4_NL && order == QaOrder::VecDot;
  const std::size_t nb_vec = pairs ? nb & ~std::size_t{1} : nb;
  __m256 acc0[NT], acc1[NT];
  float summs[NT];
  for (int t = 0; t < NT; ++t) {
    acc0[t] = acc1[t] = _mm256_setzero_ps();
    summs[t] = 0.f;
  }
  for (std::size_t i = 0; i < nb_vec; ++i) {
    float dw, mw = 0.f;
    const __m256i w = qa_block32<kType>(row, i, dw, mw);
    for (int t = 0; t < NT; ++t) {
      const __m256i x = qa_load(a.q + t * k + 32 * i);
      const __m256 p = _mm256_cvtepi32_ps(kQaWithMin<kType> ? qa_dot_us(w, x) : qa_dot_ss(w, x));
      const __m256 sc = _mm256_set1_ps(dw * a.d4[t * (k / 4) + 8 * i]);
      if (pairs && (i & 1)) {
        acc1[t] = _mm256_fmadd_ps(sc, p, acc1[t]);
      } else {
        acc0[t] = _mm256_fmadd_ps(sc, p, acc0[t]);
      }
      if constexpr (kQaWithMin<kType>) summs[t] = qa_mla(mw, a.s[t * (k / 16) + 2 * i], summs[t]);
    }
  }
  for (int t = 0; t < NT; ++t) {
    float r = qa_hsum(pairs ? _mm256_add_ps(acc0[t], acc1[t]) : acc0[t]);
    if constexpr (kQaWithMin<kType>) r += summs[t];
    if (pairs && nb_vec < nb) {
      float dw, mw;
      const __m256i w = qa_block32<kType>(row, nb_vec, dw, mw);
      const int sumi = qa_isum(qa_dot_ss(w, qa_load(a.q + t * k + 32 * nb_vec)));
      r = qa_mla(a.d4[t * (k / 4) + 8 * nb_vec] * dw, static_cast<float>(sumi), r);
    }
    out[t] = r;
  }
}

// Two rows against NT tokens in the one-accumulator order (tinyBLAS, and vec_dot for all but IQ4_NL):
// per output exactly qa_row32's arithmetic, but each activation block is loaded once for both rows
// and the scale products come from broadcast vectors (a float product either way).
template <GgmlType kType, int NT>
HWY_NOINLINE void qa_rows2_32(const uint8_t* row0, const uint8_t* row1, QaAct a, float* out0, float* out1) {
  const std::size_t k = a.k, nb = k / 32;
  __m256 acc0[NT], acc1[NT];
  float summs0[NT], summs1[NT];
  for (int t = 0; t < NT; ++t) {
    acc0[t] = acc1[t] = _mm256_setzero_ps();
    summs0[t] = summs1[t] = 0.f;
  }
  for (std::size_t i = 0; i < nb; ++i) {
    float dw0, dw1, mw0 = 0.f, mw1 = 0.f;
    const __m256i w0 = qa_block32<kType>(row0, i, dw0, mw0);
    const __m256i w1 = qa_block32<kType>(row1, i, dw1, mw1);
    const __m256 vd0 = _mm256_set1_ps(dw0), vd1 = _mm256_set1_ps(dw1);
    for (int t = 0; t < NT; ++t) {
      const __m256i x = qa_load(a.q + t * k + 32 * i);
      const __m256 dx = _mm256_broadcast_ss(a.d4 + t * (k / 4) + 8 * i);
      const __m256 p0 = _mm256_cvtepi32_ps(kQaWithMin<kType> ? qa_dot_us(w0, x) : qa_dot_ss(w0, x));
      const __m256 p1 = _mm256_cvtepi32_ps(kQaWithMin<kType> ? qa_dot_us(w1, x) : qa_dot_ss(w1, x));
      acc0[t] = _mm256_fmadd_ps(_mm256_mul_ps(vd0, dx), p0, acc0[t]);
      acc1[t] = _mm256_fmadd_ps(_mm256_mul_ps(vd1, dx), p1, acc1[t]);
      if constexpr (kQaWithMin<kType>) {
        summs0[t] = qa_mla(mw0, a.s[t * (k / 16) + 2 * i], summs0[t]);
        summs1[t] = qa_mla(mw1, a.s[t * (k / 16) + 2 * i], summs1[t]);
      }
    }
  }
  for (int t = 0; t < NT; ++t) {
    out0[t] = qa_hsum(acc0[t]);
    out1[t] = qa_hsum(acc1[t]);
    if constexpr (kQaWithMin<kType>) {
      out0[t] += summs0[t];
      out1[t] += summs1[t];
    }
  }
}

// `type` must be one of the 32-value formats.
template <int NT>
HWY_INLINE void qa_rows2_n(GgmlType type, const uint8_t* row0, const uint8_t* row1, QaAct a, float* out0, float* out1) {
  switch (type) {
    case GgmlType::Q4_0: qa_rows2_32<GgmlType::Q4_0, NT>(row0, row1, a, out0, out1); return;
    case GgmlType::Q4_1: qa_rows2_32<GgmlType::Q4_1, NT>(row0, row1, a, out0, out1); return;
    case GgmlType::Q5_0: qa_rows2_32<GgmlType::Q5_0, NT>(row0, row1, a, out0, out1); return;
    case GgmlType::Q5_1: qa_rows2_32<GgmlType::Q5_1, NT>(row0, row1, a, out0, out1); return;
    case GgmlType::Q8_0: qa_rows2_32<GgmlType::Q8_0, NT>(row0, row1, a, out0, out1); return;
    default: qa_rows2_32<GgmlType::IQ4_NL, NT>(row0, row1, a, out0, out1); return;
  }
}

// ---- k-quants (256-value super-blocks, Q8_K activations) ----
// Each 32-value chunk c adds scale * (4 products) into int32 lane l (values 4l..4l+3 of the chunk),
// exactly the lanes of llama.cpp's `sumi`; per super-block: acc = fma(dx * dw, float(sumi), acc).

// Signed-weight k-quants (Q3_K, Q6_K): the 32 weights `w` of chunk at value offset `off`, scaled per
// 16 by `scv`, added into each token's int32 lanes.
template <int NT>
HWY_INLINE void qa_add_chunk(__m256i* sumi, __m256i w, __m256i scv, QaAct a, std::size_t off) {
  for (int t = 0; t < NT; ++t) sumi[t] = qa_add_running(sumi[t], qa_dot_ss_scaled(w, qa_load(a.q + t * a.k + off), scv));
}
// End of super-block i: acc = fma(dx * dw, float(sumi), acc) per token.
template <int NT>
HWY_INLINE void qa_add_superblock(__m256* acc, const __m256i* sumi, float dw, QaAct a, std::size_t i) {
  for (int t = 0; t < NT; ++t)
    acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(a.d4[t * (a.k / 4) + 64 * i] * dw), _mm256_cvtepi32_ps(sumi[t]), acc[t]);
}

template <int NT>
HWY_NOINLINE void qa_row_q2_k(const BlockQ2_K* b, QaAct a, float* out) {
  const std::size_t k = a.k;
  const __m256i m3 = _mm256_set1_epi8(3);
  __m256 acc[NT];
  for (int t = 0; t < NT; ++t) acc[t] = _mm256_setzero_ps();
  for (std::size_t i = 0; i < k / 256; ++i) {
    const float dw = qa_h2f(b[i].d), mw = qa_h2f(b[i].dmin);
    const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b[i].scales));
    const __m256i mins = _mm256_cvtepi8_epi16(_mm_and_si128(_mm_srli_epi16(packed, 4), _mm_set1_epi8(0x0F)));
    const QaScales16 scales(_mm_and_si128(packed, _mm_set1_epi8(0x0F)));
    __m256i sumi[NT];
    for (int t = 0; t < NT; ++t) sumi[t] = _mm256_setzero_si256();
    for (int c = 0; c < 8; ++c) {
      const __m256i lv = _mm256_and_si256(_mm256_srli_epi16(qa_load(b[i].qs + 32 * (c / 4)), 2 * (c % 4)), m3);
      const __m256i sc = scales.pair(c);
      for (int t = 0; t < NT; ++t) {
        const __m256i x = qa_load(a.q + t * k + 256 * i + 32 * c);
        sumi[t] = qa_add_running(sumi[t], _mm256_madd_epi16(_mm256_maddubs_epi16(lv, x), sc));
      }
    }
    for (int t = 0; t < NT; ++t) {
      const float dx = a.d4[t * (k / 4) + 64 * i];
      const __m256i prod = _mm256_madd_epi16(mins, qa_bsums(a, t, i));
      acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(-dx * mw), _mm256_cvtepi32_ps(prod), acc[t]);
      acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(dx * dw), _mm256_cvtepi32_ps(sumi[t]), acc[t]);
    }
  }
  for (int t = 0; t < NT; ++t) out[t] = qa_hsum(acc[t]);
}

template <int NT>
HWY_NOINLINE void qa_row_q3_k(const BlockQ3_K* b, QaAct a, float* out) {
  const std::size_t k = a.k;
  const __m256i m3 = _mm256_set1_epi8(3), one = _mm256_set1_epi8(1), four = _mm256_set1_epi8(4);
  __m256 acc[NT];
  for (int t = 0; t < NT; ++t) acc[t] = _mm256_setzero_ps();
  for (std::size_t i = 0; i < k / 256; ++i) {
    const QaScales16 scales(qa_q3k_scales(b[i].scales));
    const __m256i hm = qa_load(b[i].hmask);
    __m256i sumi[NT];
    for (int t = 0; t < NT; ++t) sumi[t] = _mm256_setzero_si256();
    for (int c = 0; c < 8; ++c) {
      const __m256i lo = _mm256_and_si256(_mm256_srli_epi16(qa_load(b[i].qs + 32 * (c / 4)), 2 * (c % 4)), m3);
      const __m256i hb = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hm, c), one), 2);
      const __m256i w = _mm256_sub_epi8(_mm256_or_si256(lo, hb), four);  // level - 4
      qa_add_chunk<NT>(sumi, w, scales.pair(c), a, 256 * i + 32 * c);
    }
    qa_add_superblock<NT>(acc, sumi, qa_h2f(b[i].d), a, i);
  }
  for (int t = 0; t < NT; ++t) out[t] = qa_hsum(acc[t]);
}

// Q4_K and Q5_K: one 6-bit scale per 32 values; the minimums are weighted with pairs of Q8_K group
// sums in int32 and scaled in float, into a 4-lane accumulator (Q4_K) or one scalar (Q5_K).
template <bool kFive, int NT, class Block>
HWY_NOINLINE void qa_row_q45_k(const Block* b, QaAct a, float* out) {
  const std::size_t k = a.k;
  const __m256i m4 = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1);
  __m256 acc[NT];
  __m128 acc_m[NT];
  float summs[NT];
  for (int t = 0; t < NT; ++t) {
    acc[t] = _mm256_setzero_ps();
    acc_m[t] = _mm_setzero_ps();
    summs[t] = 0.f;
  }
  for (std::size_t i = 0; i < k / 256; ++i) {
    const __m128i sc_mn = qa_k4_scales_mins(b[i].scales);
    // Scale c (of the eight 32-value chunks) in every int16 lane: bytes 2c, 2c + 1 of the widened scales.
    const __m256i sc16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(sc_mn));
    __m256i hbits = _mm256_setzero_si256();
    if constexpr (kFive) hbits = qa_load(b[i].qh);
    __m256i sumi[NT];
    for (int t = 0; t < NT; ++t) sumi[t] = _mm256_setzero_si256();
    for (int c = 0; c < 8; ++c) {
      __m256i lv = _mm256_and_si256(_mm256_srli_epi16(qa_load(b[i].qs + 32 * (c / 2)), 4 * (c % 2)), m4);
      if constexpr (kFive)
        lv = _mm256_or_si256(lv, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hbits, c), one), 4));
      const __m256i scv = _mm256_shuffle_epi8(sc16, _mm256_set1_epi16(static_cast<int16_t>(0x0100 + 0x0202 * c)));
      for (int t = 0; t < NT; ++t) {
        const __m256i x = qa_load(a.q + t * k + 256 * i + 32 * c);
        sumi[t] = qa_add_running(sumi[t], _mm256_madd_epi16(_mm256_maddubs_epi16(lv, x), scv));
      }
    }
    const float dw = qa_h2f(b[i].d), mw = qa_h2f(b[i].dmin);
    const __m128i mins = _mm_cvtepu8_epi16(_mm_srli_si128(sc_mn, 8));
    for (int t = 0; t < NT; ++t) {
      const float dx = a.d4[t * (k / 4) + 64 * i];
      const __m256i bs = qa_bsums(a, t, i);
      const __m128i pairs = _mm_hadd_epi16(_mm256_castsi256_si128(bs), _mm256_extracti128_si256(bs, 1));
      const __m128i prod = _mm_madd_epi16(mins, pairs);  // lane m: mins 2m, 2m+1
      const float dmin = -dx * mw;
      if constexpr (kFive) {
        const __m128i h = _mm_add_epi32(prod, _mm_unpackhi_epi64(prod, prod));
        const int isum = _mm_cvtsi128_si32(_mm_add_epi32(h, _mm_shuffle_epi32(h, 1)));
        summs[t] = qa_mla(dmin, static_cast<float>(isum), summs[t]);
      } else {
        acc_m[t] = _mm_fmadd_ps(_mm_set1_ps(dmin), _mm_cvtepi32_ps(prod), acc_m[t]);
      }
      acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(dx * dw), _mm256_cvtepi32_ps(sumi[t]), acc[t]);
    }
  }
  for (int t = 0; t < NT; ++t) out[t] = qa_hsum(acc[t]) + (kFive ? summs[t] : qa_hsum4(acc_m[t]));
}

template <int NT>
HWY_NOINLINE void qa_row_q6_k(const BlockQ6_K* b, QaAct a, float* out) {
  const std::size_t k = a.k;
  const __m256i m4 = _mm256_set1_epi8(0x0F), m3 = _mm256_set1_epi8(3), m32 = _mm256_set1_epi8(32);
  __m256 acc[NT];
  for (int t = 0; t < NT; ++t) acc[t] = _mm256_setzero_ps();
  for (std::size_t i = 0; i < k / 256; ++i) {
    const QaScales16 scales(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b[i].scales)));
    __m256i sumi[NT];
    for (int t = 0; t < NT; ++t) sumi[t] = _mm256_setzero_si256();
    for (int c = 0; c < 8; ++c) {
      const int h = c / 4, cc = c % 4;
      const __m256i ql = qa_load(b[i].ql + 64 * h + 32 * (cc & 1));
      const __m256i lo = _mm256_and_si256(cc & 2 ? _mm256_srli_epi16(ql, 4) : ql, m4);
      const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(qa_load(b[i].qh + 32 * h), 2 * cc), m3);
      const __m256i w = _mm256_sub_epi8(_mm256_or_si256(lo, _mm256_slli_epi16(hi, 4)), m32);  // level - 32
      qa_add_chunk<NT>(sumi, w, scales.pair(c), a, 256 * i + 32 * c);
    }
    qa_add_superblock<NT>(acc, sumi, qa_h2f(b[i].d), a, i);
  }
  for (int t = 0; t < NT; ++t) out[t] = qa_hsum(acc[t]);
}

template <int NT>
HWY_INLINE bool qa_row_n(GgmlType type, const uint8_t* row, QaAct a, QaOrder order, float* out) {
  switch (type) {
    case GgmlType::Q4_0: qa_row32<GgmlType::Q4_0, NT>(row, a, order, out); return true;
    case GgmlType::Q4_1: qa_row32<GgmlType::Q4_1, NT>(row, a, order, out); return true;
    case GgmlType::Q5_0: qa_row32<GgmlType::Q5_0, NT>(row, a, order, out); return true;
    case GgmlType::Q5_1: qa_row32<GgmlType::Q5_1, NT>(row, a, order, out); return true;
    case GgmlType::Q8_0: qa_row32<GgmlType::Q8_0, NT>(row, a, order, out); return true;
    case GgmlType::IQ4_NL: qa_row32<GgmlType::IQ4_NL, NT>(row, a, order, out); return true;
    case GgmlType::Q2_K: qa_row_q2_k<NT>(reinterpret_cast<const BlockQ2_K*>(row), a, out); return true;
    case GgmlType::Q3_K: qa_row_q3_k<NT>(reinterpret_cast<const BlockQ3_K*>(row), a, out); return true;
    case GgmlType::Q4_K: qa_row_q45_k<false, NT>(reinterpret_cast<const BlockQ4_K*>(row), a, out); return true;
    case GgmlType::Q5_K: qa_row_q45_k<true, NT>(reinterpret_cast<const BlockQ5_K*>(row), a, out); return true;
    case GgmlType::Q6_K: qa_row_q6_k<NT>(reinterpret_cast<const BlockQ6_K*>(row), a, out); return true;
    default: return false;
  }
}

// Eight Q4_0 rows against NT tokens in the re-packed order (the same arithmetic as qa_row32's
// Interleaved branch, row by row): each row's block sum is formed in int32 and lane r of one vector
// keeps row r's accumulator. Rows r and r + 4 share a register (low and high 128 bits), so one
// maddubs covers 16 values of two rows; the weights enter as unsigned levels (0..15) and subtracting
// 8 * (sum of the activation block) gives the same integer as the signed weights would.
template <int NT>
HWY_NOINLINE void qa_q4_0_rows8(const uint8_t* w, std::size_t row_bytes, QaAct a, float* out) {
  const std::size_t k = a.k, nb = k / 32;
  const __m256i m4 = _mm256_set1_epi8(0x0F), ones16 = _mm256_set1_epi16(1);
  __m256 acc[NT];
  for (int t = 0; t < NT; ++t) acc[t] = _mm256_setzero_ps();
  const BlockQ4_0* b[8];
  for (int r = 0; r < 8; ++r) b[r] = reinterpret_cast<const BlockQ4_0*>(w + r * row_bytes);
  // The eight rows are read as eight interleaved streams, which the hardware prefetcher follows
  // poorly; instead the next eight rows (contiguous bytes) are prefetched in order, as many bytes per
  // block step as the step consumes. A prefetch past the matrix is harmless (it never faults); the
  // address is formed as an integer, not as a pointer past the end.
  const uintptr_t next = reinterpret_cast<uintptr_t>(w) + 8 * row_bytes;
  for (std::size_t i = 0; i < nb; ++i) {
    for (std::size_t off = 0; off < 8 * sizeof(BlockQ4_0); off += 64)
      _mm_prefetch(reinterpret_cast<const char*>(next + 8 * sizeof(BlockQ4_0) * i + off), _MM_HINT_T0);
    // Low nibbles (values 0..15 of the block) and high nibbles (16..31) of rows {r, r + 4}.
    __m256i lo[4], hi[4];
    for (int r = 0; r < 4; ++r) {
      const __m256i q = _mm256_inserti128_si256(
          _mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b[r][i].qs))),
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(b[r + 4][i].qs)), 1);
      lo[r] = _mm256_and_si256(q, m4);
      hi[r] = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
    }
    // The eight fp16 scales, inserted in registers (a store and reload would stall store forwarding).
    const __m128i dbits = _mm_setr_epi16(static_cast<short>(b[0][i].d.bits), static_cast<short>(b[1][i].d.bits),
                                         static_cast<short>(b[2][i].d.bits), static_cast<short>(b[3][i].d.bits),
                                         static_cast<short>(b[4][i].d.bits), static_cast<short>(b[5][i].d.bits),
                                         static_cast<short>(b[6][i].d.bits), static_cast<short>(b[7][i].d.bits));
    const __m256 dw = _mm256_cvtph_ps(dbits);
    for (int t = 0; t < NT; ++t) {
      const int8_t* x = a.q + t * k + 32 * i;
      const __m256i xl = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x)));
      const __m256i xh = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + 16)));
      __m256i p[4];  // lanes 0-3: partial sums of row r, lanes 4-7: of row r + 4 (|int16 lane| <= 4 * 15 * 128)
      for (int r = 0; r < 4; ++r)
        p[r] = _mm256_madd_epi16(_mm256_add_epi16(_mm256_maddubs_epi16(lo[r], xl), _mm256_maddubs_epi16(hi[r], xh)), ones16);
      // hadd(hadd(p0, p1), hadd(p2, p3)) = rows 0, 1, 2, 3 | 4, 5, 6, 7.
      const __m256i sums = _mm256_hadd_epi32(_mm256_hadd_epi32(p[0], p[1]), _mm256_hadd_epi32(p[2], p[3]));
      const int16_t* bs = a.bs + t * (k / 16) + 2 * i;
      const __m256i isum = _mm256_sub_epi32(sums, _mm256_set1_epi32(8 * (bs[0] + bs[1])));
      const __m256 sc = _mm256_mul_ps(dw, _mm256_set1_ps(a.d4[t * (k / 4) + 8 * i]));
      acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), sc, acc[t]);
    }
  }
  for (int t = 0; t < NT; ++t) _mm256_storeu_ps(out + 8 * t, acc[t]);
}

// Calls f.template operator()<NT>() with the compile-time token count NT = nt (1..4).
template <class F>
HWY_INLINE void qa_with_tokens(std::size_t nt, F&& f) {
  if (nt == 4) f.template operator()<4>();
  else if (nt == 3) f.template operator()<3>();
  else if (nt == 2) f.template operator()<2>();
  else f.template operator()<1>();
}

// Calls step(r, t0, nt) for every whole step of `rstep` rows in [r0, r1) and every group of up to four
// tokens (t0, nt), and returns the first row it did not cover. Rows go in blocks of `tile` rows (a
// multiple of rstep); within a block the token groups are the outer loop, so a group's activations
// stay in L1 while the block's weight rows (a few KiB each, held in L2) meet them, instead of every
// row streaming all n activation rows from L2 again. Each output is still computed by one kernel
// call in the same arithmetic, so the order of the calls does not change any result.
template <class Step>
HWY_INLINE std::size_t qa_tiled(std::size_t r0, std::size_t r1, std::size_t rstep, std::size_t n, std::size_t tile,
                                Step&& step) {
  const std::size_t end = r0 + (r1 - r0) / rstep * rstep;
  for (std::size_t rb = r0; rb < end; rb += tile) {
    const std::size_t re = end - rb < tile ? end : rb + tile;
    for (std::size_t t0 = 0; t0 < n; t0 += 4) {
      const std::size_t nt = n - t0 < 4 ? n - t0 : 4;
      for (std::size_t r = rb; r < re; r += rstep) step(r, t0, nt);
    }
  }
  return end;
}

// Rows [r0, r1) of y = W x for n activation rows; each weight row meets the tokens four at a time.
// The order follows llama.cpp: re-packed Q4_0 (`interleaved`), else tinyBLAS for n >= 2 (the formats
// it serves), else vec_dot.
// Returns false (nothing written) for a type without a kernel here.
HWY_INLINE bool qa_matmul(GgmlType type, const uint8_t* w, std::size_t row_bytes, QaAct a, std::size_t n, float* y,
                          std::size_t ys, std::size_t r0, std::size_t r1, bool interleaved) {
  const QaOrder order = interleaved ? QaOrder::Interleaved : n >= 2 ? QaOrder::TinyBlas : QaOrder::VecDot;
  // Rows per tile (qa_tiled): 32 rows are 36-100 KiB of 4-6-bit weights for k = 2048-5632, well inside L2.
  constexpr std::size_t kTile = 32;
  if (order == QaOrder::Interleaved && type == GgmlType::Q4_0) {
    r0 = qa_tiled(r0, r1, 8, n, kTile, [&](std::size_t r, std::size_t t0, std::size_t nt) {
      float out8[32];
      const QaAct at = a.from(t0);
      const uint8_t* rows = w + r * row_bytes;
      qa_with_tokens(nt, [&]<int NT>() { qa_q4_0_rows8<NT>(rows, row_bytes, at, out8); });
      for (std::size_t t = 0; t < nt; ++t)
        for (std::size_t j = 0; j < 8; ++j) y[(t0 + t) * ys + r + j] = out8[8 * t + j];
    });
  }
  // Prompts with 32-value formats (one accumulator per output): two rows at a time.
  const bool pairable = order == QaOrder::TinyBlas && (type == GgmlType::Q4_0 || type == GgmlType::Q4_1 || type == GgmlType::Q5_0 ||
                                                       type == GgmlType::Q5_1 || type == GgmlType::Q8_0 || type == GgmlType::IQ4_NL);
  if (pairable) {
    r0 = qa_tiled(r0, r1, 2, n, kTile, [&](std::size_t r, std::size_t t0, std::size_t nt) {
      float out0[4], out1[4];
      const QaAct at = a.from(t0);
      const uint8_t* row = w + r * row_bytes;
      qa_with_tokens(nt, [&]<int NT>() { qa_rows2_n<NT>(type, row, row + row_bytes, at, out0, out1); });
      for (std::size_t t = 0; t < nt; ++t) {
        y[(t0 + t) * ys + r] = out0[t];
        y[(t0 + t) * ys + r + 1] = out1[t];
      }
    });
  }
  bool ok = true;
  qa_tiled(r0, r1, 1, n, kTile, [&](std::size_t r, std::size_t t0, std::size_t nt) {
    float out[4];
    if (!ok) return;
    const QaAct at = a.from(t0);
    qa_with_tokens(nt, [&]<int NT>() { ok = qa_row_n<NT>(type, w + r * row_bytes, at, order, out); });
    if (ok)
      for (std::size_t t = 0; t < nt; ++t) y[(t0 + t) * ys + r] = out[t];
  });
  return ok;
}

}  // namespace llmforge::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // AVX2 targets
#endif  // toggle guard
