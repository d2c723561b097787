// SPDX-License-Identifier: MIT
// SIMD bodies of the float-weight matrix products and small vector helpers (compiled once per target).
#if defined(LLMFORGE_KERNELS_MATMUL_INL_HPP_) == defined(HWY_TARGET_TOGGLE)
#ifdef LLMFORGE_KERNELS_MATMUL_INL_HPP_
#undef LLMFORGE_KERNELS_MATMUL_INL_HPP_
#else
#define LLMFORGE_KERNELS_MATMUL_INL_HPP_
#endif

#include <cstddef>
#include <vector>

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

// One weight row against one activation row (decoding): four independent accumulators, so the
// products are not serialised on one fused multiply-add chain, and a software prefetch 8 KiB ahead
// of the weights (one token streams them from memory).
template <class W>
HWY_INLINE float row_dot(const W* HWY_RESTRICT w, const float* HWY_RESTRICT x, std::size_t k) {
  const DF df;
  const std::size_t N = hn::Lanes(df);
  auto a0 = hn::Zero(df), a1 = hn::Zero(df), a2 = hn::Zero(df), a3 = hn::Zero(df);
  std::size_t i = 0;
  constexpr std::size_t kAhead = 8192 / sizeof(W);
  for (; i + 4 * N <= k; i += 4 * N) {
    for (std::size_t off = 0; off < 4 * N * sizeof(W); off += 64)
      __builtin_prefetch(reinterpret_cast<const char*>(w + i + kAhead) + off, 0, 3);
    a0 = hn::MulAdd(load_weights(df, w + i), hn::LoadU(df, x + i), a0);
    a1 = hn::MulAdd(load_weights(df, w + i + N), hn::LoadU(df, x + i + N), a1);
    a2 = hn::MulAdd(load_weights(df, w + i + 2 * N), hn::LoadU(df, x + i + 2 * N), a2);
    a3 = hn::MulAdd(load_weights(df, w + i + 3 * N), hn::LoadU(df, x + i + 3 * N), a3);
  }
  for (; i + N <= k; i += N) a0 = hn::MulAdd(load_weights(df, w + i), hn::LoadU(df, x + i), a0);
  float s = hn::GetLane(hn::SumOfLanes(df, hn::Add(hn::Add(a0, a1), hn::Add(a2, a3))));
  for (; i < k; ++i) s += widen_scalar(w[i]) * x[i];
  return s;
}

#if !HWY_HAVE_SCALABLE
// A register tile of R weight rows x T activation rows: each step loads R weight vectors (widened to
// f32) and T activation vectors for R x T multiply-adds, where one row at a time needs a load per
// multiply-add. Every output keeps its own lane accumulator summed in the order row_times_4 uses,
// so the results equal it bit for bit.
#if HWY_TARGET <= HWY_AVX3
inline constexpr std::size_t kTileRows = 4, kTileToks = 6;  // 24 accumulators + 4 + 1 of 32 registers
#else
inline constexpr std::size_t kTileRows = 3, kTileToks = 4;  // 12 + 3 + 1 of 16
#endif
template <std::size_t R, std::size_t T, class W>
HWY_INLINE void rows_times_tokens(const W* HWY_RESTRICT w, std::size_t ws, const float* HWY_RESTRICT x, std::size_t xs,
                                  std::size_t k, float* HWY_RESTRICT y, std::size_t ys) {
  const DF df;
  const std::size_t N = hn::Lanes(df);
  hn::Vec<DF> acc[R * T];
  for (std::size_t i = 0; i < R * T; ++i) acc[i] = hn::Zero(df);
  std::size_t i = 0;
  for (; i + N <= k; i += N) {
    hn::Vec<DF> wv[R];
    for (std::size_t r = 0; r < R; ++r) wv[r] = load_weights(df, w + r * ws + i);
    for (std::size_t t = 0; t < T; ++t) {
      const auto xv = hn::LoadU(df, x + t * xs + i);
      for (std::size_t r = 0; r < R; ++r) acc[r * T + t] = hn::MulAdd(wv[r], xv, acc[r * T + t]);
    }
  }
  for (std::size_t r = 0; r < R; ++r)
    for (std::size_t t = 0; t < T; ++t) {
      float s = hn::GetLane(hn::SumOfLanes(df, acc[r * T + t]));
      for (std::size_t j = i; j < k; ++j) s += widen_scalar(w[r * ws + j]) * x[t * xs + j];
      y[t * ys + r] = s;
    }
}
#endif

template <class W>
void MatMulT(const W* w, std::size_t w_stride, const float* x, std::size_t x_stride, std::size_t n, std::size_t k,
             float* y, std::size_t y_stride, std::size_t r0, std::size_t r1) {
  if (n == 1) {
    for (std::size_t r = r0; r < r1; ++r) y[r] = row_dot(w + r * w_stride, x, k);
    return;
  }
#if !HWY_HAVE_SCALABLE
  // Blocks of 64 rows (a few hundred KiB of weights, in L2) meet every token tile in turn.
  constexpr std::size_t R = kTileRows, T = kTileToks, kRowBlock = 64;
  for (std::size_t rb = r0; rb < r1; rb += kRowBlock) {
    const std::size_t re = r1 - rb < kRowBlock ? r1 : rb + kRowBlock;
    for (std::size_t t0 = 0; t0 < n; t0 += T) {
      const std::size_t nt = n - t0 < T ? n - t0 : T;
      const float* xt = x + t0 * x_stride;
      float* yt = y + t0 * y_stride;
      std::size_t r = rb;
      for (; r + R <= re; r += R) {
        if (nt == T) rows_times_tokens<R, T>(w + r * w_stride, w_stride, xt, x_stride, k, yt + r, y_stride);
        else
          for (std::size_t t = 0; t < nt; ++t)
            rows_times_tokens<R, 1>(w + r * w_stride, w_stride, xt + t * x_stride, x_stride, k, yt + t * y_stride + r, y_stride);
      }
      for (; r < re; ++r) {
        if (nt == T) rows_times_tokens<1, T>(w + r * w_stride, w_stride, xt, x_stride, k, yt + r, y_stride);
        else
          for (std::size_t t = 0; t < nt; ++t)
            rows_times_tokens<1, 1>(w + r * w_stride, w_stride, xt + t * x_stride, x_stride, k, yt + t * y_stride + r, y_stride);
      }
    }
  }
#else
  float out[4];
  for (std::size_t t0 = 0; t0 < n; t0 += 4) {
    const std::size_t nt = n - t0 < 4 ? n - t0 : 4;
    for (std::size_t r = r0; r < r1; ++r) {
      row_times_4(w + r * w_stride, x + t0 * x_stride, x_stride, nt, k, out);
      for (std::size_t t = 0; t < nt; ++t) y[(t0 + t) * y_stride + r] = out[t];
    }
  }
#endif
}

void MatMulF32(const float* w, std::size_t ws, const float* x, std::size_t xs, std::size_t n, std::size_t k, float* y,
               std::size_t ys, std::size_t r0, std::size_t r1) {
  MatMulT(w, ws, x, xs, n, k, y, ys, r0, r1);
}
// F16 weights in llama.cpp's order (CPU backend, AVX-512 build): the activations are rounded to F16
// first (so every product is exact in f32). Several tokens: 16 lanes of fused multiply-add chains
// over k, folded like ref::reduce16 (its tiled GEMM; needs k % 16 == 0). One token (or k % 16 != 0):
// its f16 dot -
// 64 lanes over whole blocks of 64, folded like ref::dot, the rest added in double.
template <std::size_t kLanes>  // 64 (the 16-lane order is f16_row_tokens16)
HWY_INLINE float f16_row_dot(const f16* HWY_RESTRICT w, const float* HWY_RESTRICT x, std::size_t k) {
  const DF df;
  constexpr std::size_t N = HWY_LANES(float), nv = kLanes / N;
  static_assert(kLanes % N == 0, "lane groups must be whole vectors");
  hn::Vec<DF> acc[nv];
  for (std::size_t v = 0; v < nv; ++v) acc[v] = hn::Zero(df);
  const std::size_t np = kLanes == 16 ? k : (k & ~std::size_t{63});
  for (std::size_t i = 0; i < np; i += kLanes)
    for (std::size_t v = 0; v < nv; ++v)
      acc[v] = hn::MulAdd(load_weights(df, w + i + v * N), hn::LoadU(df, x + i + v * N), acc[v]);
  HWY_ALIGN float lanes[kLanes];
  for (std::size_t v = 0; v < nv; ++v) hn::Store(acc[v], df, lanes + v * N);
  float r[16];
  for (std::size_t l = 0; l < 16; ++l) {
    if constexpr (kLanes == 64) {
      const float a = lanes[l] + lanes[32 + l], b = lanes[16 + l] + lanes[48 + l];
      r[l] = a + b;
    } else {
      r[l] = lanes[l];
    }
  }
  float t3[8], t6[4];
  for (int i = 0; i < 8; ++i) t3[i] = r[i + 8] + r[i];
  for (int i = 0; i < 4; ++i) t6[i] = t3[i + 4] + t3[i];
  const float folded = (t6[0] + t6[2]) + (t6[1] + t6[3]);
  double sum = folded;
  for (std::size_t i = np; i < k; ++i) sum += static_cast<double>(widen_scalar(w[i]) * x[i]);
  return static_cast<float>(sum);
}

// The 16-lane order for up to four tokens at once (each weight vector loaded once for all of them).
template <std::size_t NT>
HWY_INLINE void f16_row_tokens16(const f16* HWY_RESTRICT w, const float* HWY_RESTRICT x, std::size_t k, float* out) {
  const DF df;
  constexpr std::size_t N = HWY_LANES(float), nv = 16 / N;
  static_assert(16 % N == 0, "lane groups must be whole vectors");
  hn::Vec<DF> acc[NT][nv];
  for (std::size_t t = 0; t < NT; ++t)
    for (std::size_t v = 0; v < nv; ++v) acc[t][v] = hn::Zero(df);
  for (std::size_t i = 0; i < k; i += 16)
    for (std::size_t v = 0; v < nv; ++v) {
      const auto wv = load_weights(df, w + i + v * N);
      for (std::size_t t = 0; t < NT; ++t) acc[t][v] = hn::MulAdd(wv, hn::LoadU(df, x + t * k + i + v * N), acc[t][v]);
    }
  for (std::size_t t = 0; t < NT; ++t) {
    HWY_ALIGN float r[16];
    for (std::size_t v = 0; v < nv; ++v) hn::Store(acc[t][v], df, r + v * N);
    float t3[8], t6[4];
    for (int i = 0; i < 8; ++i) t3[i] = r[i + 8] + r[i];
    for (int i = 0; i < 4; ++i) t6[i] = t3[i + 4] + t3[i];
    out[t] = (t6[0] + t6[2]) + (t6[1] + t6[3]);
  }
}

// Activations rounded to F16 (nearest even) and kept as f32, `n` rows of `k` into `out` (stride k).
void RoundToF16(const float* x, std::size_t xs, std::size_t n, std::size_t k, float* out) {
  const DF df;
  const std::size_t N = hn::Lanes(df);
  const hn::Rebind<hwy::float16_t, DF> dh;
  for (std::size_t t = 0; t < n; ++t) {
    std::size_t i = 0;
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX2
    // F16C rounds to nearest even; Highway's emulated demotion on older targets does not always.
    for (; i + N <= k; i += N) hn::StoreU(hn::PromoteTo(df, hn::DemoteTo(dh, hn::LoadU(df, x + t * xs + i))), df, out + t * k + i);
#else
    (void)dh;
    (void)N;
#endif
    for (; i < k; ++i) out[t * k + i] = f16_to_f32(f32_to_f16(x[t * xs + i]));
  }
}

// F16 weights against activations already rounded to F16 (RoundToF16; `xr` rows k apart).
void MatMulF16Rounded(const f16* w, std::size_t ws, const float* xr, std::size_t n, std::size_t k, float* y,
                      std::size_t ys, std::size_t r0, std::size_t r1) {
  const bool tiled = n > 1 && k % 16 == 0;  // llama.cpp's GEMM takes several tokens when k % 16 == 0
  if (!tiled) {
    for (std::size_t r = r0; r < r1; ++r)
      for (std::size_t t = 0; t < n; ++t) y[t * ys + r] = f16_row_dot<64>(w + r * ws, xr + t * k, k);
    return;
  }
  float out[4];
  for (std::size_t t0 = 0; t0 < n; t0 += 4) {
    const std::size_t nt = n - t0 < 4 ? n - t0 : 4;
    const float* xt = xr + t0 * k;
    for (std::size_t r = r0; r < r1; ++r) {
      const f16* wr = w + r * ws;
      if (nt == 4) f16_row_tokens16<4>(wr, xt, k, out);
      else if (nt == 3) f16_row_tokens16<3>(wr, xt, k, out);
      else if (nt == 2) f16_row_tokens16<2>(wr, xt, k, out);
      else f16_row_tokens16<1>(wr, xt, k, out);
      for (std::size_t t = 0; t < nt; ++t) y[(t0 + t) * ys + r] = out[t];
    }
  }
}

void MatMulBF16(const bf16* w, std::size_t ws, const float* x, std::size_t xs, std::size_t n, std::size_t k, float* y,
                std::size_t ys, std::size_t r0, std::size_t r1) {
  MatMulT(w, ws, x, xs, n, k, y, ys, r0, r1);
}

void MatMulF16F32(const f16* w, std::size_t ws, const float* x, std::size_t xs, std::size_t n, std::size_t k, float* y,
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
