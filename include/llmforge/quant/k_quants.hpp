// SPDX-License-Identifier: MIT
// The 256-element "k-quant" super-block formats Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K: layouts, tags, traits.
#pragma once

#include <algorithm>
#include <cmath>

#include <llmforge/quant/traits.hpp>

namespace llmforge {

inline constexpr std::size_t kQK = 256;  ///< elements per k-quant super-block

/// Q2_K: 16 groups of 16; value = d * (scales[g] & 15) * q - dmin * (scales[g] >> 4), q in [0, 3].
struct BlockQ2_K {
  uint8_t scales[16];
  uint8_t qs[64];
  f16 d, dmin;
};
/// Q3_K: 16 groups of 16; value = d * (s_g - 32) * (q - 4) with 6-bit s_g packed in `scales`,
/// q = 2 low bits in `qs` + high bit in `hmask` (a clear bit means "subtract 4").
struct BlockQ3_K {
  uint8_t hmask[32];
  uint8_t qs[64];
  uint8_t scales[12];
  f16 d;
};
/// Q4_K: 8 groups of 32; value = d * sc_g * q - dmin * m_g, 6-bit sc/m packed in `scales`, q in [0, 15].
struct BlockQ4_K {
  f16 d, dmin;
  uint8_t scales[12];
  uint8_t qs[128];
};
/// Q5_K: as Q4_K with a fifth bit per value in `qh`.
struct BlockQ5_K {
  f16 d, dmin;
  uint8_t scales[12];
  uint8_t qh[32];
  uint8_t qs[128];
};
/// Q6_K: 16 groups of 16; value = d * scales[g] * (q - 32), q = 4 bits in `ql` + 2 bits in `qh`.
struct BlockQ6_K {
  uint8_t ql[128];
  uint8_t qh[64];
  int8_t scales[16];
  f16 d;
};
/// Q8_K: value = d * q (float d), with the sums of each group of 16 q values (activation format).
struct BlockQ8_K {
  float d;
  int8_t qs[256];
  int16_t bsums[16];
};
static_assert(sizeof(BlockQ2_K) == 84 && sizeof(BlockQ3_K) == 110 && sizeof(BlockQ4_K) == 144 &&
                  sizeof(BlockQ5_K) == 176 && sizeof(BlockQ6_K) == 210 && sizeof(BlockQ8_K) == 292,
              "k-quant block layouts must match GGUF");

LLMFORGE_QUANT_TAG(Q2_K, BlockQ2_K, 256)
LLMFORGE_QUANT_TAG(Q3_K, BlockQ3_K, 256)
LLMFORGE_QUANT_TAG(Q4_K, BlockQ4_K, 256)
LLMFORGE_QUANT_TAG(Q5_K, BlockQ5_K, 256)
LLMFORGE_QUANT_TAG(Q6_K, BlockQ6_K, 256)
LLMFORGE_QUANT_TAG(Q8_K, BlockQ8_K, 256)

namespace quant_detail {

/// Unpacks the 6-bit scale and min of group `j` (0..7) of a Q4_K/Q5_K block.
inline void scale_min_k4(int j, const uint8_t* q, uint8_t& d, uint8_t& m) {
  if (j < 4) {
    d = q[j] & 63;
    m = q[j + 4] & 63;
  } else {
    d = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    m = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

/// Unpacks the 16 signed 6-bit scales (already minus 32) of a Q3_K block.
inline void q3k_scales(const uint8_t* s, int8_t out[16]) {
  for (int j = 0; j < 16; ++j) {
    const int lo = j < 8 ? s[j] & 0xF : s[j - 8] >> 4;
    const int hi = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
    out[j] = static_cast<int8_t>((lo | hi << 4) - 32);
  }
}

/// Asymmetric fit of `n` values to [0, nmax] with a scale/min search (weighted, |error| or error^2).
/// Returns the scale; `the_min` receives the (non-negative) offset to subtract.
inline float fit_scale_min(int n, int nmax, const float* x, const float* w, uint8_t* L, float& the_min, uint8_t* Laux,
                           float rmin, float rdelta, int nstep, bool use_mad) {
  float mn = x[0], mx = x[0], sum_w = w[0], sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    mn = std::min(mn, x[i]);
    mx = std::max(mx, x[i]);
    sum_w += w[i];
    sum_x += w[i] * x[i];
  }
  if (mn > 0) mn = 0;
  if (mx == mn) {
    std::fill(L, L + n, uint8_t{0});
    the_min = -mn;
    return 0.f;
  }
  float iscale = static_cast<float>(nmax) / (mx - mn);
  float scale = 1 / iscale;
  float best = 0;
  for (int i = 0; i < n; ++i) {
    const int l = std::clamp(nearest_int(iscale * (x[i] - mn)), 0, nmax);
    L[i] = static_cast<uint8_t>(l);
    float diff = scale * static_cast<float>(l) + mn - x[i];
    diff = use_mad ? std::fabs(diff) : diff * diff;
    best += w[i] * diff;
  }
  for (int is = 0; is <= nstep; ++is) {
    iscale = (rmin + rdelta * static_cast<float>(is) + static_cast<float>(nmax)) / (mx - mn);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(nearest_int(iscale * (x[i] - mn)), 0, nmax);
      Laux[i] = static_cast<uint8_t>(l);
      const float fl = static_cast<float>(l);
      sum_l += w[i] * fl;
      sum_l2 += w[i] * fl * fl;
      sum_xl += w[i] * fl * x[i];
    }
    const float D = sum_w * sum_l2 - sum_l * sum_l;
    if (D > 0) {
      float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
      float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
      if (this_min > 0) {
        this_min = 0;
        this_scale = sum_xl / sum_l2;
      }
      float err = 0;
      for (int i = 0; i < n; ++i) {
        float diff = this_scale * static_cast<float>(Laux[i]) + this_min - x[i];
        diff = use_mad ? std::fabs(diff) : diff * diff;
        err += w[i] * diff;
      }
      if (err < best) {
        std::copy(Laux, Laux + n, L);
        best = err;
        scale = this_scale;
        mn = this_min;
      }
    }
  }
  the_min = -mn;
  return scale;
}

/// Symmetric fit of `n` values to [-nmax, nmax - 1] weighted by x^2, searching 19 scales; L gets q + nmax.
inline float fit_scale_sym(int n, int nmax, const float* x, int8_t* L) {
  float max = 0, amax = 0;
  for (int i = 0; i < n; ++i)
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  if (amax < kGroupMaxEps) {
    std::fill(L, L + n, int8_t{0});
    return 0.f;
  }
  const float fn = static_cast<float>(nmax);
  float iscale = -fn / max;
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = std::clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1);
    L[i] = static_cast<int8_t>(l + nmax);
    const float w = x[i] * x[i], fl = static_cast<float>(l);
    sumlx += w * x[i] * fl;
    suml2 += w * fl * fl;
  }
  float scale = suml2 ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    iscale = -(fn + 0.1f * static_cast<float>(is)) / max;
    sumlx = suml2 = 0;
    for (int i = 0; i < n; ++i) {
      const float fl = static_cast<float>(std::clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1));
      const float w = x[i] * x[i];
      sumlx += w * x[i] * fl;
      suml2 += w * fl * fl;
    }
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      for (int i = 0; i < n; ++i)
        L[i] = static_cast<int8_t>(nmax + std::clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1));
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

/// Symmetric fit to [-nmax, nmax - 1] with iterative per-value refinement (Q3_K); L gets q + nmax.
inline float fit_scale_sym_refine(int n, int nmax, const float* x, int8_t* L) {
  float max = 0, amax = 0;
  for (int i = 0; i < n; ++i)
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  if (amax < kGroupMaxEps) {
    std::fill(L, L + n, int8_t{0});
    return 0.f;
  }
  const float iscale = -static_cast<float>(nmax) / max;
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = std::clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1);
    L[i] = static_cast<int8_t>(l);
    const float w = x[i] * x[i], fl = static_cast<float>(l);
    sumlx += w * x[i] * fl;
    suml2 += w * fl * fl;
  }
  for (int itry = 0; itry < 5; ++itry) {
    int changed = 0;
    for (int i = 0; i < n; ++i) {
      const float w = x[i] * x[i], li = static_cast<float>(L[i]);
      float slx = sumlx - w * x[i] * li;
      if (slx > 0) {
        float sl2 = suml2 - w * li * li;
        const int nl = std::clamp(nearest_int(x[i] * sl2 / slx), -nmax, nmax - 1);
        if (nl != L[i]) {
          const float fnl = static_cast<float>(nl);
          slx += w * x[i] * fnl;
          sl2 += w * fnl * fnl;
          if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
            L[i] = static_cast<int8_t>(nl);
            sumlx = slx;
            suml2 = sl2;
            ++changed;
          }
        }
      }
    }
    if (!changed) break;
  }
  for (int i = 0; i < n; ++i) L[i] = static_cast<int8_t>(L[i] + nmax);
  return sumlx / suml2;
}

}  // namespace quant_detail

template <>
struct QuantTraits<Q2_K> {
  using Block = BlockQ2_K;
  static constexpr std::size_t kBlockSize = kQK, kBytesPerBlock = sizeof(Block);
  static void quantize_ref(const float* x, Block* y, std::size_t n) {
    using namespace quant_detail;
    uint8_t L[256], Laux[16];
    float w[16], mins[16], scales[16];
    for (std::size_t b = 0; b < n / kQK; ++b, x += kQK) {
      float max_scale = 0, max_min = 0;
      for (int j = 0; j < 16; ++j) {
        for (int l = 0; l < 16; ++l) w[l] = std::fabs(x[16 * j + l]);
        scales[j] = fit_scale_min(16, 3, x + 16 * j, w, L + 16 * j, mins[j], Laux, -0.5f, 0.1f, 15, true);
        max_scale = std::max(max_scale, scales[j]);
        max_min = std::max(max_min, mins[j]);
      }
      Block& o = y[b];
      if (max_scale > 0) {
        const float iscale = 15 / max_scale;
        for (int j = 0; j < 16; ++j) o.scales[j] = static_cast<uint8_t>(nearest_int(iscale * scales[j]));
        o.d = f2h(max_scale / 15);
      } else {
        std::fill(o.scales, o.scales + 16, uint8_t{0});
        o.d = f2h(0.f);
      }
      if (max_min > 0) {
        const float iscale = 15 / max_min;
        for (int j = 0; j < 16; ++j) o.scales[j] |= static_cast<uint8_t>(nearest_int(iscale * mins[j]) << 4);
        o.dmin = f2h(max_min / 15);
      } else {
        o.dmin = f2h(0.f);
      }
      for (int j = 0; j < 16; ++j) {
        const float d = h2f(o.d) * static_cast<float>(o.scales[j] & 0xF);
        if (!d) continue;
        const float dm = h2f(o.dmin) * static_cast<float>(o.scales[j] >> 4);
        for (int i = 0; i < 16; ++i)
          L[16 * j + i] = static_cast<uint8_t>(std::clamp(nearest_int((x[16 * j + i] + dm) / d), 0, 3));
      }
      for (int j = 0; j < 256; j += 128)
        for (int l = 0; l < 32; ++l)
          o.qs[j / 4 + l] =
              static_cast<uint8_t>(L[j + l] | L[j + l + 32] << 2 | L[j + l + 64] << 4 | L[j + l + 96] << 6);
    }
  }
  static void dequantize_ref(const Block* x, float* y, std::size_t n) {
    for (std::size_t b = 0; b < n / kQK; ++b) {
      const float d = quant_detail::h2f(x[b].d), mn = quant_detail::h2f(x[b].dmin);
      const uint8_t* q = x[b].qs;
      int is = 0;
      for (int h = 0; h < 2; ++h, q += 32)
        for (int shift = 0; shift < 8; shift += 2)
          for (int half = 0; half < 2; ++half) {
            const uint8_t sc = x[b].scales[is++];
            const float dl = d * static_cast<float>(sc & 0xF), ml = mn * static_cast<float>(sc >> 4);
            for (int l = 0; l < 16; ++l) *y++ = dl * static_cast<float>((q[l + 16 * half] >> shift) & 3) - ml;
          }
    }
  }
};

template <>
struct QuantTraits<Q3_K> {
  using Block = BlockQ3_K;
  static constexpr std::size_t kBlockSize = kQK, kBytesPerBlock = sizeof(Block);
  static void quantize_ref(const float* x, Block* y, std::size_t n) {
    using namespace quant_detail;
    int8_t L[256];
    float scales[16];
    for (std::size_t b = 0; b < n / kQK; ++b, x += kQK) {
      float max_scale = 0, amax = 0;
      for (int j = 0; j < 16; ++j) {
        scales[j] = fit_scale_sym_refine(16, 4, x + 16 * j, L + 16 * j);
        if (std::fabs(scales[j]) > amax) {
          amax = std::fabs(scales[j]);
          max_scale = scales[j];
        }
      }
      Block& o = y[b];
      std::fill(o.scales, o.scales + 12, uint8_t{0});
      if (max_scale) {
        const float iscale = -32.f / max_scale;
        for (int j = 0; j < 16; ++j) {
          int l = std::clamp(nearest_int(iscale * scales[j]), -32, 31) + 32;
          if (j < 8) {
            o.scales[j] = static_cast<uint8_t>(l & 0xF);
          } else {
            o.scales[j - 8] |= static_cast<uint8_t>((l & 0xF) << 4);
          }
          l >>= 4;
          o.scales[j % 4 + 8] |= static_cast<uint8_t>(l << (2 * (j / 4)));
        }
        o.d = f2h(1 / iscale);
      } else {
        o.d = f2h(0.f);
      }
      int8_t sc[16];
      q3k_scales(o.scales, sc);
      for (int j = 0; j < 16; ++j) {
        const float d = h2f(o.d) * static_cast<float>(sc[j]);
        if (!d) continue;
        for (int i = 0; i < 16; ++i)
          L[16 * j + i] = static_cast<int8_t>(std::clamp(nearest_int(x[16 * j + i] / d), -4, 3) + 4);
      }
      std::fill(o.hmask, o.hmask + 32, uint8_t{0});
      for (int j = 0; j < 256; ++j)
        if (L[j] > 3) {
          o.hmask[j % 32] |= static_cast<uint8_t>(1 << (j / 32));
          L[j] = static_cast<int8_t>(L[j] - 4);
        }
      for (int j = 0; j < 256; j += 128)
        for (int l = 0; l < 32; ++l)
          o.qs[j / 4 + l] =
              static_cast<uint8_t>(L[j + l] | L[j + l + 32] << 2 | L[j + l + 64] << 4 | L[j + l + 96] << 6);
    }
  }
  static void dequantize_ref(const Block* x, float* y, std::size_t n) {
    for (std::size_t b = 0; b < n / kQK; ++b) {
      const float d = quant_detail::h2f(x[b].d);
      int8_t sc[16];
      quant_detail::q3k_scales(x[b].scales, sc);
      const uint8_t* q = x[b].qs;
      uint8_t m = 1;
      int is = 0;
      for (int h = 0; h < 2; ++h, q += 32)
        for (int shift = 0; shift < 8; shift += 2, m = static_cast<uint8_t>(m << 1))
          for (int half = 0; half < 2; ++half) {
            const float dl = d * static_cast<float>(sc[is++]);
            for (int l = 0; l < 16; ++l) {
              const int i = l + 16 * half;
              *y++ = dl * static_cast<float>(((q[i] >> shift) & 3) - ((x[b].hmask[i] & m) ? 0 : 4));
            }
          }
    }
  }
};

namespace quant_detail {
// Shared body of the Q4_K/Q5_K quantizers: fits 8 groups of 32 to [0, nmax] and packs the 6-bit
// scales; returns the per-value levels in L.
template <class Block>
inline void quantize_k4_common(const float* x, Block& o, uint8_t* L, int nmax, float rmin, int nstep) {
  uint8_t Laux[32];
  float w[32], mins[8], scales[8];
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < 8; ++j) {
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += x[32 * j + l] * x[32 * j + l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) w[l] = av_x + std::fabs(x[32 * j + l]);
    scales[j] = fit_scale_min(32, nmax, x + 32 * j, w, L + 32 * j, mins[j], Laux, rmin, 0.1f, nstep, false);
    max_scale = std::max(max_scale, scales[j]);
    max_min = std::max(max_min, mins[j]);
  }
  const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
  const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
  for (int j = 0; j < 8; ++j) {
    const auto ls = static_cast<uint8_t>(std::min(63, nearest_int(inv_scale * scales[j])));
    const auto lm = static_cast<uint8_t>(std::min(63, nearest_int(inv_min * mins[j])));
    if (j < 4) {
      o.scales[j] = ls;
      o.scales[j + 4] = lm;
    } else {
      o.scales[j + 4] = static_cast<uint8_t>((ls & 0xF) | (lm & 0xF) << 4);
      o.scales[j - 4] |= static_cast<uint8_t>((ls >> 4) << 6);
      o.scales[j] |= static_cast<uint8_t>((lm >> 4) << 6);
    }
  }
  o.d = f2h(max_scale / 63.f);
  o.dmin = f2h(max_min / 63.f);
  for (int j = 0; j < 8; ++j) {
    uint8_t sc, m;
    scale_min_k4(j, o.scales, sc, m);
    const float d = h2f(o.d) * static_cast<float>(sc);
    if (!d) continue;
    const float dm = h2f(o.dmin) * static_cast<float>(m);
    for (int i = 0; i < 32; ++i)
      L[32 * j + i] = static_cast<uint8_t>(std::clamp(nearest_int((x[32 * j + i] + dm) / d), 0, nmax));
  }
}
}  // namespace quant_detail

template <>
struct QuantTraits<Q4_K> {
  using Block = BlockQ4_K;
  static constexpr std::size_t kBlockSize = kQK, kBytesPerBlock = sizeof(Block);
  static void quantize_ref(const float* x, Block* y, std::size_t n) {
    uint8_t L[256];
    for (std::size_t b = 0; b < n / kQK; ++b, x += kQK) {
      quant_detail::quantize_k4_common(x, y[b], L, 15, -1.f, 20);
      for (int j = 0; j < 256; j += 64)
        for (int l = 0; l < 32; ++l) y[b].qs[j / 2 + l] = static_cast<uint8_t>(L[j + l] | L[j + l + 32] << 4);
    }
  }
  static void dequantize_ref(const Block* x, float* y, std::size_t n) {
    for (std::size_t b = 0; b < n / kQK; ++b) {
      const float d = quant_detail::h2f(x[b].d), mn = quant_detail::h2f(x[b].dmin);
      const uint8_t* q = x[b].qs;
      for (int j = 0; j < 8; j += 2, q += 32) {
        uint8_t sc, m;
        quant_detail::scale_min_k4(j, x[b].scales, sc, m);
        const float d1 = d * static_cast<float>(sc), m1 = mn * static_cast<float>(m);
        quant_detail::scale_min_k4(j + 1, x[b].scales, sc, m);
        const float d2 = d * static_cast<float>(sc), m2 = mn * static_cast<float>(m);
        for (int l = 0; l < 32; ++l) *y++ = d1 * static_cast<float>(q[l] & 0xF) - m1;
        for (int l = 0; l < 32; ++l) *y++ = d2 * static_cast<float>(q[l] >> 4) - m2;
      }
    }
  }
};

template <>
struct QuantTraits<Q5_K> {
  using Block = BlockQ5_K;
  static constexpr std::size_t kBlockSize = kQK, kBytesPerBlock = sizeof(Block);
  static void quantize_ref(const float* x, Block* y, std::size_t n) {
    uint8_t L[256];
    for (std::size_t b = 0; b < n / kQK; ++b, x += kQK) {
      quant_detail::quantize_k4_common(x, y[b], L, 31, -0.5f, 15);
      std::fill(y[b].qh, y[b].qh + 32, uint8_t{0});
      uint8_t m1 = 1, m2 = 2;
      for (int j = 0; j < 256; j += 64, m1 = static_cast<uint8_t>(m1 << 2), m2 = static_cast<uint8_t>(m2 << 2))
        for (int l = 0; l < 32; ++l) {
          int l1 = L[j + l], l2 = L[j + l + 32];
          if (l1 > 15) {
            l1 -= 16;
            y[b].qh[l] |= m1;
          }
          if (l2 > 15) {
            l2 -= 16;
            y[b].qh[l] |= m2;
          }
          y[b].qs[j / 2 + l] = static_cast<uint8_t>(l1 | l2 << 4);
        }
    }
  }
  static void dequantize_ref(const Block* x, float* y, std::size_t n) {
    for (std::size_t b = 0; b < n / kQK; ++b) {
      const float d = quant_detail::h2f(x[b].d), mn = quant_detail::h2f(x[b].dmin);
      const uint8_t* q = x[b].qs;
      const uint8_t* qh = x[b].qh;
      uint8_t u1 = 1, u2 = 2;
      for (int j = 0; j < 8; j += 2, q += 32, u1 = static_cast<uint8_t>(u1 << 2), u2 = static_cast<uint8_t>(u2 << 2)) {
        uint8_t sc, m;
        quant_detail::scale_min_k4(j, x[b].scales, sc, m);
        const float d1 = d * static_cast<float>(sc), m1 = mn * static_cast<float>(m);
        quant_detail::scale_min_k4(j + 1, x[b].scales, sc, m);
        const float d2 = d * static_cast<float>(sc), m2 = mn * static_cast<float>(m);
        for (int l = 0; l < 32; ++l) *y++ = d1 * static_cast<float>((q[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
        for (int l = 0; l < 32; ++l) *y++ = d2 * static_cast<float>((q[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
      }
    }
  }
};

template <>
struct QuantTraits<Q6_K> {
  using Block = BlockQ6_K;
  static constexpr std::size_t kBlockSize = kQK, kBytesPerBlock = sizeof(Block);
  static void quantize_ref(const float* x, Block* y, std::size_t n) {
    using namespace quant_detail;
    int8_t L[256];
    float scales[16];
    for (std::size_t b = 0; b < n / kQK; ++b, x += kQK) {
      Block& o = y[b];
      float max_scale = 0, max_abs = 0;
      for (int g = 0; g < 16; ++g) {
        scales[g] = fit_scale_sym(16, 32, x + 16 * g, L + 16 * g);
        if (std::fabs(scales[g]) > max_abs) {
          max_abs = std::fabs(scales[g]);
          max_scale = scales[g];
        }
      }
      if (max_abs < kGroupMaxEps) {
        o = Block{};
        continue;
      }
      const float iscale = -128.f / max_scale;
      o.d = f2h(1 / iscale);
      for (int g = 0; g < 16; ++g) o.scales[g] = static_cast<int8_t>(std::min(127, nearest_int(iscale * scales[g])));
      for (int j = 0; j < 16; ++j) {
        const float d = h2f(o.d) * static_cast<float>(o.scales[j]);
        if (!d) continue;
        for (int i = 0; i < 16; ++i)
          L[16 * j + i] = static_cast<int8_t>(std::clamp(nearest_int(x[16 * j + i] / d), -32, 31) + 32);
      }
      for (int j = 0; j < 256; j += 128)
        for (int l = 0; l < 32; ++l) {
          const int q1 = L[j + l], q2 = L[j + l + 32], q3 = L[j + l + 64], q4 = L[j + l + 96];
          o.ql[j / 2 + l] = static_cast<uint8_t>((q1 & 0xF) | (q3 & 0xF) << 4);
          o.ql[j / 2 + l + 32] = static_cast<uint8_t>((q2 & 0xF) | (q4 & 0xF) << 4);
          o.qh[j / 4 + l] = static_cast<uint8_t>((q1 >> 4) | (q2 >> 4) << 2 | (q3 >> 4) << 4 | (q4 >> 4) << 6);
        }
    }
  }
  static void dequantize_ref(const Block* x, float* y, std::size_t n) {
    for (std::size_t b = 0; b < n / kQK; ++b) {
      const float d = quant_detail::h2f(x[b].d);
      const uint8_t* ql = x[b].ql;
      const uint8_t* qh = x[b].qh;
      const int8_t* sc = x[b].scales;
      for (int h = 0; h < 2; ++h, y += 128, ql += 64, qh += 32, sc += 8)
        for (int l = 0; l < 32; ++l) {
          const int is = l / 16;
          const int q1 = ((ql[l] & 0xF) | ((qh[l] >> 0) & 3) << 4) - 32;
          const int q2 = ((ql[l + 32] & 0xF) | ((qh[l] >> 2) & 3) << 4) - 32;
          const int q3 = ((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32;
          const int q4 = ((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32;
          y[l] = d * static_cast<float>(sc[is]) * static_cast<float>(q1);
          y[l + 32] = d * static_cast<float>(sc[is + 2]) * static_cast<float>(q2);
          y[l + 64] = d * static_cast<float>(sc[is + 4]) * static_cast<float>(q3);
          y[l + 96] = d * static_cast<float>(sc[is + 6]) * static_cast<float>(q4);
        }
    }
  }
};

template <>
struct QuantTraits<Q8_K> {
  using Block = BlockQ8_K;
  static constexpr std::size_t kBlockSize = kQK, kBytesPerBlock = sizeof(Block);
  /// Also the activation quantizer for k-quant dot products (scale -max/127 of the signed extreme).
  static void quantize_ref(const float* x, Block* y, std::size_t n) {
    for (std::size_t b = 0; b < n / kQK; ++b, x += kQK) {
      float max = 0, amax = 0;
      for (std::size_t j = 0; j < kQK; ++j)
        if (std::fabs(x[j]) > amax) {
          amax = std::fabs(x[j]);
          max = x[j];
        }
      if (!amax) {
        y[b] = Block{};
        continue;
      }
      const float iscale = -127.f / max;
      for (std::size_t j = 0; j < kQK; ++j)
        y[b].qs[j] = static_cast<int8_t>(std::min(127, quant_detail::nearest_int(iscale * x[j])));
      for (int g = 0; g < 16; ++g) {
        int s = 0;
        for (int i = 0; i < 16; ++i) s += y[b].qs[16 * g + i];
        y[b].bsums[g] = static_cast<int16_t>(s);
      }
      y[b].d = 1 / iscale;
    }
  }
  static void quantize_activation(const float* x, Block* y, std::size_t n) { quantize_ref(x, y, n); }
  static void dequantize_ref(const Block* x, float* y, std::size_t n) {
    for (std::size_t b = 0; b < n / kQK; ++b)
      for (std::size_t j = 0; j < kQK; ++j) *y++ = x[b].d * static_cast<float>(x[b].qs[j]);
  }
};

}  // namespace llmforge
