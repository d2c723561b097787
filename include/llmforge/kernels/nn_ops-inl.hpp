// SPDX-License-Identifier: MIT
// SIMD bodies of the transformer's non-matmul kernels (compiled once per target): RMSNorm, SiLU-gated
// products, softmax, RoPE, and the attention score and value products. Each follows the operation
// order of its scalar reference in kernels/nn_reference.hpp; on targets with fused multiply-add the
// results are identical to the reference bit for bit (the dispatch TU is compiled without implicit
// contraction, so every fused step here is an explicit MulAdd).
#if defined(LLMFORGE_KERNELS_NN_OPS_INL_HPP_) == defined(HWY_TARGET_TOGGLE)
#ifdef LLMFORGE_KERNELS_NN_OPS_INL_HPP_
#undef LLMFORGE_KERNELS_NN_OPS_INL_HPP_
#else
#define LLMFORGE_KERNELS_NN_OPS_INL_HPP_
#endif

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>

#include <hwy/highway.h>

#include <llmforge/kernels/dispatch.hpp>
#include <llmforge/kernels/nn_reference.hpp>

HWY_BEFORE_NAMESPACE();
namespace llmforge::kernels::HWY_NAMESPACE {
namespace nnops {
namespace hn = hwy::HWY_NAMESPACE;
using DF = hn::ScalableTag<float>;

// The polynomial exp of ref::exp: exact for lanes whose exponent n = round(x / ln 2) lies in
// [-126, 127]; `n` receives it so callers can detect the other lanes.
template <class D, class V = hn::Vec<D>>
HWY_INLINE V ExpPolynomial(D d, V x, V& n) {
  const V shift = hn::Set(d, 0x1.8p23f);
  const V z = hn::MulAdd(x, hn::Set(d, 0x1.715476p+0f), shift);
  n = hn::Sub(z, shift);
  const V b = hn::NegMulAdd(n, hn::Set(d, 0x1.7f7d1cp-20f), hn::NegMulAdd(n, hn::Set(d, 0x1.62e4p-1f), x));
  const V u = hn::Mul(b, b);
  const V p_hi = hn::MulAdd(hn::MulAdd(hn::Set(d, 0x1.0e4020p-7f), b, hn::Set(d, 0x1.573e2ep-5f)), u,
                            hn::MulAdd(hn::Set(d, 0x1.555e66p-3f), b, hn::Set(d, 0x1.fffdb6p-2f)));
  return hn::MulAdd(p_hi, u, hn::MulAdd(hn::Set(d, 0x1.ffffecp-1f), b, hn::Set(d, 1.0f)));
}
// 2^n for integral n in [-126, 127], from its bit pattern.
template <class D, class V = hn::Vec<D>>
HWY_INLINE V Pow2(D d, V n) {
  const hn::RebindToSigned<D> di;
  return hn::BitCast(d, hn::ShiftLeft<23>(hn::Add(hn::ConvertTo(di, n), hn::Set(di, 127))));
}

// ref::exp for a vector. Lanes whose exponent leaves the normal range (|n| > 126, i.e. results
// that overflow or are subnormal) are recomputed with the scalar reference.
template <class D, class V = hn::Vec<D>>
HWY_INLINE V Exp(D d, V x) {
  V n;
  const V j = ExpPolynomial(d, x, n);
  const auto special = hn::Gt(hn::Abs(n), hn::Set(d, 126.0f));
  V r = hn::Mul(j, Pow2(d, hn::IfThenZeroElse(special, n)));  // special lanes are replaced below
  if (HWY_UNLIKELY(!hn::AllFalse(d, special))) {
    HWY_ALIGN float xs[hn::MaxLanes(d)], rs[hn::MaxLanes(d)];
    hn::Store(x, d, xs);
    hn::Store(r, d, rs);
    const auto sp = hn::VecFromMask(d, special);
    HWY_ALIGN float ms[hn::MaxLanes(d)];
    hn::Store(sp, d, ms);
    for (std::size_t i = 0; i < hn::Lanes(d); ++i) {
      uint32_t bits;
      std::memcpy(&bits, &ms[i], 4);
      if (bits) rs[i] = ref::exp(xs[i]);
    }
    r = hn::Load(d, rs);
  }
  return r;
}

}  // namespace nnops

/// Whether this target's MulAdd is a true fused multiply-add (then the kernels here equal their
/// references bit for bit).
bool NativeFma() { return HWY_NATIVE_FMA != 0; }

/// out[i] = silu(g[i]) * (u ? u[i] : 1) for one row; the first n - n % 16 values use the polynomial
/// exp (like the reference's 16-wide blocks), the rest std::exp.
void SiluMulF32(const float* g, const float* u, float* out, std::size_t n) {
  using namespace nnops;
  const DF d;
  const std::size_t N = hn::Lanes(d), n16 = n & ~std::size_t{15};
  const auto one = hn::Set(d, 1.0f);
  std::size_t i = 0;
  for (; i + N <= n16; i += N) {
    const auto x = hn::LoadU(d, g + i);
    auto y = hn::Div(x, hn::Add(one, Exp(d, hn::Neg(x))));
    if (u) y = hn::Mul(y, hn::LoadU(d, u + i));
    hn::StoreU(y, d, out + i);
  }
  for (; i < n16; ++i) out[i] = u ? ref::silu(g[i]) * u[i] : ref::silu(g[i]);
  for (; i < n; ++i) {
    const float s = g[i] / (1.0f + std::exp(-g[i]));
    out[i] = u ? s * u[i] : s;
  }
}

/// Row-wise RMSNorm as ref::rms_norm (sum of squares accumulated in order in double).
void RmsNormF32(const float* x, const float* w, float* out, std::size_t n, float eps) {
  using namespace nnops;
  const float scale = ref::rms_scale(x, n, eps);  // sequential double sum: scalar on every target
  const DF d;
  const std::size_t N = hn::Lanes(d);
  const auto vs = hn::Set(d, scale);
  std::size_t i = 0;
  for (; i + N <= n; i += N) {
    auto y = hn::Mul(hn::LoadU(d, x + i), vs);
    if (w) y = hn::Mul(y, hn::LoadU(d, w + i));
    hn::StoreU(y, d, out + i);
  }
  for (; i < n; ++i) {
    const float y = x[i] * scale;
    out[i] = w ? y * w[i] : y;
  }
}

/// Softmax weights as ref::softmax (in place allowed).
void SoftmaxF32(const float* s, float* p, std::size_t n) {
  using namespace nnops;
  const DF d;
  const std::size_t N = hn::Lanes(d);
  float mx = -std::numeric_limits<float>::infinity();
  for (std::size_t j = 0; j < n; ++j) mx = s[j] > mx ? s[j] : mx;
  const auto vmx = hn::Set(d, mx);
  std::size_t j = 0;
  for (; j + N <= n; j += N) hn::StoreU(Exp(d, hn::Sub(hn::LoadU(d, s + j), vmx)), d, p + j);
  for (; j < n; ++j) p[j] = ref::exp(s[j] - mx);
  double sum = 0;
  for (std::size_t j0 = 0; j0 < n; j0 += 16) {
    float lanes[16] = {};
    for (std::size_t l = 0; l < 16 && j0 + l < n; ++l) lanes[l] = p[j0 + l];
    sum += static_cast<double>(ref::reduce16(lanes));
  }
  const auto inv = hn::Set(d, static_cast<float>(1.0 / sum));
  for (j = 0; j + N <= n; j += N) hn::StoreU(hn::Mul(hn::LoadU(d, p + j), inv), d, p + j);
  for (; j < n; ++j) p[j] *= static_cast<float>(1.0 / sum);
}

/// out[j] = ref::dot(q, k + j * k_stride, hd) * scale for j < n.
void AttnScoresF32(const float* q, const float* k, std::size_t k_stride, std::size_t hd, std::size_t n, float scale,
                   float* out) {
  using namespace nnops;
  const DF d;
  const std::size_t N = hn::Lanes(d);
  const std::size_t np = hd & ~std::size_t{63};
  if (np == 0 || 64 % N != 0) {
    for (std::size_t j = 0; j < n; ++j) out[j] = ref::dot(q, k + j * k_stride, hd) * scale;
    return;
  }
  for (std::size_t j = 0; j < n; ++j) {
    const float* kj = k + j * k_stride;
    HWY_ALIGN float acc[64];
    for (std::size_t l = 0; l < 64; l += N) hn::Store(hn::Zero(d), d, acc + l);
    for (std::size_t i = 0; i < np; i += 64)
      for (std::size_t l = 0; l < 64; l += N)
        hn::Store(hn::MulAdd(hn::LoadU(d, q + i + l), hn::LoadU(d, kj + i + l), hn::Load(d, acc + l)), d, acc + l);
    float r[16];
    for (int l = 0; l < 16; ++l) {
      const float r0 = acc[l] + acc[32 + l], r1 = acc[16 + l] + acc[48 + l];
      r[l] = r0 + r1;
    }
    float sum = ref::reduce16(r);
    const std::size_t n8 = np + ((hd - np) & ~std::size_t{7});
    for (std::size_t i = np; i < n8; ++i) {
      const float prod = q[i] * kj[i];
      sum += prod;
    }
    for (std::size_t i = n8; i < hd; ++i) sum = std::fma(q[i], kj[i], sum);
    out[j] = sum * scale;
  }
}

/// ref::weighted_sum (lanes = 16) or ref::weighted_sum_dot (lanes = 64); `acc` is scratch of
/// lanes * width floats.
void AttnValuesF32(const float* p, const float* v, std::size_t v_stride, std::size_t n, std::size_t width,
                   std::size_t lanes, float* acc, float* out) {
  using namespace nnops;
  const DF d;
  const std::size_t N = hn::Lanes(d);
  if (width % N != 0) {
    if (lanes == 16) ref::weighted_sum(p, v, v_stride, n, width, out);
    else ref::weighted_sum_dot(p, v, v_stride, n, width, out);
    return;
  }
  // 64-lane order: the reference pads the positions to a multiple of 32 with zero weights, so the
  // lane part covers whole blocks of 64 of the padded length and the rest is added one by one.
  const std::size_t padded = (n + 31) & ~std::size_t{31};
  const std::size_t np = lanes == 16 ? n : std::min(n, padded & ~std::size_t{63});
  for (std::size_t i = 0; i < lanes * width; i += N) hn::StoreU(hn::Zero(d), d, acc + i);
  for (std::size_t j = 0; j < np; ++j) {
    float* a = acc + (j % lanes) * width;
    const auto pj = hn::Set(d, p[j]);
    const float* vj = v + j * v_stride;
    for (std::size_t i = 0; i < width; i += N) hn::StoreU(hn::MulAdd(pj, hn::LoadU(d, vj + i), hn::LoadU(d, a + i)), d, a + i);
  }
  // Fold the lanes: 64 -> 16 register-wise ((r0 + r2) + (r1 + r3)), then the 16-lane tree.
  if (lanes == 64) {
    for (std::size_t l = 0; l < 16; ++l) {
      float* r0 = acc + l * width;
      const float *r1 = acc + (16 + l) * width, *r2 = acc + (32 + l) * width, *r3 = acc + (48 + l) * width;
      for (std::size_t i = 0; i < width; i += N) {
        const auto a = hn::Add(hn::LoadU(d, r0 + i), hn::LoadU(d, r2 + i));
        const auto b = hn::Add(hn::LoadU(d, r1 + i), hn::LoadU(d, r3 + i));
        hn::StoreU(hn::Add(a, b), d, r0 + i);
      }
    }
  }
  auto row = [&](std::size_t l) { return acc + l * width; };
  for (std::size_t i = 0; i < width; i += N) {
    hn::Vec<DF> t3[8], t6[4];
    for (std::size_t l = 0; l < 8; ++l) t3[l] = hn::Add(hn::LoadU(d, row(l + 8) + i), hn::LoadU(d, row(l) + i));
    for (std::size_t l = 0; l < 4; ++l) t6[l] = hn::Add(t3[l + 4], t3[l]);
    hn::StoreU(hn::Add(hn::Add(t6[0], t6[2]), hn::Add(t6[1], t6[3])), d, out + i);
  }
  if (lanes == 64) {
    for (std::size_t j = np; j < n; ++j) {
      const float* vj = v + j * v_stride;
      for (std::size_t i = 0; i < width; ++i) {
        const float prod = p[j] * vj[i];
        out[i] += prod;
      }
    }
  }
}

/// Rotates `heads` heads of `head_dim` floats in place with the cos/sin pairs `cs` (ref::rope_pair);
/// pairs are (2i, 2i+1) or, for `neox`, (i, i + rot/2), over the first `rot` dimensions.
void RopeF32(float* x, std::size_t heads, std::size_t head_dim, std::size_t rot, const float* cs, bool neox) {
  using namespace nnops;
  const DF d;
  const std::size_t N = hn::Lanes(d), half = rot / 2;
  for (std::size_t h = 0; h < heads; ++h) {
    float* v = x + h * head_dim;
    std::size_t i = 0;
#if HWY_TARGET != HWY_SCALAR
    if (!neox) {
      // Interleaved pairs: even lanes x0, odd lanes x1; cs holds (c, s) in the same lanes.
      for (; 2 * i + N <= rot; i += N / 2) {
        const auto xv = hn::LoadU(d, v + 2 * i);
        const auto csv = hn::LoadU(d, cs + 2 * i);
        const auto c = hn::DupEven(csv), s = hn::DupOdd(csv);
        const auto xe = hn::DupEven(xv), xo = hn::DupOdd(xv);  // x0 in every lane of a pair, x1 likewise
        const auto first = hn::MulAdd(xe, c, hn::Neg(hn::Mul(xo, s)));  // x0 c - x1 s
        const auto second = hn::MulAdd(xe, s, hn::Mul(xo, c));         // x0 s + x1 c
        hn::StoreU(hn::OddEven(second, first), d, v + 2 * i);
      }
    }
#else
    (void)N;
#endif
    for (; i < half; ++i) {
      float& a = neox ? v[i] : v[2 * i];
      float& b = neox ? v[i + half] : v[2 * i + 1];
      ref::rope_pair(a, b, cs[2 * i], cs[2 * i + 1]);
    }
  }
}

}  // namespace llmforge::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // per-target include guard
