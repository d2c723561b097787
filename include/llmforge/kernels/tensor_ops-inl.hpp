// SPDX-License-Identifier: MIT
// SIMD bodies for the tensor library: packed, register-tiled GEMM (F32/F16/BF16 operands) and F32 elementwise,
// unary-math and softmax helpers (compiled once per target).
#if defined(LLMFORGE_KERNELS_TENSOR_OPS_INL_HPP_) == defined(HWY_TARGET_TOGGLE)
#ifdef LLMFORGE_KERNELS_TENSOR_OPS_INL_HPP_
#undef LLMFORGE_KERNELS_TENSOR_OPS_INL_HPP_
#else
#define LLMFORGE_KERNELS_TENSOR_OPS_INL_HPP_
#endif

#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <type_traits>

#include <hwy/contrib/math/math-inl.h>
#include <hwy/highway.h>

#include <llmforge/core/half.hpp>
#include <llmforge/kernels/dispatch.hpp>

HWY_BEFORE_NAMESPACE();
namespace llmforge::kernels::HWY_NAMESPACE {
namespace tops {
namespace hn = hwy::HWY_NAMESPACE;
using DF = hn::ScalableTag<float>;

HWY_INLINE float to_f32(float v) { return v; }
HWY_INLINE float to_f32(f16 v) { return f16_to_f32(v); }
HWY_INLINE float to_f32(bf16 v) { return bf16_to_f32(v); }
template <class T>
HWY_INLINE T from_f32(float v) {
  if constexpr (std::is_same_v<T, float>) {
    return v;
  } else if constexpr (std::is_same_v<T, f16>) {
    return f32_to_f16(v);
  } else {
    return f32_to_bf16(v);
  }
}

// Register tile: MR rows of A times NV vectors of B columns. 512-bit targets have 32 vector registers:
// 8x3 = 24 accumulators + 3 B vectors + 1 broadcast. Narrower x86 targets have 16: 4x3 = 12 + 3 + 1 (the
// shape of Eigen's AVX kernel); it needs 7 loads per 12 FMAs where 6x2 needs 8, and measured faster on Zen.
#if HWY_TARGET <= HWY_AVX3
inline constexpr std::size_t kMR = 8;
inline constexpr std::size_t kNV = 3;
#else
inline constexpr std::size_t kMR = 4;
inline constexpr std::size_t kNV = 3;
#endif
inline constexpr std::size_t kMaxNR = kNV * HWY_LANES(float);
// Cache blocking: a KC x NR micro-panel of B stays in L1 while the MC x KC block of A (L2) streams past it.
inline constexpr std::size_t kKC = 256;
inline constexpr std::size_t kMC = 96;  // a multiple of both MR choices
inline constexpr std::size_t kNCTarget = 2048;
static_assert(kMC % kMR == 0, "the A block must hold whole micro-panels (pack_a writes MR rows at a time)");

// Grow-only, 64-byte-aligned scratch owned by one thread: packing allocates only on first use.
struct PackBuffer {
  float* p = nullptr;
  std::size_t cap = 0;
  PackBuffer() = default;
  PackBuffer(const PackBuffer&) = delete;
  PackBuffer& operator=(const PackBuffer&) = delete;
  ~PackBuffer() { std::free(p); }
  float* get(std::size_t n) {
    if (n > cap) {
      std::free(p);
      const std::size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
      p = static_cast<float*>(std::aligned_alloc(64, bytes));
      if (!p) {
        cap = 0;
        throw std::bad_alloc();
      }
      cap = n;
    }
    return p;
  }
};

// Packs rows [0, mc) x columns [0, kc) of A into micro-panels of MR rows: panel[p * MR + r].
template <class TA>
void pack_a(const TA* a, std::ptrdiff_t rs, std::ptrdiff_t cs, std::size_t mc, std::size_t kc, float* ap) {
  for (std::size_t i0 = 0; i0 < mc; i0 += kMR) {
    float* dst = ap + i0 * kc;
    const std::size_t mr = mc - i0 < kMR ? mc - i0 : kMR;
    for (std::size_t r = 0; r < mr; ++r) {
      const TA* src = a + static_cast<std::ptrdiff_t>(i0 + r) * rs;
      if (cs == 1) {
        for (std::size_t p = 0; p < kc; ++p) dst[p * kMR + r] = to_f32(src[p]);
      } else {
        for (std::size_t p = 0; p < kc; ++p) dst[p * kMR + r] = to_f32(src[static_cast<std::ptrdiff_t>(p) * cs]);
      }
    }
    for (std::size_t r = mr; r < kMR; ++r)
      for (std::size_t p = 0; p < kc; ++p) dst[p * kMR + r] = 0.0f;
  }
}

// Widens n contiguous values to f32 (F16/BF16 exactly, with vector conversions).
template <class T>
HWY_INLINE void widen_row(const T* HWY_RESTRICT src, float* HWY_RESTRICT dst, std::size_t n) {
  if constexpr (std::is_same_v<T, float>) {
    std::memcpy(dst, src, n * sizeof(float));
  } else {
    using HT = std::conditional_t<std::is_same_v<T, f16>, hwy::float16_t, hwy::bfloat16_t>;
    const DF df;
    const hn::Rebind<HT, DF> dh;
    const std::size_t N = hn::Lanes(df);
    std::size_t i = 0;
    for (; i + N <= n; i += N) hn::StoreU(hn::PromoteTo(df, hn::LoadU(dh, reinterpret_cast<const HT*>(src + i))), df, dst + i);
    for (; i < n; ++i) dst[i] = to_f32(src[i]);
  }
}

// Packs rows [0, kc) x columns [0, nc) of B into micro-panels of NR columns: panel[p * NR + j].
template <class TB>
void pack_b(const TB* b, std::ptrdiff_t rs, std::ptrdiff_t cs, std::size_t kc, std::size_t nc, std::size_t nr,
            float* bp) {
  static thread_local PackBuffer row_buf;
  for (std::size_t j0 = 0; j0 < nc; j0 += nr) {
    float* dst = bp + j0 * kc;
    const std::size_t w = nc - j0 < nr ? nc - j0 : nr;
    if (cs == 1) {  // rows of B are contiguous: copy (and widen) row segments
      for (std::size_t p = 0; p < kc; ++p) {
        const TB* src = b + static_cast<std::ptrdiff_t>(p) * rs + static_cast<std::ptrdiff_t>(j0);
        float* d = dst + p * nr;
        widen_row(src, d, w);
        for (std::size_t j = w; j < nr; ++j) d[j] = 0.0f;
      }
    } else {  // e.g. B = W^T of a row-major weight W: read each column of B (a row of W) contiguously
      float* tmp = rs == 1 && !std::is_same_v<TB, float> ? row_buf.get(kc) : nullptr;
      for (std::size_t j = 0; j < w; ++j) {
        const TB* src = b + static_cast<std::ptrdiff_t>(j0 + j) * cs;
        if (tmp) {  // widen the contiguous row with vectors first, then scatter
          widen_row(src, tmp, kc);
          for (std::size_t p = 0; p < kc; ++p) dst[p * nr + j] = tmp[p];
        } else {
          for (std::size_t p = 0; p < kc; ++p) dst[p * nr + j] = to_f32(src[static_cast<std::ptrdiff_t>(p) * rs]);
        }
      }
      for (std::size_t j = w; j < nr; ++j)
        for (std::size_t p = 0; p < kc; ++p) dst[p * nr + j] = 0.0f;
    }
  }
}

// C[0:MR, 0:NR] (+)= Ap * Bp over kc steps; C is f32 with row stride ldc and unit column stride.
HWY_INLINE void micro_kernel(const float* HWY_RESTRICT ap, const float* HWY_RESTRICT bp, std::size_t kc,
                             float* HWY_RESTRICT c, std::size_t ldc, bool load_c) {
  const DF df;
  const std::size_t N = hn::Lanes(df);
  const std::size_t nr = kNV * N;
#define LLMFORGE_GEMM_DECL(r) \
  auto c##r##_0 = hn::Zero(df), c##r##_1 = hn::Zero(df), c##r##_2 = hn::Zero(df);
  LLMFORGE_GEMM_DECL(0)
  LLMFORGE_GEMM_DECL(1)
  LLMFORGE_GEMM_DECL(2)
  LLMFORGE_GEMM_DECL(3)
  LLMFORGE_GEMM_DECL(4)
  LLMFORGE_GEMM_DECL(5)
  LLMFORGE_GEMM_DECL(6)
  LLMFORGE_GEMM_DECL(7)
#undef LLMFORGE_GEMM_DECL
  // C is read again after the K loop: start fetching it now so the final loads do not stall (measured ~5-10%).
  if (load_c)
    for (std::size_t r = 0; r < kMR; ++r) {
      __builtin_prefetch(c + r * ldc, 0, 3);
      __builtin_prefetch(c + r * ldc + nr - 1, 0, 3);
    }
  for (std::size_t p = 0; p < kc; ++p) {
    const float* bq = bp + p * nr;
    const float* aq = ap + p * kMR;
    const auto b0 = hn::Load(df, bq);
    const auto b1 = kNV > 1 ? hn::Load(df, bq + N) : b0;
    const auto b2 = kNV > 2 ? hn::Load(df, bq + 2 * N) : b0;
#define LLMFORGE_GEMM_FMA(r)                                           \
  if constexpr (r < kMR) {                                             \
    const auto a = hn::Set(df, aq[r]);                                 \
    c##r##_0 = hn::MulAdd(a, b0, c##r##_0);                            \
    if constexpr (kNV > 1) c##r##_1 = hn::MulAdd(a, b1, c##r##_1);     \
    if constexpr (kNV > 2) c##r##_2 = hn::MulAdd(a, b2, c##r##_2);     \
  }
    LLMFORGE_GEMM_FMA(0)
    LLMFORGE_GEMM_FMA(1)
    LLMFORGE_GEMM_FMA(2)
    LLMFORGE_GEMM_FMA(3)
    LLMFORGE_GEMM_FMA(4)
    LLMFORGE_GEMM_FMA(5)
    LLMFORGE_GEMM_FMA(6)
    LLMFORGE_GEMM_FMA(7)
#undef LLMFORGE_GEMM_FMA
  }
#define LLMFORGE_GEMM_STORE(r)                                                            \
  if constexpr (r < kMR) {                                                                \
    float* cr = c + r * ldc;                                                              \
    if (load_c) c##r##_0 = hn::Add(c##r##_0, hn::LoadU(df, cr));                          \
    hn::StoreU(c##r##_0, df, cr);                                                         \
    if constexpr (kNV > 1) {                                                              \
      if (load_c) c##r##_1 = hn::Add(c##r##_1, hn::LoadU(df, cr + N));                    \
      hn::StoreU(c##r##_1, df, cr + N);                                                   \
    }                                                                                     \
    if constexpr (kNV > 2) {                                                              \
      if (load_c) c##r##_2 = hn::Add(c##r##_2, hn::LoadU(df, cr + 2 * N));                \
      hn::StoreU(c##r##_2, df, cr + 2 * N);                                               \
    }                                                                                     \
  }
  LLMFORGE_GEMM_STORE(0)
  LLMFORGE_GEMM_STORE(1)
  LLMFORGE_GEMM_STORE(2)
  LLMFORGE_GEMM_STORE(3)
  LLMFORGE_GEMM_STORE(4)
  LLMFORGE_GEMM_STORE(5)
  LLMFORGE_GEMM_STORE(6)
  LLMFORGE_GEMM_STORE(7)
#undef LLMFORGE_GEMM_STORE
}

template <class TA, class TB, class TC>
void gemm_typed(const GemmArgs& g, std::size_t m0, std::size_t m1, std::size_t n0, std::size_t n1) {
  const DF df;
  const std::size_t nr = kNV * hn::Lanes(df);
  const TA* a = static_cast<const TA*>(g.a);
  const TB* b = static_cast<const TB*>(g.b);
  TC* c = static_cast<TC*>(g.c);
  auto c_at = [&](std::size_t i, std::size_t j) -> TC& {
    return c[static_cast<std::ptrdiff_t>(i) * g.c_rs + static_cast<std::ptrdiff_t>(j) * g.c_cs];
  };
  if (m0 >= m1 || n0 >= n1) return;
  if (g.k == 0) {
    if (!g.accumulate)
      for (std::size_t i = m0; i < m1; ++i)
        for (std::size_t j = n0; j < n1; ++j) c_at(i, j) = from_f32<TC>(0.0f);
    return;
  }
  // Narrow outputs are written once, after the whole K sum, so they are rounded only once.
  const std::size_t kc_max = std::is_same_v<TC, float> ? kKC : g.k;
  const std::size_t nc_max = (kNCTarget + nr - 1) / nr * nr;
  static thread_local PackBuffer a_buf, b_buf;
  float* bp = b_buf.get(kc_max * nc_max);
  float* ap = a_buf.get(kMC * kc_max);
  alignas(64) float tile[kMR * kMaxNR];
  for (std::size_t jc = n0; jc < n1; jc += nc_max) {
    const std::size_t nc = n1 - jc < nc_max ? n1 - jc : nc_max;
    for (std::size_t pc = 0; pc < g.k; pc += kc_max) {
      const std::size_t kc = g.k - pc < kc_max ? g.k - pc : kc_max;
      pack_b(b + static_cast<std::ptrdiff_t>(pc) * g.b_rs + static_cast<std::ptrdiff_t>(jc) * g.b_cs, g.b_rs, g.b_cs, kc,
             nc, nr, bp);
      const bool load_c = g.accumulate || pc > 0;
      for (std::size_t ic = m0; ic < m1; ic += kMC) {
        const std::size_t mc = m1 - ic < kMC ? m1 - ic : kMC;
        pack_a(a + static_cast<std::ptrdiff_t>(ic) * g.a_rs + static_cast<std::ptrdiff_t>(pc) * g.a_cs, g.a_rs, g.a_cs, mc,
               kc, ap);
        for (std::size_t jr = 0; jr < nc; jr += nr) {
          const std::size_t nre = nc - jr < nr ? nc - jr : nr;
          for (std::size_t ir = 0; ir < mc; ir += kMR) {
            const std::size_t mre = mc - ir < kMR ? mc - ir : kMR;
            const float* apanel = ap + ir * kc;
            const float* bpanel = bp + jr * kc;
            if constexpr (std::is_same_v<TC, float>) {
              if (nre == nr && mre == kMR && g.c_cs == 1) {
                micro_kernel(apanel, bpanel, kc, &c_at(ic + ir, jc + jr), static_cast<std::size_t>(g.c_rs), load_c);
                continue;
              }
            }
            micro_kernel(apanel, bpanel, kc, tile, nr, false);
            for (std::size_t r = 0; r < mre; ++r)
              for (std::size_t j = 0; j < nre; ++j) {
                TC& dst = c_at(ic + ir + r, jc + jr + j);
                const float v = tile[r * nr + j] + (load_c ? to_f32(dst) : 0.0f);
                dst = from_f32<TC>(v);
              }
          }
        }
      }
    }
  }
}

template <class TA, class TB>
void gemm_c(const GemmArgs& g, std::size_t m0, std::size_t m1, std::size_t n0, std::size_t n1) {
  switch (g.c_type) {
    case ElemType::F32: return gemm_typed<TA, TB, float>(g, m0, m1, n0, n1);
    case ElemType::F16: return gemm_typed<TA, TB, f16>(g, m0, m1, n0, n1);
    case ElemType::BF16: return gemm_typed<TA, TB, bf16>(g, m0, m1, n0, n1);
  }
}
template <class TA>
void gemm_b(const GemmArgs& g, std::size_t m0, std::size_t m1, std::size_t n0, std::size_t n1) {
  switch (g.b_type) {
    case ElemType::F32: return gemm_c<TA, float>(g, m0, m1, n0, n1);
    case ElemType::F16: return gemm_c<TA, f16>(g, m0, m1, n0, n1);
    case ElemType::BF16: return gemm_c<TA, bf16>(g, m0, m1, n0, n1);
  }
}

// Elementwise binary op over n lanes; a_step / b_step are 0 (broadcast one value) or 1.
template <class VecOp, class ScalarOp>
HWY_INLINE void binary_loop(const float* a, std::size_t sa, const float* b, std::size_t sb, float* out, std::size_t n,
                            VecOp vop, ScalarOp sop) {
  const DF df;
  const std::size_t N = hn::Lanes(df);
  std::size_t i = 0;
  if (sa && sb) {
    for (; i + N <= n; i += N) hn::StoreU(vop(hn::LoadU(df, a + i), hn::LoadU(df, b + i)), df, out + i);
  } else if (sa) {
    const auto vb = hn::Set(df, b[0]);
    for (; i + N <= n; i += N) hn::StoreU(vop(hn::LoadU(df, a + i), vb), df, out + i);
  } else if (sb) {
    const auto va = hn::Set(df, a[0]);
    for (; i + N <= n; i += N) hn::StoreU(vop(va, hn::LoadU(df, b + i)), df, out + i);
  }
  for (; i < n; ++i) out[i] = sop(a[i * sa], b[i * sb]);
}

// e^x that also returns +inf above the float range and NaN for NaN (hn::Exp covers [-inf, 88.7]).
template <class V>
HWY_INLINE V exp_full(DF df, V x) {
  const auto y = hn::Exp(df, x);
  const auto big = hn::Gt(x, hn::Set(df, 88.72283905206835f));
  const auto r = hn::IfThenElse(big, hn::Set(df, std::numeric_limits<float>::infinity()), y);
  return hn::IfThenElse(hn::IsNaN(x), x, r);
}

}  // namespace tops

void Gemm(const GemmArgs& g, std::size_t m0, std::size_t m1, std::size_t n0, std::size_t n1) {
  switch (g.a_type) {
    case ElemType::F32: return tops::gemm_b<float>(g, m0, m1, n0, n1);
    case ElemType::F16: return tops::gemm_b<f16>(g, m0, m1, n0, n1);
    case ElemType::BF16: return tops::gemm_b<bf16>(g, m0, m1, n0, n1);
  }
}

std::size_t GemmTileRows() { return tops::kMR; }
std::size_t GemmTileCols() { return tops::kNV * hn::Lanes(tops::DF()); }

double FmaProbe(std::size_t iterations, float* sink) {
  const tops::DF df;
  namespace hn = hwy::HWY_NAMESPACE;
  const auto m = hn::Set(df, 0.99999994f);
  const auto add = hn::Set(df, 1e-7f);
  auto a0 = hn::Set(df, 1.0f), a1 = hn::Set(df, 1.1f), a2 = hn::Set(df, 1.2f), a3 = hn::Set(df, 1.3f);
  auto a4 = hn::Set(df, 1.4f), a5 = hn::Set(df, 1.5f), a6 = hn::Set(df, 1.6f), a7 = hn::Set(df, 1.7f);
  auto a8 = hn::Set(df, 1.8f), a9 = hn::Set(df, 1.9f), a10 = hn::Set(df, 2.0f), a11 = hn::Set(df, 2.1f);
  for (std::size_t i = 0; i < iterations; ++i) {
    a0 = hn::MulAdd(a0, m, add);
    a1 = hn::MulAdd(a1, m, add);
    a2 = hn::MulAdd(a2, m, add);
    a3 = hn::MulAdd(a3, m, add);
    a4 = hn::MulAdd(a4, m, add);
    a5 = hn::MulAdd(a5, m, add);
    a6 = hn::MulAdd(a6, m, add);
    a7 = hn::MulAdd(a7, m, add);
    a8 = hn::MulAdd(a8, m, add);
    a9 = hn::MulAdd(a9, m, add);
    a10 = hn::MulAdd(a10, m, add);
    a11 = hn::MulAdd(a11, m, add);
  }
  const auto s = hn::Add(hn::Add(hn::Add(hn::Add(a0, a1), hn::Add(a2, a3)), hn::Add(hn::Add(a4, a5), hn::Add(a6, a7))),
                         hn::Add(hn::Add(a8, a9), hn::Add(a10, a11)));
  *sink = hn::GetLane(hn::SumOfLanes(df, s));
  return 2.0 * 12.0 * static_cast<double>(hn::Lanes(df)) * static_cast<double>(iterations);
}

void BinaryF32(BinaryOp op, const float* a, std::size_t sa, const float* b, std::size_t sb, float* out, std::size_t n) {
  namespace hn = hwy::HWY_NAMESPACE;
  using V = hn::Vec<tops::DF>;
  switch (op) {
    case BinaryOp::Add:
      return tops::binary_loop(a, sa, b, sb, out, n, [](V x, V y) { return hn::Add(x, y); },
                               [](float x, float y) { return x + y; });
    case BinaryOp::Sub:
      return tops::binary_loop(a, sa, b, sb, out, n, [](V x, V y) { return hn::Sub(x, y); },
                               [](float x, float y) { return x - y; });
    case BinaryOp::Mul:
      return tops::binary_loop(a, sa, b, sb, out, n, [](V x, V y) { return hn::Mul(x, y); },
                               [](float x, float y) { return x * y; });
    case BinaryOp::Div:
      return tops::binary_loop(a, sa, b, sb, out, n, [](V x, V y) { return hn::Div(x, y); },
                               [](float x, float y) { return x / y; });
    case BinaryOp::Max:
      // NumPy's maximum propagates NaN; IfThenElse on "x is NaN" keeps that behaviour.
      return tops::binary_loop(
          a, sa, b, sb, out, n,
          [](V x, V y) { return hn::IfThenElse(hn::IsNaN(x), x, hn::IfThenElse(hn::IsNaN(y), y, hn::Max(x, y))); },
          [](float x, float y) { return x != x ? x : (y != y ? y : (x > y ? x : y)); });
    case BinaryOp::Min:
      return tops::binary_loop(
          a, sa, b, sb, out, n,
          [](V x, V y) { return hn::IfThenElse(hn::IsNaN(x), x, hn::IfThenElse(hn::IsNaN(y), y, hn::Min(x, y))); },
          [](float x, float y) { return x != x ? x : (y != y ? y : (x < y ? x : y)); });
  }
}

void UnaryF32(UnaryOp op, const float* x, float* out, std::size_t n) {
  namespace hn = hwy::HWY_NAMESPACE;
  const tops::DF df;
  const std::size_t N = hn::Lanes(df);
  using V = hn::Vec<tops::DF>;
  auto run = [&](auto vop, auto sop) {
    std::size_t i = 0;
    for (; i + N <= n; i += N) hn::StoreU(vop(hn::LoadU(df, x + i)), df, out + i);
    for (; i < n; ++i) out[i] = sop(x[i]);
  };
  const auto one = hn::Set(df, 1.0f);
  const auto half = hn::Set(df, 0.5f);
  switch (op) {
    case UnaryOp::Exp:
      return run([&](V v) { return tops::exp_full(df, v); }, [](float v) { return std::exp(v); });
    case UnaryOp::Log:
      return run(
          [&](V v) {
            // hn::Log covers (0, FLT_MAX]; zero, negatives, infinity and NaN follow IEEE log.
            const auto y = hn::Log(df, v);
            const auto inf = hn::Set(df, std::numeric_limits<float>::infinity());
            auto r = hn::IfThenElse(hn::Eq(v, hn::Zero(df)), hn::Neg(inf), y);
            r = hn::IfThenElse(hn::Lt(v, hn::Zero(df)), hn::Set(df, std::numeric_limits<float>::quiet_NaN()), r);
            r = hn::IfThenElse(hn::Eq(v, inf), inf, r);
            return hn::IfThenElse(hn::IsNaN(v), v, r);
          },
          [](float v) { return std::log(v); });
    case UnaryOp::Sqrt:
      return run([](V v) { return hn::Sqrt(v); }, [](float v) { return std::sqrt(v); });
    case UnaryOp::Tanh:
      return run([&](V v) { return hn::Tanh(df, v); }, [](float v) { return std::tanh(v); });
    case UnaryOp::Neg:
      return run([](V v) { return hn::Neg(v); }, [](float v) { return -v; });
    case UnaryOp::Abs:
      return run([](V v) { return hn::Abs(v); }, [](float v) { return std::fabs(v); });
    case UnaryOp::Relu:
      // max(x, 0) that keeps NaN (as NumPy's maximum(x, 0) does).
      return run([&](V v) { return hn::IfThenElse(hn::Lt(v, hn::Zero(df)), hn::Zero(df), v); },
                 [](float v) { return v < 0.0f ? 0.0f : v; });
    case UnaryOp::Sigmoid:
      return run([&](V v) { return hn::Div(one, hn::Add(one, tops::exp_full(df, hn::Neg(v)))); },
                 [](float v) { return 1.0f / (1.0f + std::exp(-v)); });
    case UnaryOp::Silu:
      return run([&](V v) { return hn::Div(v, hn::Add(one, tops::exp_full(df, hn::Neg(v)))); },
                 [](float v) { return v / (1.0f + std::exp(-v)); });
    case UnaryOp::GeluTanh: {
      // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
      const auto c0 = hn::Set(df, 0.7978845608028654f);
      const auto c1 = hn::Set(df, 0.044715f);
      return run(
          [&](V v) {
            const auto inner = hn::Mul(c0, hn::MulAdd(hn::Mul(c1, v), hn::Mul(v, v), v));
            return hn::Mul(hn::Mul(half, v), hn::Add(one, hn::Tanh(df, inner)));
          },
          [](float v) { return 0.5f * v * (1.0f + std::tanh(0.7978845608028654f * (v + 0.044715f * v * v * v))); });
    }
    case UnaryOp::GeluErf:
      // erf has no Highway implementation in 1.0.3: scalar, in double. 1 + erf(v/sqrt2) is written as
      // erfc(-v/sqrt2), which does not cancel for very negative v.
      for (std::size_t i = 0; i < n; ++i) {
        const double v = x[i];
        out[i] = static_cast<float>(0.5 * v * std::erfc(-v * 0.70710678118654752440));
      }
      return;
  }
}

float MaxF32(const float* x, std::size_t n) {
  namespace hn = hwy::HWY_NAMESPACE;
  const tops::DF df;
  const std::size_t N = hn::Lanes(df);
  float m = -std::numeric_limits<float>::infinity();
  std::size_t i = 0;
  if (n >= N) {
    auto vm = hn::Set(df, m);
    for (; i + N <= n; i += N) vm = hn::Max(vm, hn::LoadU(df, x + i));
    m = hn::GetLane(hn::MaxOfLanes(df, vm));
  }
  for (; i < n; ++i) m = x[i] > m ? x[i] : m;
  return m;
}

double ExpShiftSumF32(const float* x, float shift, float* out, std::size_t n) {
  namespace hn = hwy::HWY_NAMESPACE;
  const tops::DF df;
  const std::size_t N = hn::Lanes(df);
  const auto vs = hn::Set(df, shift);
  auto acc = hn::Zero(df);
  std::size_t i = 0;
  for (; i + N <= n; i += N) {
    const auto e = tops::exp_full(df, hn::Sub(hn::LoadU(df, x + i), vs));
    if (out) hn::StoreU(e, df, out + i);
    acc = hn::Add(acc, e);
  }
  double s = static_cast<double>(hn::GetLane(hn::SumOfLanes(df, acc)));
  for (; i < n; ++i) {
    const float e = std::exp(x[i] - shift);
    if (out) out[i] = e;
    s += e;
  }
  return s;
}

}  // namespace llmforge::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // toggle guard
