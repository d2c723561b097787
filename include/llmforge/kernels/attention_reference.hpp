// SPDX-License-Identifier: MIT
// Scalar reference of the tiled attention kernel (kernels::attn_tiled): the same online-softmax state,
// computed one position at a time in double precision with std::exp, reading the cache layout
// element by element.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include <llmforge/core/half.hpp>
#include <llmforge/kernels/dispatch.hpp>

namespace llmforge::kernels::ref {

/// Element `i` of position `j` of a key tile (see kv/kv_cache.hpp for the layout).
inline float key_at(const AttnKv& kv, std::size_t pos, std::size_t i) {
  constexpr std::size_t kT = kAttnKeyTile;
  const std::byte* tile = kv.k + pos / kT * kv.k_tile_stride;
  const std::size_t j = pos % kT;
  switch (kv.k_type) {
    case KvElem::F32: {
      float f;
      std::memcpy(&f, tile + (i * kT + j) * 4, 4);
      return f;
    }
    case KvElem::F16: {
      f16 h;
      std::memcpy(&h, tile + (i * kT + j) * 2, 2);
      return f16_to_f32(h);
    }
    case KvElem::Q8_0: {
      f16 d;
      std::memcpy(&d, tile + kv.head_dim * kT + ((i / 32) * kT + j) * 2, 2);
      return f16_to_f32(d) * static_cast<float>(reinterpret_cast<const int8_t*>(tile)[i * kT + j]);
    }
  }
  return 0;
}
/// Element `c` of the value row of position `pos`.
inline float value_at(const AttnKv& kv, std::size_t pos, std::size_t c) {
  const std::byte* row = kv.v + pos * kv.v_row_stride;
  switch (kv.v_type) {
    case KvElem::F32: {
      float f;
      std::memcpy(&f, row + 4 * c, 4);
      return f;
    }
    case KvElem::F16: {
      f16 h;
      std::memcpy(&h, row + 2 * c, 2);
      return f16_to_f32(h);
    }
    case KvElem::Q8_0: {
      const std::byte* blk = row + c / 32 * 34;
      f16 d;
      std::memcpy(&d, blk, 2);
      return f16_to_f32(d) * static_cast<float>(reinterpret_cast<const int8_t*>(blk + 2)[c % 32]);
    }
  }
  return 0;
}

/// attn_tiled, one position at a time: for each row and each attended position p in [p0, p1),
/// s = softcap(dot(q, k_p)), m' = max(m, s), o = o e^(m - m') + e^(s - m') v_p, l likewise.
inline void attn_tiled(const AttnKv& kv, const AttnQueries& q, std::size_t p0, std::size_t p1, float* m, float* l,
                       float* o) {
  const std::size_t hd = kv.head_dim, vd = kv.value_dim;
  std::vector<double> acc(vd);
  for (std::size_t r = 0; r < q.n; ++r) {
    const std::size_t a = std::max(q.begin[r], p0), b = std::min(q.end[r], p1);
    if (a >= b) continue;
    double mr = m[r], lr = l[r];
    for (std::size_t c = 0; c < vd; ++c) acc[c] = o[r * vd + c];
    for (std::size_t p = a; p < b; ++p) {
      double s = 0;
      for (std::size_t i = 0; i < hd; ++i) s += static_cast<double>(q.q[r * hd + i]) * key_at(kv, p, i);
      if (q.softcap > 0) s = std::tanh(s / q.softcap) * q.softcap;
      const double mn = std::max(mr, s);
      const double f = std::isinf(mr) ? 0.0 : std::exp(mr - mn), w = std::exp(s - mn);
      for (std::size_t c = 0; c < vd; ++c) acc[c] = acc[c] * f + w * value_at(kv, p, c);
      lr = lr * f + w;
      mr = mn;
    }
    m[r] = static_cast<float>(mr);
    l[r] = static_cast<float>(lr);
    for (std::size_t c = 0; c < vd; ++c) o[r * vd + c] = static_cast<float>(acc[c]);
  }
}

}  // namespace llmforge::kernels::ref
