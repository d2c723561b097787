// SPDX-License-Identifier: MIT
// SIMD bodies of activation quantization (compiled once per target): one row of floats to Q8_0, Q8_1
// or Q8_K blocks, written straight into the kernels' layout (QuantActView), optionally RMS-normalising
// the row on the way (RMSNorm fused with quantization). The results equal the scalar path
// (QuantTraits<Q8_x>::quantize_activation, then QuantActivations' unpacking) bit for bit: the
// maximum is order-independent, and rounding to the nearest integer (ties to even) is exact.
#if defined(LLMFORGE_KERNELS_QUANT_ACT_INL_HPP_) == defined(HWY_TARGET_TOGGLE)
#ifdef LLMFORGE_KERNELS_QUANT_ACT_INL_HPP_
#undef LLMFORGE_KERNELS_QUANT_ACT_INL_HPP_
#else
#define LLMFORGE_KERNELS_QUANT_ACT_INL_HPP_
#endif

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include <hwy/highway.h>

#include <llmforge/core/half.hpp>
#include <llmforge/kernels/quant_dispatch.hpp>

HWY_BEFORE_NAMESPACE();
namespace llmforge::kernels::HWY_NAMESPACE {
namespace qact {
namespace hn = hwy::HWY_NAMESPACE;
// At most 16 lanes, so that a 16-value group is a whole number of vectors on every target.
using DF = hn::CappedTag<float, 16>;
using DI = hn::RebindToSigned<DF>;
using D8 = hn::Rebind<int8_t, DF>;

// The `len` values starting at `i0`: `x` itself, or (x * scale) * w written to norm->out (or `buf`).
HWY_INLINE const float* Values(const float* x, const ActRowNorm* norm, std::size_t i0, std::size_t len, float* buf) {
  if (!norm) return x + i0;
  const DF d;
  const std::size_t N = hn::Lanes(d);
  float* dst = norm->out ? norm->out + i0 : buf;
  const auto vs = hn::Set(d, norm->scale);
  for (std::size_t j = 0; j < len; j += N) {
    auto v = hn::Mul(hn::LoadU(d, x + i0 + j), vs);
    if (norm->w) v = hn::Mul(v, hn::LoadU(d, norm->w + i0 + j));
    hn::StoreU(v, d, dst + j);
  }
  return dst;
}

HWY_INLINE float AbsMax(const float* v, std::size_t len) {
  const DF d;
  const std::size_t N = hn::Lanes(d);
  auto m = hn::Zero(d);
  for (std::size_t j = 0; j < len; j += N) m = hn::Max(m, hn::Abs(hn::LoadU(d, v + j)));
  return hn::GetLane(hn::MaxOfLanes(d, m));
}

// Rounds v[0..16) * mul to int8 (at most 127), stores them at q and returns their sum.
HWY_INLINE int32_t QuantizeGroup(const float* v, float mul, int8_t* q) {
  const DF d;
  const DI di;
  const D8 d8;
  const std::size_t N = hn::Lanes(d);
  const auto vm = hn::Set(d, mul);
  const auto vhi = hn::Set(di, 127);
  auto sum = hn::Zero(di);
  for (std::size_t j = 0; j < 16; j += N) {
    const auto qi = hn::Min(hn::NearestInt(hn::Mul(hn::LoadU(d, v + j), vm)), vhi);
    sum = hn::Add(sum, qi);
    hn::StoreU(hn::DemoteTo(d8, qi), d8, q + j);
  }
  return hn::GetLane(hn::SumOfLanes(di, sum));
}
}  // namespace qact

void QuantizeActRow(GgmlType act_type, const float* x, std::size_t k, const ActRowNorm* norm, int8_t* q, float* d4,
                    float* s, int16_t* bs) {
  using namespace qact;
  HWY_ALIGN float buf[256];
  if (act_type == GgmlType::Q8_K) {
    for (std::size_t i0 = 0; i0 < k; i0 += 256, q += 256, d4 += 64, s += 16, bs += 16) {
      const float* v = Values(x, norm, i0, 256, buf);
      const float amax = AbsMax(v, 256);
      if (amax == 0) {  // an all-zero block: zero scale, values and sums
        std::memset(q, 0, 256);
        for (int l = 0; l < 64; ++l) d4[l] = 0;
        for (int g = 0; g < 16; ++g) s[g] = 0, bs[g] = 0;
        continue;
      }
      // The first value of largest magnitude gives the sign of the scale. The search stays inside the
      // block: with a NaN in it the maximum may be NaN and match nothing (garbage out, but no overrun).
      std::size_t j = 0;
      while (j + 1 < 256 && std::fabs(v[j]) != amax) ++j;
      const float iscale = -127.f / v[j];
      const float dq = 1 / iscale;
      for (int g = 0; g < 16; ++g) {
        const int32_t sum = QuantizeGroup(v + 16 * g, iscale, q + 16 * g);
        bs[g] = static_cast<int16_t>(sum);
        s[g] = dq * static_cast<float>(sum);
      }
      for (int l = 0; l < 64; ++l) d4[l] = dq;
    }
    return;
  }
  const bool q81 = act_type == GgmlType::Q8_1;
  for (std::size_t i0 = 0; i0 < k; i0 += 32, q += 32, d4 += 8, s += 2, bs += 2) {
    const float* v = Values(x, norm, i0, 32, buf);
    const float amax = AbsMax(v, 32);
    const float dq = amax / 127;
    const float id = amax != 0 ? 127.f / amax : 0.0f;
    const float dh = f16_to_f32(f32_to_f16(dq));  // the block stores its scale as fp16
    int32_t total = 0;
    for (int g = 0; g < 2; ++g) {
      const int32_t sum = QuantizeGroup(v + 16 * g, id, q + 16 * g);
      bs[g] = static_cast<int16_t>(sum);
      s[g] = dh * static_cast<float>(sum);
      total += sum;
    }
    if (q81) {  // the block's own fp16 sum term, as llama.cpp uses it
      s[0] = f16_to_f32(f32_to_f16(static_cast<float>(total) * dq));
      s[1] = 0;
    }
    for (int l = 0; l < 8; ++l) d4[l] = dh;
  }
}

}  // namespace llmforge::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // per-target include guard
