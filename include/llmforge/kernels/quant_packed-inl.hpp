// SPDX-License-Identifier: MIT
// Per-target bodies of the packed (8-row interleaved) quantized matrix products; the layouts are
// described in quant_packed.hpp. AVX3_DL (AVX-512 VNNI) pairs groups in 64-byte registers
// (quant_packed_avx512-inl.hpp); AVX2 and AVX3 use the register kernels below:
// one broadcast of four activation bytes feeds eight rows per multiply-add (vpmaddubsw), a block's
// int16 products are summed in registers, and each token of a tile keeps one float accumulator per
// row. Other targets run a plain C++ version of the same arithmetic.
#if defined(LLMFORGE_KERNELS_QUANT_PACKED_INL_HPP_) == defined(HWY_TARGET_TOGGLE)
#ifdef LLMFORGE_KERNELS_QUANT_PACKED_INL_HPP_
#undef LLMFORGE_KERNELS_QUANT_PACKED_INL_HPP_
#else
#define LLMFORGE_KERNELS_QUANT_PACKED_INL_HPP_
#endif

#include <algorithm>
#include <cstring>

#include <hwy/highway.h>

#include <llmforge/core/half.hpp>
#include <llmforge/kernels/quant_packed.hpp>
#include <llmforge/quant/iq4_nl.hpp>

#if HWY_ARCH_X86 && (HWY_TARGET <= HWY_AVX2)
#include <immintrin.h>
#endif

HWY_BEFORE_NAMESPACE();
namespace llmforge::kernels::HWY_NAMESPACE {

// Activation rows of one token tile: token t at q + t * k, d4 + t * k / 4, bs + t * k / 16, and
// (32-value block types only) off + t * nb: the integer sum of block b, which the kernels scale by
// their level offset (8 for Q4_0's levels 0..15; 128 where signed weights are offset). `step`
// is the weights' side: the bytes from one block of a group to its next (PackedLayout::step).
struct PkAct {
  const int8_t* q;
  const float* d4;
  const int16_t* bs;
  const int32_t* off;
  std::size_t k, nb, step;
  [[nodiscard]] PkAct from(std::size_t t) const {
    return {q + t * k, d4 + t * (k / 4), bs + t * (k / 16), off ? off + t * nb : nullptr, k, nb, step};
  }
  [[nodiscard]] PkAct with_step(std::size_t s) const { return {q, d4, bs, off, k, nb, s}; }
};

// ---- plain C++ (every target; the only path below AVX2) ----

// Level of value i (of 32) of row r in a nibble chunk / byte chunk / Q6_K high-pair registers.
HWY_INLINE int pk_nibble(const uint8_t* nib, int r, int i) {
  const uint8_t byte = nib[32 * (i / 8) + 4 * r + (i % 4)];
  return (i % 8) < 4 ? byte & 0x0F : byte >> 4;
}
HWY_INLINE int pk_high_pair(const uint8_t* hp, int r, int i) {
  const int quad = i / 4;
  return (hp[32 * (quad / 4) + 4 * r + (i % 4)] >> (2 * (quad % 4))) & 3;
}
HWY_INLINE float pk_f16(const uint8_t* p, int r) {
  f16 h;
  std::memcpy(&h, p + 2 * r, 2);
  return f16_to_f32(h);
}

// Outputs of the eight rows of group `g` for one token: out[r].
HWY_INLINE void pk_group_scalar(GgmlType type, const uint8_t* g, const PkAct& a, float* out) {
  float acc[8] = {};
  const PackedFormat f = packed_format(type);
  for (std::size_t b = 0; b < a.k / f.block_values; ++b) {
    const uint8_t* blk = g + b * a.step;
    const int8_t* x = a.q + b * f.block_values;
    for (int r = 0; r < 8; ++r) {
      switch (type) {
        case GgmlType::Q4_0:
        case GgmlType::IQ4_NL:
        case GgmlType::Q8_0: {
          int32_t s = 0;
          for (int i = 0; i < 32; ++i) {
            int w;
            if (type == GgmlType::Q8_0) w = static_cast<int8_t>(blk[16 + 32 * (i / 4) + 4 * r + i % 4]);
            else if (type == GgmlType::Q4_0) w = pk_nibble(blk + 16, r, i) - 8;
            else w = kIq4nlValues[pk_nibble(blk + 16, r, i)];
            s += w * x[i];
          }
          acc[r] += pk_f16(blk, r) * a.d4[8 * b] * static_cast<float>(s);
          break;
        }
        case GgmlType::Q4_K: {
          int32_t si = 0, sm = 0;
          for (int c = 0; c < 8; ++c) {
            int32_t s = 0;
            for (int i = 0; i < 32; ++i) s += pk_nibble(blk + 160 + 128 * c, r, i) * x[32 * c + i];
            si += blk[32 + 8 * c + r] * s;
            sm += blk[96 + 8 * c + r] * (a.bs[16 * b + 2 * c] + a.bs[16 * b + 2 * c + 1]);
          }
          const float dx = a.d4[64 * b];
          acc[r] += pk_f16(blk, r) * dx * static_cast<float>(si) - pk_f16(blk + 16, r) * dx * static_cast<float>(sm);
          break;
        }
        case GgmlType::Q6_K: {
          int32_t si = 0;
          for (int c = 0; c < 8; ++c) {
            const uint8_t* cq = blk + 144 + 192 * c;
            for (int h = 0; h < 2; ++h) {
              int32_t s = 0;
              for (int i = 16 * h; i < 16 * h + 16; ++i)
                s += (pk_nibble(cq, r, i) + 16 * pk_high_pair(cq + 128, r, i) - 32) * x[32 * c + i];
              si += static_cast<int8_t>(blk[16 + 8 * (2 * c + h) + r]) * s;
            }
          }
          acc[r] += pk_f16(blk, r) * a.d4[64 * b] * static_cast<float>(si);
          break;
        }
        default: break;
      }
    }
  }
  for (int r = 0; r < 8; ++r) out[r] = acc[r];
}

#if HWY_ARCH_X86 && (HWY_TARGET <= HWY_AVX2)
#define LLMFORGE_PK_AVX2 1

HWY_INLINE __m256i pk_load(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
// Four bytes at p in every 32-bit lane.
HWY_INLINE __m256i pk_bcast(const void* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}
// Single-token products stream the weights from memory: a software prefetch a few KiB ahead of the
// block being read (one per cache line of the block) keeps more lines in flight than the hardware
// prefetcher alone (the bandwidth probe finds the same). Prefetching past the matrix never faults.
inline constexpr std::size_t kPkPrefetchAhead = 8192;
template <int NT, std::size_t kBlockBytes>
HWY_INLINE void pk_prefetch(const uint8_t* g) {
  if constexpr (NT == 1)
    for (std::size_t off = 0; off < kBlockBytes; off += 64)
      _mm_prefetch(reinterpret_cast<const char*>(g + kPkPrefetchAhead + off), _MM_HINT_T0);
}
HWY_INLINE __m256 pk_scales(const uint8_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
// Eight unsigned bytes -> eight 32-bit lanes each holding the byte in both 16-bit halves.
HWY_INLINE __m256i pk_pair_u8(const uint8_t* p) {
  const __m256i v = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  return _mm256_or_si256(v, _mm256_slli_epi32(v, 16));
}
// Eight signed bytes -> eight 32-bit lanes: low 16 bits = `lo` byte, high 16 bits = `hi` byte.
HWY_INLINE __m256i pk_pair_s8(const uint8_t* lo, const uint8_t* hi) {
  const __m256i a = _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(lo)));
  const __m256i b = _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(hi)));
  return _mm256_or_si256(_mm256_and_si256(a, _mm256_set1_epi32(0xFFFF)), _mm256_slli_epi32(b, 16));
}

// Every kernel multiplies NG groups (8 NG rows; group j at g + j * gs) with NT tokens: each
// activation broadcast feeds all NG groups, and the NG weight streams keep more memory reads in
// flight. out[(t * NG + j) * 8 + r] = row 8 j + r for token t.

// Q4_0: levels 0..15 against int8 activations; 16 products of a row per int16 lane pair stay within
// +-30480, so a block's four registers add up in int16 before one widening step.
template <int NT, int NG>
HWY_INLINE void pk_q4_0(const uint8_t* g, std::size_t gs, const PkAct& a, float* out) {
  const __m256i m4 = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1);
  __m256 acc[NT * NG];
  for (int i = 0; i < NT * NG; ++i) acc[i] = _mm256_setzero_ps();
  for (std::size_t b = 0; b < a.nb; ++b, g += a.step) {
    __m256i s16[NT * NG];
    for (int j = 0; j < NG; ++j) pk_prefetch<NT, 144>(g + j * gs);
    for (int m = 0; m < 4; ++m) {
      __m256i lo[NG], hi[NG];
      for (int j = 0; j < NG; ++j) {
        const __m256i raw = pk_load(g + j * gs + 16 + 32 * m);
        lo[j] = _mm256_and_si256(raw, m4);
        hi[j] = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);
      }
      for (int t = 0; t < NT; ++t) {
        const int8_t* x = a.q + t * a.k + 32 * b + 8 * m;
        const __m256i xl = pk_bcast(x), xh = pk_bcast(x + 4);
        for (int j = 0; j < NG; ++j) {
          const __m256i p = _mm256_add_epi16(_mm256_maddubs_epi16(lo[j], xl), _mm256_maddubs_epi16(hi[j], xh));
          s16[t * NG + j] = m == 0 ? p : _mm256_add_epi16(s16[t * NG + j], p);
        }
      }
    }
    __m256 dw[NG];
    for (int j = 0; j < NG; ++j) dw[j] = pk_scales(g + j * gs);
    for (int t = 0; t < NT; ++t) {
      const __m256i off = _mm256_set1_epi32(8 * a.off[t * a.nb + b]);
      const __m256 dx = _mm256_set1_ps(a.d4[t * (a.k / 4) + 8 * b]);
      for (int j = 0; j < NG; ++j) {
        const __m256i i32 = _mm256_sub_epi32(_mm256_madd_epi16(s16[t * NG + j], ones), off);
        acc[t * NG + j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i32), _mm256_mul_ps(dw[j], dx), acc[t * NG + j]);
      }
    }
  }
  for (int i = 0; i < NT * NG; ++i) _mm256_storeu_ps(out + 8 * i, acc[i]);
}

// Signed weights (Q8_0, IQ4_NL's table values): |w| times the activation with w's sign, widened per
// register (two such products can reach 32512, so int16 sums would overflow). w[j] is the quad of
// group j; the activation quad sits at byte `off` of each token's row.
template <int NT, int NG>
HWY_INLINE void pk_signed_quad(const __m256i* w, const PkAct& a, std::size_t off, __m256i* s32, bool first) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i aw[NG];
  for (int j = 0; j < NG; ++j) aw[j] = _mm256_sign_epi8(w[j], w[j]);
  for (int t = 0; t < NT; ++t) {
    const __m256i x = pk_bcast(a.q + t * a.k + off);
    for (int j = 0; j < NG; ++j) {
      const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(aw[j], _mm256_sign_epi8(x, w[j])), ones);
      s32[t * NG + j] = first ? p : _mm256_add_epi32(s32[t * NG + j], p);
    }
  }
}

template <int NT, int NG>
HWY_INLINE void pk_finish_block(const uint8_t* g, std::size_t gs, const PkAct& a, std::size_t b, const __m256i* s32,
                                __m256* acc) {
  __m256 dw[NG];
  for (int j = 0; j < NG; ++j) dw[j] = pk_scales(g + j * gs);
  for (int t = 0; t < NT; ++t) {
    const __m256 dx = _mm256_set1_ps(a.d4[t * (a.k / 4) + 8 * b]);
    for (int j = 0; j < NG; ++j)
      acc[t * NG + j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s32[t * NG + j]), _mm256_mul_ps(dw[j], dx), acc[t * NG + j]);
  }
}

template <int NT, int NG>
HWY_INLINE void pk_q8_0(const uint8_t* g, std::size_t gs, const PkAct& a, float* out) {
  __m256 acc[NT * NG];
  for (int i = 0; i < NT * NG; ++i) acc[i] = _mm256_setzero_ps();
  for (std::size_t b = 0; b < a.nb; ++b, g += a.step) {
    for (int j = 0; j < NG; ++j) pk_prefetch<NT, 272>(g + j * gs);
    __m256i s32[NT * NG];
    for (int q = 0; q < 8; ++q) {
      __m256i w[NG];
      for (int j = 0; j < NG; ++j) w[j] = pk_load(g + j * gs + 16 + 32 * q);
      pk_signed_quad<NT, NG>(w, a, 32 * b + 4 * q, s32, q == 0);
    }
    pk_finish_block<NT, NG>(g, gs, a, b, s32, acc);
  }
  for (int i = 0; i < NT * NG; ++i) _mm256_storeu_ps(out + 8 * i, acc[i]);
}

template <int NT, int NG>
HWY_INLINE void pk_iq4_nl(const uint8_t* g, std::size_t gs, const PkAct& a, float* out) {
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  const __m256i lut = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kIq4nlValues)));
  __m256 acc[NT * NG];
  for (int i = 0; i < NT * NG; ++i) acc[i] = _mm256_setzero_ps();
  for (std::size_t b = 0; b < a.nb; ++b, g += a.step) {
    for (int j = 0; j < NG; ++j) pk_prefetch<NT, 144>(g + j * gs);
    __m256i s32[NT * NG];
    for (int m = 0; m < 4; ++m) {
      __m256i lo[NG], hi[NG];
      for (int j = 0; j < NG; ++j) {
        const __m256i raw = pk_load(g + j * gs + 16 + 32 * m);
        lo[j] = _mm256_shuffle_epi8(lut, _mm256_and_si256(raw, m4));
        hi[j] = _mm256_shuffle_epi8(lut, _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4));
      }
      pk_signed_quad<NT, NG>(lo, a, 32 * b + 8 * m, s32, m == 0);
      pk_signed_quad<NT, NG>(hi, a, 32 * b + 8 * m + 4, s32, false);
    }
    pk_finish_block<NT, NG>(g, gs, a, b, s32, acc);
  }
  for (int i = 0; i < NT * NG; ++i) _mm256_storeu_ps(out + 8 * i, acc[i]);
}

// Q4_K: per 32-value chunk, levels 0..15 summed in int16 (as Q4_0), widened with the chunk's 6-bit
// scale as the multiplier; the minimums meet the activation sums (Q8_K bsums) in one multiply-add.
template <int NT, int NG>
HWY_INLINE void pk_q4_k(const uint8_t* g, std::size_t gs, const PkAct& a, float* out) {
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  __m256 acc[NT * NG];
  for (int i = 0; i < NT * NG; ++i) acc[i] = _mm256_setzero_ps();
  for (std::size_t i = 0; i < a.nb; ++i, g += a.step) {
    __m256i sumi[NT * NG], summ[NT * NG];
    for (int c = 0; c < 8; ++c) {
      for (int j = 0; j < NG; ++j) pk_prefetch<NT, 148>(g + j * gs + 148 * c);  // 1184 = 8 x 148
      __m256i s16[NT * NG];
      for (int m = 0; m < 4; ++m) {
        __m256i lo[NG], hi[NG];
        for (int j = 0; j < NG; ++j) {
          const __m256i raw = pk_load(g + j * gs + 160 + 128 * c + 32 * m);
          lo[j] = _mm256_and_si256(raw, m4);
          hi[j] = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);
        }
        for (int t = 0; t < NT; ++t) {
          const int8_t* x = a.q + t * a.k + 256 * i + 32 * c + 8 * m;
          const __m256i xl = pk_bcast(x), xh = pk_bcast(x + 4);
          for (int j = 0; j < NG; ++j) {
            const __m256i p = _mm256_add_epi16(_mm256_maddubs_epi16(lo[j], xl), _mm256_maddubs_epi16(hi[j], xh));
            s16[t * NG + j] = m == 0 ? p : _mm256_add_epi16(s16[t * NG + j], p);
          }
        }
      }
      for (int j = 0; j < NG; ++j) {
        const __m256i scv = pk_pair_u8(g + j * gs + 32 + 8 * c), mnv = pk_pair_u8(g + j * gs + 96 + 8 * c);
        for (int t = 0; t < NT; ++t) {
          const __m256i v = _mm256_madd_epi16(s16[t * NG + j], scv);
          const __m256i mv = _mm256_madd_epi16(mnv, pk_bcast(a.bs + t * (a.k / 16) + 16 * i + 2 * c));
          sumi[t * NG + j] = c == 0 ? v : _mm256_add_epi32(sumi[t * NG + j], v);
          summ[t * NG + j] = c == 0 ? mv : _mm256_add_epi32(summ[t * NG + j], mv);
        }
      }
    }
    for (int j = 0; j < NG; ++j) {
      const __m256 d = pk_scales(g + j * gs), dmin = pk_scales(g + j * gs + 16);
      for (int t = 0; t < NT; ++t) {
        const __m256 dx = _mm256_set1_ps(a.d4[t * (a.k / 4) + 64 * i]);
        __m256& r = acc[t * NG + j];
        r = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi[t * NG + j]), _mm256_mul_ps(d, dx), r);
        r = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(summ[t * NG + j]), _mm256_mul_ps(dmin, dx), r);
      }
    }
  }
  for (int i = 0; i < NT * NG; ++i) _mm256_storeu_ps(out + 8 * i, acc[i]);
}

// Q6_K: 6-bit levels (nibble | high pair << 4); two registers' products stay within +-32004 in
// int16, then widen with the 16-value group's int8 scale; the "- 32" is 32 x sum(scale x bsum).
template <int NT, int NG>
HWY_INLINE void pk_q6_k(const uint8_t* g, std::size_t gs, const PkAct& a, float* out) {
  const __m256i m4 = _mm256_set1_epi8(0x0F), m30 = _mm256_set1_epi8(0x30);
  __m256 acc[NT * NG];
  for (int i = 0; i < NT * NG; ++i) acc[i] = _mm256_setzero_ps();
  for (std::size_t i = 0; i < a.nb; ++i, g += a.step) {
    __m256i sumi[NT * NG], summ[NT * NG];
    for (int c = 0; c < 8; ++c) {
      for (int j = 0; j < NG; ++j) pk_prefetch<NT, 210>(g + j * gs + 210 * c);  // 1680 = 8 x 210
      for (int m = 0; m < 4; ++m) {
        __m256i lo[NG], hi[NG], scv[NG];
        for (int j = 0; j < NG; ++j) {
          const uint8_t* cq = g + j * gs + 144 + 192 * c;
          const uint8_t* sc = g + j * gs + 16 + 16 * c + (m < 2 ? 0 : 8);  // group 2c or 2c + 1, 8 rows
          const __m256i raw = pk_load(cq + 32 * m), h = pk_load(cq + 128 + 32 * (m / 2));
          // quads 2m and 2m + 1: their high pairs sit at bit offsets 2 (2m % 4) and 2 (2m % 4) + 2 of h
          const __m256i h0 = (m % 2 == 0) ? _mm256_and_si256(_mm256_slli_epi16(h, 4), m30) : _mm256_and_si256(h, m30);
          const __m256i h1 = (m % 2 == 0) ? _mm256_and_si256(_mm256_slli_epi16(h, 2), m30)
                                          : _mm256_and_si256(_mm256_srli_epi16(h, 2), m30);
          lo[j] = _mm256_or_si256(_mm256_and_si256(raw, m4), h0);
          hi[j] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(raw, 4), m4), h1);
          scv[j] = pk_pair_s8(sc, sc);
        }
        for (int t = 0; t < NT; ++t) {
          const int8_t* x = a.q + t * a.k + 256 * i + 32 * c + 8 * m;
          const __m256i xl = pk_bcast(x), xh = pk_bcast(x + 4);
          for (int j = 0; j < NG; ++j) {
            const __m256i p = _mm256_add_epi16(_mm256_maddubs_epi16(lo[j], xl), _mm256_maddubs_epi16(hi[j], xh));
            const __m256i v = _mm256_madd_epi16(p, scv[j]);
            sumi[t * NG + j] = (c == 0 && m == 0) ? v : _mm256_add_epi32(sumi[t * NG + j], v);
          }
        }
      }
      for (int j = 0; j < NG; ++j) {
        const uint8_t* sc = g + j * gs + 16 + 16 * c;
        const __m256i s_m = pk_pair_s8(sc, sc + 8);
        for (int t = 0; t < NT; ++t) {
          const __m256i mv = _mm256_madd_epi16(s_m, pk_bcast(a.bs + t * (a.k / 16) + 16 * i + 2 * c));
          summ[t * NG + j] = c == 0 ? mv : _mm256_add_epi32(summ[t * NG + j], mv);
        }
      }
    }
    for (int j = 0; j < NG; ++j) {
      const __m256 d = pk_scales(g + j * gs);
      for (int t = 0; t < NT; ++t) {
        const __m256i i32 = _mm256_sub_epi32(sumi[t * NG + j], _mm256_slli_epi32(summ[t * NG + j], 5));
        acc[t * NG + j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i32), _mm256_mul_ps(d, _mm256_set1_ps(a.d4[t * (a.k / 4) + 64 * i])),
                                          acc[t * NG + j]);
      }
    }
  }
  for (int i = 0; i < NT * NG; ++i) _mm256_storeu_ps(out + 8 * i, acc[i]);
}

template <int NT, int NG>
HWY_NOINLINE void pk_tile(GgmlType type, const uint8_t* g, std::size_t gs, const PkAct& a, float* out) {
  switch (type) {
    case GgmlType::Q4_0: pk_q4_0<NT, NG>(g, gs, a, out); break;
    case GgmlType::Q8_0: pk_q8_0<NT, NG>(g, gs, a, out); break;
    case GgmlType::IQ4_NL: pk_iq4_nl<NT, NG>(g, gs, a, out); break;
    case GgmlType::Q4_K: pk_q4_k<NT, NG>(g, gs, a, out); break;
    case GgmlType::Q6_K: pk_q6_k<NT, NG>(g, gs, a, out); break;
    default: break;
  }
}
template <int NG>
HWY_INLINE void pk_tile_n(std::size_t nt, GgmlType type, const uint8_t* g, std::size_t gs, const PkAct& a, float* out) {
  switch (nt) {
    case 1: pk_tile<1, NG>(type, g, gs, a, out); break;
    case 2: pk_tile<2, NG>(type, g, gs, a, out); break;
    case 3: pk_tile<3, NG>(type, g, gs, a, out); break;
    default: pk_tile<4, NG>(type, g, gs, a, out); break;
  }
}
#endif  // AVX2

#include <llmforge/kernels/quant_packed_avx512-inl.hpp>

// Groups [g0, g1) of a packed matrix against n tokens. Groups go in tiles of four (32 rows, a few
// tens of KiB, held in L2; tiles start at multiples of four so that pairs stay whole) and tokens in
// tiles within a group tile, so a token tile's activations stay in L1 while the group tile's weights
// meet them; the kernels take a pair of groups at a time where they can.
void MatMulPacked(GgmlType type, const uint8_t* data, PackedLayout layout, const QuantActView& view,
                  const int32_t* off, std::size_t n, float* y, std::size_t ys, std::size_t g0, std::size_t g1) {
  const PkAct act{view.q, view.d4, view.bs, off, view.k, view.k / packed_format(type).block_values, 0};
#ifdef LLMFORGE_PK_AVX512
  constexpr std::size_t kTokTile = kPzTokTile;
#else
  constexpr std::size_t kTokTile = 4;
#endif
  constexpr std::size_t kGroupTile = 4;
  float out[8 * 2 * kTokTile];
  for (std::size_t gb = g0; gb < g1;) {
    const std::size_t ge = std::min(g1, (gb / kGroupTile + 1) * kGroupTile);
    for (std::size_t t0 = 0; t0 < n; t0 += kTokTile) {
      const std::size_t nt = n - t0 < kTokTile ? n - t0 : kTokTile;
      const PkAct at = act.from(t0);
      for (std::size_t g = gb; g < ge;) {
        const uint8_t* gp = data + layout.offset(g);
        const PkAct aw = at.with_step(layout.step(g));
#if defined(LLMFORGE_PK_AVX2)  // (every AVX-512 target too)
        const std::size_t ng = g % 2 == 0 && g + 1 < ge ? 2 : 1;  // a pair: group g + 1's blocks follow g's
        const std::size_t gs = layout.block_bytes;
#endif
#if defined(LLMFORGE_PK_AVX512)
        if (ng == 2) pz_tile_n(nt, type, gp, gs, aw, out);
        else
          for (std::size_t t = 0; t < nt; t += 4) pk_tile_n<1>(nt - t < 4 ? nt - t : 4, type, gp, gs, aw.from(t), out + 8 * t);
#elif defined(LLMFORGE_PK_AVX2)
        if (ng == 2) pk_tile_n<2>(nt, type, gp, gs, aw, out);
        else pk_tile_n<1>(nt, type, gp, gs, aw, out);
#else
        const std::size_t ng = 1;
        for (std::size_t t = 0; t < nt; ++t) pk_group_scalar(type, gp, aw.from(t), out + 8 * t);
#endif
        for (std::size_t t = 0; t < nt; ++t)
          for (std::size_t r = 0; r < 8 * ng; ++r) y[(t0 + t) * ys + 8 * g + r] = out[8 * ng * t + r];
        g += ng;
      }
    }
    gb = ge;
  }
}

bool PackedKernelsPreferred() {
#ifdef LLMFORGE_PK_AVX2
  return true;
#else
  return false;
#endif
}

}  // namespace llmforge::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#undef LLMFORGE_PK_AVX2
#undef LLMFORGE_PK_AVX512

#endif  // toggle guard
