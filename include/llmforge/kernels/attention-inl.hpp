// SPDX-License-Identifier: MIT
// Tiled attention with an online softmax (the flash-attention scheme) over a KV cache whose keys are
// stored in 16-position tiles (kv/kv_cache.hpp). Up to 8 query rows of one KV head (the query heads of
// a group, and several tokens of a prompt) share every key and value load: the scores of a tile are
// 8 rows x 16 positions, accumulated over the head dimension with one key load per 8 multiply-adds,
// and the values are added into 8 output rows per value load. The softmax state advances 64 positions
// (four tiles) at a time, so its reductions and rescaling are paid once per 64 keys. Scalar reference:
// attention_reference.hpp.
#if defined(LLMFORGE_KERNELS_ATTENTION_INL_HPP_) == defined(HWY_TARGET_TOGGLE)
#ifdef LLMFORGE_KERNELS_ATTENTION_INL_HPP_
#undef LLMFORGE_KERNELS_ATTENTION_INL_HPP_
#else
#define LLMFORGE_KERNELS_ATTENTION_INL_HPP_
#endif

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>

#include <hwy/highway.h>

#include <llmforge/core/half.hpp>
#include <llmforge/kernels/dispatch.hpp>
#include <llmforge/kernels/nn_ops-inl.hpp>

HWY_BEFORE_NAMESPACE();
namespace llmforge::kernels::HWY_NAMESPACE {
namespace attn {
namespace hn = hwy::HWY_NAMESPACE;
using DF = hn::ScalableTag<float>;
using V = hn::Vec<DF>;
constexpr std::size_t kT = kAttnKeyTile;
constexpr std::size_t kB = 4 * kT;  // positions per softmax step (score rows are kB floats apart)

// Lanes [j0, j0 + N) of key dimension `i` in a key tile (`hd` dimensions) as f32; Q8_0 lanes still
// need their scales (KeyScales).
template <KvElem E>
HWY_INLINE V LoadKey(DF d, const std::byte* tile, std::size_t i, std::size_t j0) {
  if constexpr (E == KvElem::F32) {
    return hn::LoadU(d, reinterpret_cast<const float*>(tile) + i * kT + j0);
  } else if constexpr (E == KvElem::F16) {
    const hn::Rebind<hwy::float16_t, DF> dh;
    return hn::PromoteTo(d, hn::LoadU(dh, reinterpret_cast<const hwy::float16_t*>(tile) + i * kT + j0));
  } else {
    const hn::Rebind<int8_t, DF> d8;
    const hn::RebindToSigned<DF> di;
    return hn::ConvertTo(d, hn::PromoteTo(di, hn::LoadU(d8, reinterpret_cast<const int8_t*>(tile) + i * kT + j0)));
  }
}
// The Q8_0 scales of dimensions [32 b, 32 b + 32) for lanes [j0, j0 + N).
HWY_INLINE V KeyScales(DF d, const std::byte* tile, std::size_t hd, std::size_t b, std::size_t j0) {
  const hn::Rebind<hwy::float16_t, DF> dh;
  const auto* sc = reinterpret_cast<const hwy::float16_t*>(tile + hd * kT);
  return hn::PromoteTo(d, hn::LoadU(dh, sc + b * kT + j0));
}
// Values [c, c + N) of one value row.
template <KvElem E>
HWY_INLINE V LoadValue(DF d, const std::byte* row, std::size_t c) {
  if constexpr (E == KvElem::F32) {
    return hn::LoadU(d, reinterpret_cast<const float*>(row) + c);
  } else if constexpr (E == KvElem::F16) {
    const hn::Rebind<hwy::float16_t, DF> dh;
    return hn::PromoteTo(d, hn::LoadU(dh, reinterpret_cast<const hwy::float16_t*>(row) + c));
  } else {  // 34-byte blocks: F16 scale, 32 int8
    const std::byte* blk = row + c / 32 * 34;
    f16 scale;
    std::memcpy(&scale, blk, 2);
    const hn::Rebind<int8_t, DF> d8;
    const hn::RebindToSigned<DF> di;
    const auto q = hn::LoadU(d8, reinterpret_cast<const int8_t*>(blk + 2) + c % 32);
    return hn::Mul(hn::ConvertTo(d, hn::PromoteTo(di, q)), hn::Set(d, f16_to_f32(scale)));
  }
}
// One value of a row, for the columns past the last full vector (F32/F16 only: Q8_0 rows are whole blocks).
template <KvElem E>
HWY_INLINE float ValueAt(const std::byte* row, std::size_t c) {
  if constexpr (E == KvElem::F32) {
    float f;
    std::memcpy(&f, row + 4 * c, 4);
    return f;
  } else {
    f16 h;
    std::memcpy(&h, row + 2 * c, 2);
    return f16_to_f32(h);
  }
}

// s[r * kB + j] = dot(q_r, key j of the tile) for R query rows (rows `hd` apart).
template <std::size_t R, KvElem E>
HWY_INLINE void TileScores(const std::byte* tile, const float* q, std::size_t hd, float* s) {
  const DF d;
  const std::size_t N = hn::Lanes(d);
  const std::size_t block = E == KvElem::Q8_0 ? 32 : hd;
  for (std::size_t j0 = 0; j0 < kT; j0 += N) {
    V a0 = hn::Zero(d), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    for (std::size_t i0 = 0; i0 < hd; i0 += block) {
      [[maybe_unused]] V sc = hn::Set(d, 1.0f);
      if constexpr (E == KvElem::Q8_0) sc = KeyScales(d, tile, hd, i0 / 32, j0);
      for (std::size_t i = i0; i < i0 + block; ++i) {
        V k = LoadKey<E>(d, tile, i, j0);
        if constexpr (E == KvElem::Q8_0) k = hn::Mul(k, sc);
        a0 = hn::MulAdd(hn::Set(d, q[i]), k, a0);
        if constexpr (R >= 4) {
          a1 = hn::MulAdd(hn::Set(d, q[hd + i]), k, a1);
          a2 = hn::MulAdd(hn::Set(d, q[2 * hd + i]), k, a2);
          a3 = hn::MulAdd(hn::Set(d, q[3 * hd + i]), k, a3);
        }
        if constexpr (R >= 8) {
          a4 = hn::MulAdd(hn::Set(d, q[4 * hd + i]), k, a4);
          a5 = hn::MulAdd(hn::Set(d, q[5 * hd + i]), k, a5);
          a6 = hn::MulAdd(hn::Set(d, q[6 * hd + i]), k, a6);
          a7 = hn::MulAdd(hn::Set(d, q[7 * hd + i]), k, a7);
        }
      }
    }
    hn::StoreU(a0, d, s + j0);
    if constexpr (R >= 4) {
      hn::StoreU(a1, d, s + kB + j0);
      hn::StoreU(a2, d, s + 2 * kB + j0);
      hn::StoreU(a3, d, s + 3 * kB + j0);
    }
    if constexpr (R >= 8) {
      hn::StoreU(a4, d, s + 4 * kB + j0);
      hn::StoreU(a5, d, s + 5 * kB + j0);
      hn::StoreU(a6, d, s + 6 * kB + j0);
      hn::StoreU(a7, d, s + 7 * kB + j0);
    }
  }
}

// o_r = o_r * f[r] + sum_{j in [jlo, jhi)} p[r * kB + j - base] * value_j for R output rows (`vd` apart).
template <std::size_t R, KvElem E>
HWY_INLINE void TileValues(const std::byte* v, std::size_t v_stride, std::size_t base, std::size_t jlo, std::size_t jhi,
                           const float* p, const float* f, float* o, std::size_t vd) {
  const DF d;
  const std::size_t N = hn::Lanes(d);
  std::size_t c = 0;
  for (; c + N <= vd; c += N) {
    V o0 = hn::Mul(hn::LoadU(d, o + c), hn::Set(d, f[0]));
    V o1 = o0, o2 = o0, o3 = o0, o4 = o0, o5 = o0, o6 = o0, o7 = o0;
    if constexpr (R >= 4) {
      o1 = hn::Mul(hn::LoadU(d, o + vd + c), hn::Set(d, f[1]));
      o2 = hn::Mul(hn::LoadU(d, o + 2 * vd + c), hn::Set(d, f[2]));
      o3 = hn::Mul(hn::LoadU(d, o + 3 * vd + c), hn::Set(d, f[3]));
    }
    if constexpr (R >= 8) {
      o4 = hn::Mul(hn::LoadU(d, o + 4 * vd + c), hn::Set(d, f[4]));
      o5 = hn::Mul(hn::LoadU(d, o + 5 * vd + c), hn::Set(d, f[5]));
      o6 = hn::Mul(hn::LoadU(d, o + 6 * vd + c), hn::Set(d, f[6]));
      o7 = hn::Mul(hn::LoadU(d, o + 7 * vd + c), hn::Set(d, f[7]));
    }
    for (std::size_t j = jlo; j < jhi; ++j) {
      const V x = LoadValue<E>(d, v + j * v_stride, c);
      const float* pj = p + (j - base);
      o0 = hn::MulAdd(hn::Set(d, pj[0]), x, o0);
      if constexpr (R >= 4) {
        o1 = hn::MulAdd(hn::Set(d, pj[kB]), x, o1);
        o2 = hn::MulAdd(hn::Set(d, pj[2 * kB]), x, o2);
        o3 = hn::MulAdd(hn::Set(d, pj[3 * kB]), x, o3);
      }
      if constexpr (R >= 8) {
        o4 = hn::MulAdd(hn::Set(d, pj[4 * kB]), x, o4);
        o5 = hn::MulAdd(hn::Set(d, pj[5 * kB]), x, o5);
        o6 = hn::MulAdd(hn::Set(d, pj[6 * kB]), x, o6);
        o7 = hn::MulAdd(hn::Set(d, pj[7 * kB]), x, o7);
      }
    }
    hn::StoreU(o0, d, o + c);
    if constexpr (R >= 4) {
      hn::StoreU(o1, d, o + vd + c);
      hn::StoreU(o2, d, o + 2 * vd + c);
      hn::StoreU(o3, d, o + 3 * vd + c);
    }
    if constexpr (R >= 8) {
      hn::StoreU(o4, d, o + 4 * vd + c);
      hn::StoreU(o5, d, o + 5 * vd + c);
      hn::StoreU(o6, d, o + 6 * vd + c);
      hn::StoreU(o7, d, o + 7 * vd + c);
    }
  }
  if constexpr (E != KvElem::Q8_0) {
    for (; c < vd; ++c)
      for (std::size_t r = 0; r < R; ++r) {
        float acc = o[r * vd + c] * f[r];
        for (std::size_t j = jlo; j < jhi; ++j) acc += p[r * kB + j - base] * ValueAt<E>(v + j * v_stride, c);
        o[r * vd + c] = acc;
      }
  }
}

// exp(x) for x <= 0 (the online softmax's arguments): the polynomial of nnops::Exp, with lanes below
// ln(2^-126) (including -inf) flushed to zero instead of recomputed.
HWY_INLINE V ExpNonPositive(DF d, V x) {
  const auto tiny = hn::Lt(x, hn::Set(d, -87.0f));
  V n;
  const V x1 = hn::IfThenElse(tiny, hn::Zero(d), x);
  const V j = nnops::ExpPolynomial(d, x1, n);
  return hn::IfThenZeroElse(tiny, hn::Mul(j, nnops::Pow2(d, n)));
}

// Turns one row's kB scores (positions base..base+kB-1; valid [a, b)) into weights, updating m, l and
// the row's output scale f (weights all zero and f = 1 if no position is valid).
HWY_INLINE void RowSoftmax(float* s, std::size_t base, std::size_t a, std::size_t b, float softcap, float& m, float& l,
                           float& f) {
  const float ninf = -std::numeric_limits<float>::infinity();
  if (a >= b) {
    std::fill(s, s + kB, 0.0f);
    f = 1.0f;
    return;
  }
  if (softcap > 0)
    for (std::size_t j = a; j < b; ++j) s[j - base] = std::tanh(s[j - base] / softcap) * softcap;
  for (std::size_t j = base; j < a; ++j) s[j - base] = ninf;
  for (std::size_t j = b; j < base + kB; ++j) s[j - base] = ninf;
  const DF d;
  const std::size_t N = hn::Lanes(d);
  V vmax = hn::Set(d, ninf);
  for (std::size_t j = 0; j < kB; j += N) vmax = hn::Max(vmax, hn::LoadU(d, s + j));
  const float mb = hn::GetLane(hn::MaxOfLanes(d, vmax));
  const float mnew = std::max(m, mb);
  f = m == ninf ? 0.0f : std::exp(m - mnew);
  V sum = hn::Zero(d);
  const V vm = hn::Set(d, mnew);
  for (std::size_t j = 0; j < kB; j += N) {
    const V p = ExpNonPositive(d, hn::Sub(hn::LoadU(d, s + j), vm));
    sum = hn::Add(sum, p);
    hn::StoreU(p, d, s + j);
  }
  l = l * f + hn::GetLane(hn::SumOfLanes(d, sum));
  m = mnew;
}

// Rows [r0, r0 + R) of attn_tiled.
template <std::size_t R, KvElem KE, KvElem VE>
HWY_INLINE void AttnRows(const AttnKv& kv, const AttnQueries& q, std::size_t r0, std::size_t p0, std::size_t p1,
                         float* m, float* l, float* o) {
  const std::size_t hd = kv.head_dim, vd = kv.value_dim;
  std::size_t lo = p1, hi = p0;
  for (std::size_t r = r0; r < r0 + R; ++r) {
    lo = std::min(lo, std::max(q.begin[r], p0));
    hi = std::max(hi, std::min(q.end[r], p1));
  }
  if (lo >= hi) return;
  HWY_ALIGN float s[R * kB];
  float f[R];
  for (std::size_t base = lo / kB * kB; base < hi; base += kB) {
    // Scores of the block's tiles that hold attended positions; the others are masked below.
    for (std::size_t t = std::max(base, lo) / kT; t * kT < std::min(hi, base + kB); ++t)
      TileScores<R, KE>(kv.k + t * kv.k_tile_stride, q.q + r0 * hd, hd, s + (t * kT - base));
    for (std::size_t r = 0; r < R; ++r) {
      const std::size_t a = std::max({q.begin[r0 + r], p0, base}), b = std::min({q.end[r0 + r], p1, base + kB});
      RowSoftmax(s + r * kB, base, a, b, q.softcap, m[r0 + r], l[r0 + r], f[r]);
    }
    TileValues<R, VE>(kv.v, kv.v_row_stride, base, std::max(lo, base), std::min(hi, base + kB), s, f, o + r0 * vd, vd);
  }
}

template <KvElem KE, KvElem VE>
void AttnTiledT(const AttnKv& kv, const AttnQueries& q, std::size_t p0, std::size_t p1, float* m, float* l, float* o) {
  std::size_t r = 0;
  for (; r + 8 <= q.n; r += 8) AttnRows<8, KE, VE>(kv, q, r, p0, p1, m, l, o);
  for (; r + 4 <= q.n; r += 4) AttnRows<4, KE, VE>(kv, q, r, p0, p1, m, l, o);
  for (; r < q.n; ++r) AttnRows<1, KE, VE>(kv, q, r, p0, p1, m, l, o);
}

template <KvElem KE>
void AttnTiledK(const AttnKv& kv, const AttnQueries& q, std::size_t p0, std::size_t p1, float* m, float* l, float* o) {
  switch (kv.v_type) {
    case KvElem::F32: return AttnTiledT<KE, KvElem::F32>(kv, q, p0, p1, m, l, o);
    case KvElem::F16: return AttnTiledT<KE, KvElem::F16>(kv, q, p0, p1, m, l, o);
    case KvElem::Q8_0: return AttnTiledT<KE, KvElem::Q8_0>(kv, q, p0, p1, m, l, o);
  }
}
}  // namespace attn

/// attn_tiled (see kernels/dispatch.hpp).
void AttnTiled(const AttnKv& kv, const AttnQueries& q, std::size_t p0, std::size_t p1, float* m, float* l, float* o) {
  using namespace attn;
  static_assert(HWY_LANES(float) <= kT && kT % HWY_LANES(float) == 0, "key tiles must hold whole vectors");
  switch (kv.k_type) {
    case KvElem::F32: return AttnTiledK<KvElem::F32>(kv, q, p0, p1, m, l, o);
    case KvElem::F16: return AttnTiledK<KvElem::F16>(kv, q, p0, p1, m, l, o);
    case KvElem::Q8_0: return AttnTiledK<KvElem::Q8_0>(kv, q, p0, p1, m, l, o);
  }
}

}  // namespace llmforge::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // toggle guard
