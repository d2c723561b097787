// SPDX-License-Identifier: MIT
// SIMD bodies of the quantized-weight matrix products (compiled once per target): weight rows are
// decoded to unsigned 8-bit levels plus group scales/offsets, then multiplied against int8
// activations with widening int16 multiply-adds (SSE targets) or plain C++. AVX2 and the AVX-512
// targets take the register kernels of matmul_quant_avx2-inl.hpp instead (llama.cpp's exact order).
#if defined(LLMFORGE_KERNELS_MATMUL_QUANT_INL_HPP_) == defined(HWY_TARGET_TOGGLE)
#ifdef LLMFORGE_KERNELS_MATMUL_QUANT_INL_HPP_
#undef LLMFORGE_KERNELS_MATMUL_QUANT_INL_HPP_
#else
#define LLMFORGE_KERNELS_MATMUL_QUANT_INL_HPP_
#endif

#include <cstring>

#include <hwy/highway.h>

#include <llmforge/core/half.hpp>
#include <llmforge/kernels/matmul_quant_avx2-inl.hpp>
#include <llmforge/kernels/quant_dispatch.hpp>
#include <llmforge/quant/iq4_nl.hpp>
#include <llmforge/quant/k_quants.hpp>
#include <llmforge/quant/legacy.hpp>

#if HWY_ARCH_X86 && (HWY_TARGET <= HWY_AVX2)
#include <immintrin.h>
#endif

HWY_BEFORE_NAMESPACE();
namespace llmforge::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

HWY_INLINE float qk_h2f(f16 h) {
#if HWY_ARCH_X86 && (HWY_TARGET <= HWY_AVX2)
  return _cvtsh_ss(h.bits);
#else
  return f16_to_f32(h);
#endif
}

HWY_INLINE void qk_fill4(float* ws4, float v) { ws4[0] = ws4[1] = ws4[2] = ws4[3] = v; }

#if HWY_ARCH_X86 && (HWY_TARGET <= HWY_AVX2)
#define LLMFORGE_QK_X86 1
HWY_INLINE void qk_fill8(float* ws4, float v) { _mm256_storeu_ps(ws4, _mm256_set1_ps(v)); }
// 16 bytes of nibble pairs -> 16 low nibbles at u, 16 high nibbles at u + 16.
HWY_INLINE void qk_split16(const uint8_t* qs, uint8_t* u) {
  const __m128i m = _mm_set1_epi8(0x0F);
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(u), _mm_and_si128(v, m));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(u + 16), _mm_and_si128(_mm_srli_epi16(v, 4), m));
}
// 32 bytes of nibble pairs -> 32 low nibbles at u, 32 high nibbles at u + 32.
HWY_INLINE void qk_split32(const uint8_t* qs, uint8_t* u) {
  const __m256i m = _mm256_set1_epi8(0x0F);
  const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(u), _mm256_and_si256(v, m));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(u + 32), _mm256_and_si256(_mm256_srli_epi16(v, 4), m));
}
#else
HWY_INLINE void qk_fill8(float* ws4, float v) {
  for (int i = 0; i < 8; ++i) ws4[i] = v;
}
HWY_INLINE void qk_split16(const uint8_t* qs, uint8_t* u) {
  for (int j = 0; j < 16; ++j) {
    u[j] = qs[j] & 0x0F;
    u[j + 16] = qs[j] >> 4;
  }
}
HWY_INLINE void qk_split32(const uint8_t* qs, uint8_t* u) {
  for (int j = 0; j < 32; ++j) {
    u[j] = qs[j] & 0x0F;
    u[j + 32] = qs[j] >> 4;
  }
}
#endif

// ---- decoders: one weight row -> u (levels), ws4 (group scale x4), wm (group offset) ----

template <int kOff>
HWY_INLINE void qk_decode_q4_0_like(const BlockQ4_0* b, std::size_t nb, uint8_t* u, float* ws4, float* wm) {
  for (std::size_t i = 0; i < nb; ++i, u += 32, ws4 += 8, wm += 2) {
    qk_split16(b[i].qs, u);
    const float d = qk_h2f(b[i].d);
    qk_fill8(ws4, d);
    wm[0] = wm[1] = -kOff * d;
  }
}

HWY_INLINE void qk_decode_q4_1(const BlockQ4_1* b, std::size_t nb, uint8_t* u, float* ws4, float* wm) {
  for (std::size_t i = 0; i < nb; ++i, u += 32, ws4 += 8, wm += 2) {
    qk_split16(b[i].qs, u);
    const float d = qk_h2f(b[i].d);
    qk_fill8(ws4, d);
    wm[0] = wm[1] = qk_h2f(b[i].m);
  }
}

template <class Block>
HWY_INLINE void qk_decode_q5(const Block& blk, uint8_t* u) {
  uint32_t qh;
  std::memcpy(&qh, blk.qh, 4);
#ifdef LLMFORGE_QK_X86
  // Spread the 32 high bits to 32 bytes (0xFF where set), as 0x10 added to the nibbles.
  const __m256i shuf = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0);
  __m256i bits = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(qh)), shuf);
  bits = _mm256_cmpeq_epi8(_mm256_or_si256(bits, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe)), _mm256_set1_epi64x(-1));
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk.qs));
  const __m256i nib = _mm256_and_si256(_mm256_insertf128_si256(_mm256_castsi128_si256(v), _mm_srli_epi16(v, 4), 1),
                                       _mm256_set1_epi8(0x0F));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(u), _mm256_or_si256(nib, _mm256_and_si256(bits, _mm256_set1_epi8(0x10))));
#else
  for (int j = 0; j < 16; ++j) {
    u[j] = static_cast<uint8_t>((blk.qs[j] & 0x0F) | (((qh >> j) & 1u) << 4));
    u[j + 16] = static_cast<uint8_t>((blk.qs[j] >> 4) | (((qh >> (j + 16)) & 1u) << 4));
  }
#endif
}

HWY_INLINE void qk_decode_q5_0(const BlockQ5_0* b, std::size_t nb, uint8_t* u, float* ws4, float* wm) {
  for (std::size_t i = 0; i < nb; ++i, u += 32, ws4 += 8, wm += 2) {
    qk_decode_q5(b[i], u);
    const float d = qk_h2f(b[i].d);
    qk_fill4(ws4, d);
    qk_fill4(ws4 + 4, d);
    wm[0] = wm[1] = -16 * d;
  }
}

HWY_INLINE void qk_decode_q5_1(const BlockQ5_1* b, std::size_t nb, uint8_t* u, float* ws4, float* wm) {
  for (std::size_t i = 0; i < nb; ++i, u += 32, ws4 += 8, wm += 2) {
    qk_decode_q5(b[i], u);
    const float d = qk_h2f(b[i].d);
    qk_fill4(ws4, d);
    qk_fill4(ws4 + 4, d);
    wm[0] = wm[1] = qk_h2f(b[i].m);
  }
}

HWY_INLINE void qk_decode_q8_0(const BlockQ8_0* b, std::size_t nb, uint8_t* u, float* ws4, float* wm) {
  for (std::size_t i = 0; i < nb; ++i, u += 32, ws4 += 8, wm += 2) {
    for (int j = 0; j < 32; ++j) u[j] = static_cast<uint8_t>(static_cast<uint8_t>(b[i].qs[j]) ^ 0x80u);
    const float d = qk_h2f(b[i].d);
    qk_fill4(ws4, d);
    qk_fill4(ws4 + 4, d);
    wm[0] = wm[1] = -128 * d;
  }
}

HWY_INLINE void qk_decode_iq4_nl(const BlockIQ4_NL* b, std::size_t nb, uint8_t* u, float* ws4, float* wm) {
  uint8_t lut[16];
  for (int j = 0; j < 16; ++j) lut[j] = static_cast<uint8_t>(kIq4nlValues[j] + 128);
#ifdef LLMFORGE_QK_X86
  const __m128i vlut = _mm_loadu_si128(reinterpret_cast<const __m128i*>(lut));
#endif
  for (std::size_t i = 0; i < nb; ++i, u += 32, ws4 += 8, wm += 2) {
    qk_split16(b[i].qs, u);
#ifdef LLMFORGE_QK_X86
    for (int h = 0; h < 32; h += 16) {
      const __m128i idx = _mm_loadu_si128(reinterpret_cast<const __m128i*>(u + h));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(u + h), _mm_shuffle_epi8(vlut, idx));
    }
#else
    for (int j = 0; j < 32; ++j) u[j] = lut[u[j]];
#endif
    const float d = qk_h2f(b[i].d);
    qk_fill4(ws4, d);
    qk_fill4(ws4 + 4, d);
    wm[0] = wm[1] = -128 * d;
  }
}

HWY_INLINE void qk_decode_q2_k(const BlockQ2_K* b, std::size_t nb, uint8_t* u, float* ws4, float* wm) {
  for (std::size_t i = 0; i < nb; ++i) {
    const float d = qk_h2f(b[i].d), dmin = qk_h2f(b[i].dmin);
    const uint8_t* q = b[i].qs;
    int g = 0;
#ifdef LLMFORGE_QK_X86
    for (int h = 0; h < 2; ++h) {
      const __m256i Q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + 32 * h));
      for (int j = 0; j < 4; ++j)
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(u + 128 * h + 32 * j),
                            _mm256_and_si256(_mm256_srli_epi16(Q, 2 * j), _mm256_set1_epi8(3)));
    }
    u += 256;
    for (; g < 16; ++g) {
#else
    for (int h = 0; h < 2; ++h, q += 32)
      for (int shift = 0; shift < 8; shift += 2)
        for (int half = 0; half < 2; ++half, ++g, u += 16) {
          for (int l = 0; l < 16; ++l) u[l] = (q[l + 16 * half] >> shift) & 3;
#endif
          const uint8_t sc = b[i].scales[g];
          qk_fill4(ws4 + 4 * g, d * static_cast<float>(sc & 0xF));
          wm[g] = -dmin * static_cast<float>(sc >> 4);
        }
    ws4 += 64;
    wm += 16;
  }
}

HWY_INLINE void qk_decode_q3_k(const BlockQ3_K* b, std::size_t nb, uint8_t* u, float* ws4, float* wm) {
  for (std::size_t i = 0; i < nb; ++i) {
    const float d = qk_h2f(b[i].d);
    int8_t sc[16];
    quant_detail::q3k_scales(b[i].scales, sc);
    const uint8_t* q = b[i].qs;
    const uint8_t* hm = b[i].hmask;
    int g = 0;
#ifdef LLMFORGE_QK_X86
    const __m256i HM = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(hm));
    for (int h = 0; h < 2; ++h) {
      const __m256i Q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + 32 * h));
      for (int j = 0; j < 4; ++j) {
        const __m256i lo = _mm256_and_si256(_mm256_srli_epi16(Q, 2 * j), _mm256_set1_epi8(3));
        __m256i hb = _mm256_and_si256(_mm256_srli_epi16(HM, 4 * h + j), _mm256_set1_epi8(1));
        hb = _mm256_add_epi8(hb, hb);
        hb = _mm256_add_epi8(hb, hb);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(u + 128 * h + 32 * j), _mm256_or_si256(lo, hb));
      }
    }
    u += 256;
    for (; g < 16; ++g) {
#else
    int bit = 0;
    for (int h = 0; h < 2; ++h, q += 32)
      for (int shift = 0; shift < 8; shift += 2, ++bit)
        for (int half = 0; half < 2; ++half, ++g, u += 16) {
          for (int l = 0; l < 16; ++l)
            u[l] = static_cast<uint8_t>(((q[l + 16 * half] >> shift) & 3) | (((hm[l + 16 * half] >> bit) & 1) << 2));
#endif
          const float s = d * static_cast<float>(sc[g]);
          qk_fill4(ws4 + 4 * g, s);
          wm[g] = -4 * s;
        }
    ws4 += 64;
    wm += 16;
  }
}

template <bool kFive, class Block>
HWY_INLINE void qk_decode_q45_k(const Block* b, std::size_t nb, uint8_t* u, float* ws4, float* wm) {
  for (std::size_t i = 0; i < nb; ++i) {
    const float d = qk_h2f(b[i].d), dmin = qk_h2f(b[i].dmin);
    const uint8_t* q = b[i].qs;
    for (int j = 0; j < 8; j += 2, q += 32, u += 64) {
      qk_split32(q, u);
      if constexpr (kFive) {
        const uint8_t* qh = b[i].qh;
        for (int l = 0; l < 32; ++l) {
          u[l] = static_cast<uint8_t>(u[l] | ((qh[l] >> j) & 1) << 4);
          u[l + 32] = static_cast<uint8_t>(u[l + 32] | ((qh[l] >> (j + 1)) & 1) << 4);
        }
      }
      for (int s = 0; s < 2; ++s) {
        uint8_t sc, m;
        quant_detail::scale_min_k4(j + s, b[i].scales, sc, m);
        const float ds = d * static_cast<float>(sc), ms = -dmin * static_cast<float>(m);
        const int g = 2 * (j + s);
        qk_fill4(ws4 + 4 * g, ds);
        qk_fill4(ws4 + 4 * g + 4, ds);
        wm[g] = wm[g + 1] = ms;
      }
    }
    ws4 += 64;
    wm += 16;
  }
}

HWY_INLINE void qk_decode_q6_k(const BlockQ6_K* b, std::size_t nb, uint8_t* u, float* ws4, float* wm) {
  for (std::size_t i = 0; i < nb; ++i) {
    const float d = qk_h2f(b[i].d);
    const uint8_t* ql = b[i].ql;
    const uint8_t* qh = b[i].qh;
#ifdef LLMFORGE_QK_X86
    for (int h = 0; h < 2; ++h, u += 128, ql += 64, qh += 32) {
      const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(0x30);
      const __m256i A = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql));
      const __m256i B = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql + 32));
      const __m256i H = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qh));
      const __m256i u0 = _mm256_or_si256(_mm256_and_si256(A, m4), _mm256_and_si256(_mm256_slli_epi16(H, 4), m2));
      const __m256i u1 = _mm256_or_si256(_mm256_and_si256(B, m4), _mm256_and_si256(_mm256_slli_epi16(H, 2), m2));
      const __m256i u2 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(A, 4), m4), _mm256_and_si256(H, m2));
      const __m256i u3 =
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(B, 4), m4), _mm256_and_si256(_mm256_srli_epi16(H, 2), m2));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(u), u0);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(u + 32), u1);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(u + 64), u2);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(u + 96), u3);
    }
#else
    for (int h = 0; h < 2; ++h, u += 128, ql += 64, qh += 32)
      for (int l = 0; l < 32; ++l) {
        u[l] = static_cast<uint8_t>((ql[l] & 0xF) | ((qh[l] >> 0) & 3) << 4);
        u[l + 32] = static_cast<uint8_t>((ql[l + 32] & 0xF) | ((qh[l] >> 2) & 3) << 4);
        u[l + 64] = static_cast<uint8_t>((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4);
        u[l + 96] = static_cast<uint8_t>((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4);
      }
#endif
    for (int g = 0; g < 16; ++g) {
      const float s = d * static_cast<float>(b[i].scales[g]);
      qk_fill4(ws4 + 4 * g, s);
      wm[g] = -32 * s;
    }
    ws4 += 64;
    wm += 16;
  }
}

HWY_INLINE void qk_decode(GgmlType type, const void* row, std::size_t k, uint8_t* u, float* ws4, float* wm) {
  switch (type) {
    case GgmlType::Q4_0: qk_decode_q4_0_like<8>(static_cast<const BlockQ4_0*>(row), k / 32, u, ws4, wm); break;
    case GgmlType::Q4_1: qk_decode_q4_1(static_cast<const BlockQ4_1*>(row), k / 32, u, ws4, wm); break;
    case GgmlType::Q5_0: qk_decode_q5_0(static_cast<const BlockQ5_0*>(row), k / 32, u, ws4, wm); break;
    case GgmlType::Q5_1: qk_decode_q5_1(static_cast<const BlockQ5_1*>(row), k / 32, u, ws4, wm); break;
    case GgmlType::Q8_0: qk_decode_q8_0(static_cast<const BlockQ8_0*>(row), k / 32, u, ws4, wm); break;
    case GgmlType::IQ4_NL: qk_decode_iq4_nl(static_cast<const BlockIQ4_NL*>(row), k / 32, u, ws4, wm); break;
    case GgmlType::Q2_K: qk_decode_q2_k(static_cast<const BlockQ2_K*>(row), k / 256, u, ws4, wm); break;
    case GgmlType::Q3_K: qk_decode_q3_k(static_cast<const BlockQ3_K*>(row), k / 256, u, ws4, wm); break;
    case GgmlType::Q4_K: qk_decode_q45_k<false>(static_cast<const BlockQ4_K*>(row), k / 256, u, ws4, wm); break;
    case GgmlType::Q5_K: qk_decode_q45_k<true>(static_cast<const BlockQ5_K*>(row), k / 256, u, ws4, wm); break;
    case GgmlType::Q6_K: qk_decode_q6_k(static_cast<const BlockQ6_K*>(row), k / 256, u, ws4, wm); break;
    default: break;
  }
}

// ---- dot of one decoded row with one activation row ----

// Plain C++ group dot (HWY_SCALAR, and the tail of the SIMD paths).
HWY_INLINE float qk_dot_groups_scalar(const uint8_t* u, const float* ws4, const int8_t* q, const float* d4,
                                      std::size_t g0, std::size_t g1) {
  float acc = 0;
  for (std::size_t g = g0; g < g1; ++g) {
    int32_t s = 0;
    for (std::size_t i = 0; i < 16; ++i) s += static_cast<int32_t>(u[16 * g + i]) * q[16 * g + i];
    acc += static_cast<float>(s) * (ws4[4 * g] * d4[4 * g]);
  }
  return acc;
}

HWY_INLINE float qk_offset_term(const float* wm, const float* s, std::size_t ng) {
  const hn::ScalableTag<float> df;
  const std::size_t N = hn::Lanes(df);
  auto acc = hn::Zero(df);
  std::size_t g = 0;
  for (; g + N <= ng; g += N) acc = hn::MulAdd(hn::LoadU(df, wm + g), hn::LoadU(df, s + g), acc);
  float r = hn::GetLane(hn::SumOfLanes(df, acc));
  for (; g < ng; ++g) r += wm[g] * s[g];
  return r;
}

#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX2
// AVX2 and every AVX-512 target (AVX3, AVX3_DL, ...): llama.cpp's order, from matmul_quant_avx2-inl.hpp
// (qa_matmul), so that the results are the same bits on every x86 machine with AVX2 or better.
#define LLMFORGE_QK_AVX2 1
#endif
#if HWY_TARGET == HWY_SCALAR || defined(LLMFORGE_QK_AVX2)  // AVX2: only a fallback, qa_matmul takes every type
HWY_INLINE float qk_dot_row(const uint8_t* u, const float* ws4, const float* wm, const int8_t* q, const float* d4,
                            const float* s, std::size_t k) {
  return qk_dot_groups_scalar(u, ws4, q, d4, 0, k / 16) + qk_offset_term(wm, s, k / 16);
}
#else
// Portable widening path: u8 and i8 promoted to i16, pairwise multiply-add to i32, one group of 16
// values at a time; the group's int32 sum is scaled in f32.
HWY_INLINE float qk_dot_row(const uint8_t* u, const float* ws4, const float* wm, const int8_t* q, const float* d4,
                            const float* s, std::size_t k) {
  const hn::CappedTag<int16_t, 16> d16;
  const hn::Repartition<int32_t, decltype(d16)> d32;
  const hn::Rebind<uint8_t, decltype(d16)> du8;
  const hn::Rebind<int8_t, decltype(d16)> di8;
  const std::size_t N = hn::Lanes(d16);
  float acc = 0;
  for (std::size_t g = 0; g < k / 16; ++g) {
    auto s0 = hn::Zero(d32), s1 = hn::Zero(d32);
    for (std::size_t j = 0; j < 16; j += N) {
      const auto a = hn::PromoteTo(d16, hn::LoadU(du8, u + 16 * g + j));
      const auto b = hn::PromoteTo(d16, hn::LoadU(di8, q + 16 * g + j));
      s0 = hn::ReorderWidenMulAccumulate(d32, a, b, s0, s1);
    }
    const int32_t dot = hn::GetLane(hn::SumOfLanes(d32, hn::Add(s0, s1)));
    acc += static_cast<float>(dot) * (ws4[4 * g] * d4[4 * g]);
  }
  return acc + qk_offset_term(wm, s, k / 16);
}
#endif

// Decodes each row once into `scratch` and multiplies it with every activation row; rows are taken
// in tiles so that the decoded rows stay in L1 while the activations stream. AVX2 multiplies the
// blocks in registers instead, in llama.cpp's order (matmul_quant_avx2-inl.hpp).
void MatMulQuant(GgmlType type, const uint8_t* w, std::size_t row_bytes, const QuantActView& act, std::size_t n,
                 float* y, std::size_t ys, std::size_t r0, std::size_t r1, uint8_t* scratch, bool interleaved) {
  const int8_t* q = act.q;
  const float* d4 = act.d4;
  const float* s = act.s;
  const std::size_t k = act.k;
#ifdef LLMFORGE_QK_AVX2
  if (qa_matmul(type, w, row_bytes, QaAct{q, d4, s, act.bs, k}, n, y, ys, r0, r1, interleaved)) return;
#else
  (void)interleaved;
#endif
  // scratch layout per decoded row: u[k] | ws4[k/4] floats | wm[k/16] floats
  const std::size_t per_row = k + k + k / 4;
  constexpr std::size_t kTile = 4;
  for (std::size_t rb = r0; rb < r1; rb += kTile) {
    const std::size_t nr = r1 - rb < kTile ? r1 - rb : kTile;
    for (std::size_t j = 0; j < nr; ++j) {
      uint8_t* base = scratch + j * per_row;
      qk_decode(type, w + (rb + j) * row_bytes, k, base, reinterpret_cast<float*>(base + k),
                reinterpret_cast<float*>(base + 2 * k));
    }
    for (std::size_t t = 0; t < n; ++t)
      for (std::size_t j = 0; j < nr; ++j) {
        const uint8_t* base = scratch + j * per_row;
        y[t * ys + rb + j] = qk_dot_row(base, reinterpret_cast<const float*>(base + k),
                                        reinterpret_cast<const float*>(base + 2 * k), q + t * k, d4 + t * k / 4,
                                        s + t * k / 16, k);
      }
  }
}

void DecodeQuantRow(GgmlType type, const void* row, std::size_t k, uint8_t* u, float* ws4,
                                            float* wm) {
  qk_decode(type, row, k, u, ws4, wm);
}

}  // namespace llmforge::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#undef LLMFORGE_QK_AVX2
#undef LLMFORGE_QK_X86

#endif  // toggle guard
