// SPDX-License-Identifier: MIT
// AVX-512 VNNI bodies of the packed quantized matrix products (the AVX3_DL target: Ice Lake, Zen 4
// and later). One 64-byte register holds the same quad register of two 8-row groups (group j in the
// low half, group j + 1 in the high half), so every instruction feeds sixteen rows, and `vpdpbusd`
// multiplies unsigned weight bytes with signed activation bytes and adds four products straight into
// 32-bit lanes: no int16 intermediate, no widening step. Signed weights (Q8_0, IQ4_NL) are offset by
// +128 to make them unsigned; the offset comes back out as 128 x the block's activation sum, which
// the activation rows carry (`bs`). The integer result of each block equals the AVX2 and scalar
// kernels' exactly; the float accumulation per block is the same as theirs, so the outputs agree with
// the other targets to the last bit except where a compiler contracts differently.
//
// Included by quant_packed-inl.hpp inside its per-target namespace; defines LLMFORGE_PK_AVX512 and
// pz_tile_n() for HWY_AVX3_DL only. Highway 1.0.3's AVX3_DL target string does not enable the
// AVX512-VNNI instructions that its CPUs all have, so this section adds them.
#if defined(LLMFORGE_KERNELS_QUANT_PACKED_AVX512_INL_HPP_) == defined(HWY_TARGET_TOGGLE)
#ifdef LLMFORGE_KERNELS_QUANT_PACKED_AVX512_INL_HPP_
#undef LLMFORGE_KERNELS_QUANT_PACKED_AVX512_INL_HPP_
#else
#define LLMFORGE_KERNELS_QUANT_PACKED_AVX512_INL_HPP_
#endif

#if HWY_ARCH_X86 && HWY_TARGET == HWY_AVX3_DL
#define LLMFORGE_PK_AVX512 1

#if defined(__clang__)
#pragma clang attribute pop
#pragma clang attribute push(__attribute__((target(HWY_TARGET_STR ",avx512vnni"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512vnni")
#endif

// The 32 bytes at p (group j) and at p + gs (group j + 1) in one register.
HWY_INLINE __m512i pz_load2(const uint8_t* p, std::size_t gs) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))),
                            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + gs)), 1);
}
// Four activation bytes at p in every 32-bit lane.
HWY_INLINE __m512i pz_bcast(const void* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}
// The eight f16 scales at p and the eight at p + gs as sixteen floats.
HWY_INLINE __m512 pz_scales(const uint8_t* p, std::size_t gs) {
  const __m128i lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + gs));
  return _mm512_cvtph_ps(_mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1));
}
// Eight bytes at p and eight at p + gs, as sixteen bytes.
HWY_INLINE __m128i pz_bytes16(const uint8_t* p, std::size_t gs) {
  return _mm_unpacklo_epi64(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)),
                            _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + gs)));
}
// Sixteen unsigned / signed bytes (eight rows of each group) widened to 32-bit lanes.
HWY_INLINE __m512i pz_u8x16(const uint8_t* p, std::size_t gs) { return _mm512_cvtepu8_epi32(pz_bytes16(p, gs)); }
HWY_INLINE __m512i pz_s8x16(const uint8_t* p, std::size_t gs) { return _mm512_cvtepi8_epi32(pz_bytes16(p, gs)); }
// Lanes of 16-bit values `lo` (low half) and `hi` (high half), for vpdpwssd against a pair of int16
// activation sums; pz_pair(v) repeats v in both halves.
HWY_INLINE __m512i pz_pair2(__m512i lo, __m512i hi) {
  return _mm512_or_si512(_mm512_and_si512(lo, _mm512_set1_epi32(0xFFFF)), _mm512_slli_epi32(hi, 16));
}
HWY_INLINE __m512i pz_pair(__m512i v) { return pz_pair2(v, v); }
// Two chains of four dot products over one 32-value block (w[0..7]: quad registers in value order
// 0-3, 4-7, ..., as the nibble and byte layouts give them) for the activation bytes at x.
HWY_INLINE __m512i pz_dot32(const __m512i* w, const int8_t* x) {
  __m512i s0 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w[0], pz_bcast(x));
  __m512i s1 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w[1], pz_bcast(x + 4));
  for (int q = 2; q < 8; q += 2) {
    s0 = _mm512_dpbusd_epi32(s0, w[q], pz_bcast(x + 4 * q));
    s1 = _mm512_dpbusd_epi32(s1, w[q + 1], pz_bcast(x + 4 * q + 4));
  }
  return _mm512_add_epi32(s0, s1);
}
// The nibble chunk at p of both groups as eight quad registers in value order.
HWY_INLINE void pz_nibbles(const uint8_t* p, std::size_t gs, __m512i* w) {
  const __m512i m4 = _mm512_set1_epi8(0x0F);
  for (int m = 0; m < 4; ++m) {
    const __m512i raw = pz_load2(p + 32 * m, gs);
    w[2 * m] = _mm512_and_si512(raw, m4);
    w[2 * m + 1] = _mm512_and_si512(_mm512_srli_epi16(raw, 4), m4);
  }
}

// Every kernel multiplies the 16 rows of groups j, j + 1 (at g and g + gs) with NT tokens;
// out[16 t + r] = row r of the pair for token t (rows 0-7 group j, 8-15 group j + 1). A pair's
// blocks are one contiguous stream, which the hardware prefetchers follow: software prefetching
// (which the AVX2 kernels use) measured no faster here (tinyllama Q4_0 tg64 66-67 tok/s either way,
// Zen 5).

// The blocks of 32 (Q4_0, Q8_0, IQ4_NL): the level offset (8 for Q4_0's 0..15 levels, 128 for the
// offset signed types) is taken back out as offset x the block's activation sum (a.off).
template <int NT, GgmlType kType>
HWY_INLINE void pz_block32(const uint8_t* g, std::size_t gs, const PkAct& a, float* out) {
  constexpr std::size_t kBytes = kType == GgmlType::Q8_0 ? 272 : 144;
  constexpr int kShift = kType == GgmlType::Q4_0 ? 3 : 7;
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));  // x ^ 0x80 = x + 128 as a byte
  // IQ4_NL's table, +128, in every 128-bit lane.
  const __m512i lut = _mm512_xor_si512(_mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kIq4nlValues))), flip);
  __m512 acc[NT];
  for (int t = 0; t < NT; ++t) acc[t] = _mm512_setzero_ps();
  for (std::size_t b = 0; b < a.nb; ++b, g += a.step) {
    __m512i w[8];
    if constexpr (kType == GgmlType::Q8_0) {
      for (int q = 0; q < 8; ++q) w[q] = _mm512_xor_si512(pz_load2(g + 16 + 32 * q, gs), flip);
    } else {
      pz_nibbles(g + 16, gs, w);
      if constexpr (kType == GgmlType::IQ4_NL)
        for (int q = 0; q < 8; ++q) w[q] = _mm512_shuffle_epi8(lut, w[q]);
    }
    const __m512 dw = pz_scales(g, gs);
    for (int t = 0; t < NT; ++t) {
      const __m512i s = _mm512_sub_epi32(pz_dot32(w, a.q + t * a.k + 32 * b), _mm512_set1_epi32(a.off[t * a.nb + b] << kShift));
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(dw, _mm512_set1_ps(a.d4[t * (a.k / 4) + 8 * b])), acc[t]);
    }
  }
  for (int t = 0; t < NT; ++t) _mm512_storeu_ps(out + 16 * t, acc[t]);
}

// Q4_K's minimums: the sum over the superblock's eight chunks of each row's chunk minimum (uint8 at
// f + 8 c, both groups) times the chunk's activation sum (the pair of int16 sums at bs + 2 c), as one
// vpdpwssd per chunk.
HWY_INLINE __m512i pz_min_sums(const uint8_t* f, std::size_t gs, const int16_t* bs) {
  __m512i s = _mm512_setzero_si512();
  for (int c = 0; c < 8; ++c) s = _mm512_dpwssd_epi32(s, pz_pair(pz_u8x16(f + 8 * c, gs)), pz_bcast(bs + 2 * c));
  return s;
}

// Q4_K: per 32-value chunk, levels 0..15 against the activations in int32, times the chunk's 6-bit
// scale; the minimums meet the activation sums once per superblock.
template <int NT>
HWY_INLINE void pz_q4_k(const uint8_t* g, std::size_t gs, const PkAct& a, float* out) {
  __m512 acc[NT];
  for (int t = 0; t < NT; ++t) acc[t] = _mm512_setzero_ps();
  for (std::size_t i = 0; i < a.nb; ++i, g += a.step) {
    __m512i sumi[NT];
    for (int c = 0; c < 8; ++c) {
      __m512i w[8];
      pz_nibbles(g + 160 + 128 * c, gs, w);
      const __m512i sc = pz_u8x16(g + 32 + 8 * c, gs);
      for (int t = 0; t < NT; ++t) {
        const __m512i v = _mm512_mullo_epi32(pz_dot32(w, a.q + t * a.k + 256 * i + 32 * c), sc);
        sumi[t] = c == 0 ? v : _mm512_add_epi32(sumi[t], v);
      }
    }
    const __m512 d = pz_scales(g, gs), dmin = pz_scales(g + 16, gs);
    for (int t = 0; t < NT; ++t) {
      const __m512i summ = pz_min_sums(g + 96, gs, a.bs + t * (a.k / 16) + 16 * i);
      const __m512 dx = _mm512_set1_ps(a.d4[t * (a.k / 4) + 64 * i]);
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sumi[t]), _mm512_mul_ps(d, dx), acc[t]);
      acc[t] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(summ), _mm512_mul_ps(dmin, dx), acc[t]);
    }
  }
  for (int t = 0; t < NT; ++t) _mm512_storeu_ps(out + 16 * t, acc[t]);
}

// Q6_K: 6-bit levels (nibble | high pair << 4) against the activations per 16-value group, times
// the group's int8 scale; the "- 32" is 32 x sum(scale x activation sum).
template <int NT>
HWY_INLINE void pz_q6_k(const uint8_t* g, std::size_t gs, const PkAct& a, float* out) {
  const __m512i m4 = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30);
  __m512 acc[NT];
  for (int t = 0; t < NT; ++t) acc[t] = _mm512_setzero_ps();
  for (std::size_t i = 0; i < a.nb; ++i, g += a.step) {
    __m512i sumi[NT];
    for (int c = 0; c < 8; ++c) {
      const uint8_t* cq = g + 144 + 192 * c;
      __m512i w[8];
      for (int m = 0; m < 4; ++m) {
        const __m512i raw = pz_load2(cq + 32 * m, gs), h = pz_load2(cq + 128 + 32 * (m / 2), gs);
        // quads 2m and 2m + 1: their high pairs sit at bit offsets 2 (2m % 4) and 2 (2m % 4) + 2 of h
        const __m512i h0 = (m % 2 == 0) ? _mm512_and_si512(_mm512_slli_epi16(h, 4), m30) : _mm512_and_si512(h, m30);
        const __m512i h1 = (m % 2 == 0) ? _mm512_and_si512(_mm512_slli_epi16(h, 2), m30)
                                        : _mm512_and_si512(_mm512_srli_epi16(h, 2), m30);
        w[2 * m] = _mm512_or_si512(_mm512_and_si512(raw, m4), h0);
        w[2 * m + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(raw, 4), m4), h1);
      }
      const __m512i sc0 = pz_s8x16(g + 16 + 16 * c, gs), sc1 = pz_s8x16(g + 16 + 16 * c + 8, gs);
      for (int t = 0; t < NT; ++t) {
        const int8_t* x = a.q + t * a.k + 256 * i + 32 * c;
        __m512i s0 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w[0], pz_bcast(x));
        __m512i s1 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w[4], pz_bcast(x + 16));
        for (int q = 1; q < 4; ++q) {
          s0 = _mm512_dpbusd_epi32(s0, w[q], pz_bcast(x + 4 * q));
          s1 = _mm512_dpbusd_epi32(s1, w[q + 4], pz_bcast(x + 16 + 4 * q));
        }
        const __m512i v = _mm512_add_epi32(_mm512_mullo_epi32(s0, sc0), _mm512_mullo_epi32(s1, sc1));
        sumi[t] = c == 0 ? v : _mm512_add_epi32(sumi[t], v);
      }
    }
    const __m512 d = pz_scales(g, gs);
    for (int t = 0; t < NT; ++t) {
      // scales of groups 2c and 2c + 1 side by side: bytes 16 + 16 c (group 2c) and + 8 (group 2c + 1)
      const int16_t* bs = a.bs + t * (a.k / 16) + 16 * i;
      __m512i summ = _mm512_setzero_si512();
      for (int c = 0; c < 8; ++c) {
        const __m512i pair = pz_pair2(pz_s8x16(g + 16 + 16 * c, gs), pz_s8x16(g + 24 + 16 * c, gs));
        summ = _mm512_dpwssd_epi32(summ, pair, pz_bcast(bs + 2 * c));
      }
      const __m512i i32 = _mm512_sub_epi32(sumi[t], _mm512_slli_epi32(summ, 5));
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i32), _mm512_mul_ps(d, _mm512_set1_ps(a.d4[t * (a.k / 4) + 64 * i])), acc[t]);
    }
  }
  for (int t = 0; t < NT; ++t) _mm512_storeu_ps(out + 16 * t, acc[t]);
}

template <int NT>
HWY_NOINLINE void pz_tile(GgmlType type, const uint8_t* g, std::size_t gs, const PkAct& a, float* out) {
  switch (type) {
    case GgmlType::Q4_0: pz_block32<NT, GgmlType::Q4_0>(g, gs, a, out); break;
    case GgmlType::Q8_0: pz_block32<NT, GgmlType::Q8_0>(g, gs, a, out); break;
    case GgmlType::IQ4_NL: pz_block32<NT, GgmlType::IQ4_NL>(g, gs, a, out); break;
    case GgmlType::Q4_K: pz_q4_k<NT>(g, gs, a, out); break;
    case GgmlType::Q6_K: pz_q6_k<NT>(g, gs, a, out); break;
    default: break;
  }
}

#if defined(__clang__)
#pragma clang attribute pop
#pragma clang attribute push(__attribute__((target(HWY_TARGET_STR))), apply_to = function)
#else
#pragma GCC pop_options
#endif

// Outside the VNNI section: called from code compiled for the plain target, it only selects
// among the (never inlined) kernels above.
// Tokens per register tile: 8 x 16 rows keeps a block's eight weight registers and the tile's
// accumulators within the 32 registers.
inline constexpr std::size_t kPzTokTile = 8;

HWY_INLINE void pz_tile_n(std::size_t nt, GgmlType type, const uint8_t* g, std::size_t gs, const PkAct& a, float* out) {
  switch (nt) {
    case 1: pz_tile<1>(type, g, gs, a, out); break;
    case 2: pz_tile<2>(type, g, gs, a, out); break;
    case 3: pz_tile<3>(type, g, gs, a, out); break;
    case 4: pz_tile<4>(type, g, gs, a, out); break;
    case 5: pz_tile<5>(type, g, gs, a, out); break;
    case 6: pz_tile<6>(type, g, gs, a, out); break;
    case 7: pz_tile<7>(type, g, gs, a, out); break;
    default: pz_tile<8>(type, g, gs, a, out); break;
  }
}

#endif  // AVX3_DL

#endif  // toggle guard
