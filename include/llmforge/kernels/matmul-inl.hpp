// SPDX-License-Identifier: MIT
// SIMD bodies of the float-weight matrix products and small vector helpers (compiled once per target).
#if defined(LLMFORGE_KERNELS_MATMUL_INL_HPP_) == defined(HWY_TARGET_TOGGLE)
#ifdef LLMFORGE_KERNELS_MATMUL_INL_HPP_
#undef LLMFORGE_KERNELS_MATMUL_INL_HPP_
#else
#define LLMFORGE_KERNELS_MATMUL_INL_HPP_
#endif

#include <hwy/highway.h>

#include <llmforge/core/half.hpp>

HWY_BEFORE_NAMESPACE();
namespace llmforge::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;

// Loads lanes of weights as f32, whatever their storage type.
template <class W>
HWY_INLINE hn::Vec<DF> load_weights(DF df, const W* p) {
  if constexpr (std::is_same_v<W, float>) {
    return hn::LoadU(df, p);
  } else if constexpr (std::is_same_v<W, f16>) {
    const hn::Rebind<hwy::float16_t, DF> dh;
    return hn::PromoteTo(df, hn::LoadU(dh, reinterpret_cast<const hwy::float16_t*>(p)));
  } else {
    const hn::Rebind<hwy::bfloat16_t, DF> db;
    return hn::PromoteTo(df, hn::LoadU(db, reinterpret_cast<const hwy::bfloat16_t*>(p)));
  }
}

HWY_INLINE float widen_scalar(float v) { return v; }
HWY_INLINE float widen_scalar(f16 v) { return f16_to_f32(v); }
HWY_INLINE float widen_scalar(bf16 v) { return bf16_to_f32(v); }

// One weight row against up to four activation rows: the weight vector is loaded once per step and
// reused, which halves the loads per FMA compared with one row at a time.
template <class W>
HWY_INLINE void row_times_4(const W* HWY_RESTRICT w, const float* HWY_RESTRICT x, std::size_t x_stride,
                            std::size_t nt, std::size_t k, float* out) {
  const DF df;
  const std::size_t N = hn::Lanes(df);
  auto a0 = hn::Zero(df), a1 = hn::Zero(df), a2 = hn::Zero(df), a3 = hn::Zero(df);
  std::size_t i = 0;
  if (k >= N) {
    for (; i + N <= k; i += N) {
      const auto wv = load_weights(df, w + i);
      a0 = hn::MulAdd(wv, hn::LoadU(df, x + i), a0);
      if (nt > 1) a1 = hn::MulAdd(wv, hn::LoadU(df, x + x_stride + i), a1);
      if (nt > 2) a2 = hn::MulAdd(wv, hn::LoadU(df, x + 2 * x_stride + i), a2);
      if (nt > 3) a3 = hn::MulAdd(wv, hn::LoadU(df, x + 3 * x_stride + i), a3);
    }
  }
  float s[4] = {hn::GetLane(hn::SumOfLanes(df, a0)), hn::GetLane(hn::SumOfLanes(df, a1)),
                hn::GetLane(hn::SumOfLanes(df, a2)), hn::GetLane(hn::SumOfLanes(df, a3))};
  for (; i < k; ++i) {
    const float wv = widen_scalar(w[i]);
    for (std::size_t t = 0; t < nt; ++t) s[t] += wv * x[t * x_stride + i];
  }
  for (std::size_t t = 0; t < nt; ++t) out[t] = s[t];
}

template <class W>
void MatMulT(const W* w, std::size_t w_stride, const float* x, std::size_t x_stride, std::size_t n, std::size_t k,
             float* y, std::size_t y_stride, std::size_t r0, std::size_t r1) {
  float out[4];
  for (std::size_t t0 = 0; t0 < n; t0 += 4) {
    const std::size_t nt = n - t0 < 4 ? n - t0 : 4;
    for (std::size_t r = r0; r < r1; ++r) {
      row_times_4(w + r * w_stride, x + t0 * x_stride, x_stride, nt, k, out);
      for (std::size_t t = 0; t < nt; ++t) y[(t0 + t) * y_stride + r] = out[t];
    }
  }
}

void MatMulF32(const float* w, std::size_t ws, const float* x, std::size_t xs, std::size_t n, std::size_t k, float* y,
               std::size_t ys, std::size_t r0, std::size_t r1) {
  MatMulT(w, ws, x, xs, n, k, y, ys, r0, r1);
}
void MatMulF16(const f16* w, std::size_t ws, const float* x, std::size_t xs, std::size_t n, std::size_t k, float* y,
               std::size_t ys, std::size_t r0, std::size_t r1) {
  MatMulT(w, ws, x, xs, n, k, y, ys, r0, r1);
}
void MatMulBF16(const bf16* w, std::size_t ws, const float* x, std::size_t xs, std::size_t n, std::size_t k, float* y,
                std::size_t ys, std::size_t r0, std::size_t r1) {
  MatMulT(w, ws, x, xs, n, k, y, ys, r0, r1);
}

float DotF32(const float* a, const float* b, std::size_t n) {
  float out;
  row_times_4(a, b, 0, 1, n, &out);
  return out;
}

void AxpyF32(float a, const float* x, float* y, std::size_t n) {
  const DF df;
  const std::size_t N = hn::Lanes(df);
  const auto va = hn::Set(df, a);
  std::size_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(hn::MulAdd(va, hn::LoadU(df, x + i), hn::LoadU(df, y + i)), df, y + i);
  for (; i < n; ++i) y[i] += a * x[i];
}

template <class W>
void ConvertT(const W* src, float* dst, std::size_t n) {
  const DF df;
  const std::size_t N = hn::Lanes(df);
  std::size_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(load_weights(df, src + i), df, dst + i);
  for (; i < n; ++i) dst[i] = widen_scalar(src[i]);
}
void ConvertF16(const f16* src, float* dst, std::size_t n) { ConvertT(src, dst, n); }
void ConvertBF16(const bf16* src, float* dst, std::size_t n) { ConvertT(src, dst, n); }

const char* TargetName() { return hwy::TargetName(HWY_TARGET); }

}  // namespace llmforge::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // toggle guard
