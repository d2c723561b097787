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

#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX2 && HWY_TARGET != HWY_AVX3_DL
#include <immintrin.h>

HWY_BEFORE_NAMESPACE();
namespace llmforge::kernels::HWY_NAMESPACE {

// llama.cpp's build contracts `sum += a * b` in its scalar code into one fused multiply-add (GCC's
// default -ffp-contract=fast with FMA enabled). These kernels state every fused multiply-add
// explicitly, so their results do not depend on this file's own contraction setting.
inline constexpr bool kQaScalarFma = true;

// Activation rows in the kernels' layout (QuantActView), token t at q + t * k, d4 + t * k / 4, s + t * k / 16.
struct QaAct {
  const int8_t* q;
  const float* d4;
  const float* s;
  std::size_t k;
};

// Which of llama.cpp's summation orders a product follows (see qa_matmul).
enum class QaOrder { VecDot, TinyBlas, Interleaved };

HWY_INLINE __m256i qa_load(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
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
// Two 16-value group scales for one 32-value chunk: the low 128 bits scale values 0..15.
HWY_INLINE __m256i qa_scale_pair(int lo, int hi) {
  return _mm256_insertf128_si256(_mm256_castsi128_si256(_mm_set1_epi16(static_cast<int16_t>(lo))),
                                 _mm_set1_epi16(static_cast<int16_t>(hi)), 1);
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

// Q8_K group sums (16 x int16) of one super-block. QuantActView keeps s = d * bsum (float product);
// |bsum| <= 2048, so s / d rounds back to the integer exactly. d = 0 only for all-zero blocks.
HWY_INLINE __m256i qa_bsums(const float* s16, float d) {
  if (d == 0.f) return _mm256_setzero_si256();
  const __m256 vd = _mm256_set1_ps(d);
  const __m256i lo = _mm256_cvtps_epi32(_mm256_div_ps(_mm256_loadu_ps(s16), vd));
  const __m256i hi = _mm256_cvtps_epi32(_mm256_div_ps(_mm256_loadu_ps(s16 + 8), vd));
  return _mm256_permute4x64_epi64(_mm256_packs_epi32(lo, hi), 0xD8);
}

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
      const __m256i p = qa_dot_ss(w, qa_load(a.q + t * k + 32 * nb_vec));
      const __m128i h = _mm_add_epi32(_mm256_castsi256_si128(p), _mm256_extracti128_si256(p, 1));
      const __m128i h2 = _mm_add_epi32(h, _mm_unpackhi_epi64(h, h));
      const int sumi = _mm_cvtsi128_si32(_mm_add_epi32(h2, _mm_shuffle_epi32(h2, 1)));
      r = qa_mla(a.d4[t * (k / 4) + 8 * nb_vec] * dw, static_cast<float>(sumi), r);
    }
    out[t] = r;
  }
}

// ---- k-quants (256-value super-blocks, Q8_K activations) ----
// Each 32-value chunk c adds scale * (4 products) into int32 lane l (values 4l..4l+3 of the chunk),
// exactly the lanes of llama.cpp's `sumi`; per super-block: acc = fma(dx * dw, float(sumi), acc).

// Signed-weight k-quants (Q3_K, Q6_K): the 32 weights `w` of chunk at value offset `off`, scaled per
// 16 by `scv`, added into each token's int32 lanes.
template <int NT>
HWY_INLINE void qa_add_chunk(__m256i* sumi, __m256i w, __m256i scv, QaAct a, std::size_t off) {
  for (int t = 0; t < NT; ++t) sumi[t] = _mm256_add_epi32(sumi[t], qa_dot_ss_scaled(w, qa_load(a.q + t * a.k + off), scv));
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
    __m256i sumi[NT];
    for (int t = 0; t < NT; ++t) sumi[t] = _mm256_setzero_si256();
    for (int c = 0; c < 8; ++c) {
      const __m256i lv = _mm256_and_si256(_mm256_srli_epi16(qa_load(b[i].qs + 32 * (c / 4)), 2 * (c % 4)), m3);
      const __m256i sc = qa_scale_pair(b[i].scales[2 * c] & 0xF, b[i].scales[2 * c + 1] & 0xF);
      for (int t = 0; t < NT; ++t) {
        const __m256i x = qa_load(a.q + t * k + 256 * i + 32 * c);
        sumi[t] = _mm256_add_epi32(sumi[t], _mm256_madd_epi16(_mm256_maddubs_epi16(lv, x), sc));
      }
    }
    for (int t = 0; t < NT; ++t) {
      const float dx = a.d4[t * (k / 4) + 64 * i];
      const __m256i prod = _mm256_madd_epi16(mins, qa_bsums(a.s + t * (k / 16) + 16 * i, dx));
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
    int8_t sc[16];
    quant_detail::q3k_scales(b[i].scales, sc);
    const __m256i hm = qa_load(b[i].hmask);
    __m256i sumi[NT];
    for (int t = 0; t < NT; ++t) sumi[t] = _mm256_setzero_si256();
    for (int c = 0; c < 8; ++c) {
      const __m256i lo = _mm256_and_si256(_mm256_srli_epi16(qa_load(b[i].qs + 32 * (c / 4)), 2 * (c % 4)), m3);
      const __m256i hb = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hm, c), one), 2);
      const __m256i w = _mm256_sub_epi8(_mm256_or_si256(lo, hb), four);  // level - 4
      const __m256i scv = qa_scale_pair(sc[2 * c], sc[2 * c + 1]);
      qa_add_chunk<NT>(sumi, w, scv, a, 256 * i + 32 * c);
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
    uint8_t sc[8], mn[8];
    for (int j = 0; j < 8; ++j) quant_detail::scale_min_k4(j, b[i].scales, sc[j], mn[j]);
    __m256i hbits = _mm256_setzero_si256();
    if constexpr (kFive) hbits = qa_load(b[i].qh);
    __m256i sumi[NT];
    for (int t = 0; t < NT; ++t) sumi[t] = _mm256_setzero_si256();
    for (int c = 0; c < 8; ++c) {
      __m256i lv = _mm256_and_si256(_mm256_srli_epi16(qa_load(b[i].qs + 32 * (c / 2)), 4 * (c % 2)), m4);
      if constexpr (kFive)
        lv = _mm256_or_si256(lv, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hbits, c), one), 4));
      const __m256i scv = _mm256_set1_epi16(sc[c]);
      for (int t = 0; t < NT; ++t) {
        const __m256i x = qa_load(a.q + t * k + 256 * i + 32 * c);
        sumi[t] = _mm256_add_epi32(sumi[t], _mm256_madd_epi16(_mm256_maddubs_epi16(lv, x), scv));
      }
    }
    const float dw = qa_h2f(b[i].d), mw = qa_h2f(b[i].dmin);
    const __m128i mins = _mm_setr_epi16(mn[0], mn[1], mn[2], mn[3], mn[4], mn[5], mn[6], mn[7]);
    for (int t = 0; t < NT; ++t) {
      const float dx = a.d4[t * (k / 4) + 64 * i];
      const __m256i bs = qa_bsums(a.s + t * (k / 16) + 16 * i, dx);
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
    __m256i sumi[NT];
    for (int t = 0; t < NT; ++t) sumi[t] = _mm256_setzero_si256();
    for (int c = 0; c < 8; ++c) {
      const int h = c / 4, cc = c % 4;
      const __m256i ql = qa_load(b[i].ql + 64 * h + 32 * (cc & 1));
      const __m256i lo = _mm256_and_si256(cc & 2 ? _mm256_srli_epi16(ql, 4) : ql, m4);
      const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(qa_load(b[i].qh + 32 * h), 2 * cc), m3);
      const __m256i w = _mm256_sub_epi8(_mm256_or_si256(lo, _mm256_slli_epi16(hi, 4)), m32);  // level - 32
      const __m256i scv = qa_scale_pair(b[i].scales[2 * c], b[i].scales[2 * c + 1]);
      qa_add_chunk<NT>(sumi, w, scv, a, 256 * i + 32 * c);
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
// Interleaved branch, row by row): each row's block sum is formed in int32, the eight sums are
// gathered into one vector with horizontal adds, and lane r keeps row r's accumulator.
// The weights enter as unsigned levels (0..15); subtracting 8 * (sum of the activation block,
// `xsum`) gives the same integer as the signed weights would.
template <int NT>
HWY_NOINLINE void qa_q4_0_rows8(const uint8_t* w, std::size_t row_bytes, QaAct a, const int32_t* xsum, float* out) {
  const std::size_t k = a.k, nb = k / 32;
  __m256 acc[NT];
  for (int t = 0; t < NT; ++t) acc[t] = _mm256_setzero_ps();
  for (std::size_t i = 0; i < nb; ++i) {
    __m256i wv[8];
    const BlockQ4_0* b[8];
    for (int r = 0; r < 8; ++r) {
      b[r] = reinterpret_cast<const BlockQ4_0*>(w + r * row_bytes) + i;
      _mm_prefetch(reinterpret_cast<const char*>(b[r] + 16), _MM_HINT_T0);  // eight streams: help the prefetcher
      wv[r] = qa_nibbles(b[r]->qs);
    }
    // The eight fp16 scales, inserted in registers (a store and reload would stall store forwarding).
    const __m128i dbits = _mm_setr_epi16(static_cast<short>(b[0]->d.bits), static_cast<short>(b[1]->d.bits),
                                         static_cast<short>(b[2]->d.bits), static_cast<short>(b[3]->d.bits),
                                         static_cast<short>(b[4]->d.bits), static_cast<short>(b[5]->d.bits),
                                         static_cast<short>(b[6]->d.bits), static_cast<short>(b[7]->d.bits));
    const __m256 dw = _mm256_cvtph_ps(dbits);
    for (int t = 0; t < NT; ++t) {
      const __m256i x = qa_load(a.q + t * k + 32 * i);
      const __m256i h01 = _mm256_hadd_epi32(qa_dot_us(wv[0], x), qa_dot_us(wv[1], x));
      const __m256i h23 = _mm256_hadd_epi32(qa_dot_us(wv[2], x), qa_dot_us(wv[3], x));
      const __m256i h45 = _mm256_hadd_epi32(qa_dot_us(wv[4], x), qa_dot_us(wv[5], x));
      const __m256i h67 = _mm256_hadd_epi32(qa_dot_us(wv[6], x), qa_dot_us(wv[7], x));
      const __m256i h0123 = _mm256_hadd_epi32(h01, h23), h4567 = _mm256_hadd_epi32(h45, h67);
      const __m256i sums = _mm256_sub_epi32(_mm256_add_epi32(_mm256_permute2x128_si256(h0123, h4567, 0x20),
                                                             _mm256_permute2x128_si256(h0123, h4567, 0x31)),
                                            _mm256_set1_epi32(8 * xsum[t * nb + i]));
      const __m256 sc = _mm256_mul_ps(dw, _mm256_set1_ps(a.d4[t * (k / 4) + 8 * i]));
      acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums), sc, acc[t]);
    }
  }
  for (int t = 0; t < NT; ++t) _mm256_storeu_ps(out + 8 * t, acc[t]);
}

// Rows [r0, r1) of y = W x for n activation rows; each weight row meets the tokens four at a time.
// The order follows llama.cpp: re-packed Q4_0 (`interleaved`), else tinyBLAS for n >= 2 (the formats
// it serves), else vec_dot.
// Returns false (nothing written) for a type without a kernel here.
HWY_INLINE bool qa_matmul(GgmlType type, const uint8_t* w, std::size_t row_bytes, QaAct a, std::size_t n, float* y,
                          std::size_t ys, std::size_t r0, std::size_t r1, bool interleaved) {
  const QaOrder order = interleaved ? QaOrder::Interleaved : n >= 2 ? QaOrder::TinyBlas : QaOrder::VecDot;
  float out[4];
  if (order == QaOrder::Interleaved && type == GgmlType::Q4_0) {
    // Per token and block: the sum of the 32 int8 activations.
    const std::size_t nb = a.k / 32;
    thread_local std::vector<int32_t> xsum;
    xsum.resize(n * nb);
    const __m256i ones8 = _mm256_set1_epi8(1);
    for (std::size_t j = 0; j < n * nb; ++j) {
      const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, qa_load(a.q + 32 * j)), _mm256_set1_epi16(1));
      xsum[j] = qa_isum(p);
    }
    float out8[32];
    for (; r0 + 8 <= r1; r0 += 8) {
      for (std::size_t t0 = 0; t0 < n; t0 += 4) {
        const QaAct at{a.q + t0 * a.k, a.d4 + t0 * (a.k / 4), a.s + t0 * (a.k / 16), a.k};
        const std::size_t nt = n - t0 < 4 ? n - t0 : 4;
        const uint8_t* rows = w + r0 * row_bytes;
        const int32_t* xs = xsum.data() + t0 * nb;
        if (nt == 4) qa_q4_0_rows8<4>(rows, row_bytes, at, xs, out8);
        else if (nt == 3) qa_q4_0_rows8<3>(rows, row_bytes, at, xs, out8);
        else if (nt == 2) qa_q4_0_rows8<2>(rows, row_bytes, at, xs, out8);
        else qa_q4_0_rows8<1>(rows, row_bytes, at, xs, out8);
        for (std::size_t t = 0; t < nt; ++t)
          for (std::size_t j = 0; j < 8; ++j) y[(t0 + t) * ys + r0 + j] = out8[8 * t + j];
      }
    }
  }
  for (std::size_t r = r0; r < r1; ++r) {
    for (std::size_t t0 = 0; t0 < n; t0 += 4) {
      const QaAct at{a.q + t0 * a.k, a.d4 + t0 * (a.k / 4), a.s + t0 * (a.k / 16), a.k};
      const std::size_t nt = n - t0 < 4 ? n - t0 : 4;
      const uint8_t* row = w + r * row_bytes;
      const bool ok = nt == 4   ? qa_row_n<4>(type, row, at, order, out)
                      : nt == 3 ? qa_row_n<3>(type, row, at, order, out)
                      : nt == 2 ? qa_row_n<2>(type, row, at, order, out)
                                : qa_row_n<1>(type, row, at, order, out);
      if (!ok) return false;
      for (std::size_t t = 0; t < nt; ++t) y[(t0 + t) * ys + r] = out[t];
    }
  }
  return true;
}

}  // namespace llmforge::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // AVX2 targets
#endif  // toggle guard
