// SPDX-License-Identifier: MIT
// The one translation unit per program that compiles every kernel for every SIMD target and defines
// the dispatching entry points declared in kernels/dispatch.hpp. Add it with llmforge_add_kernels(target)
// or a .cpp file containing only `#include <llmforge/kernels/dispatch_impl.hpp>`.
#ifdef LLMFORGE_DISPATCH_IMPL_INCLUDED_
#error "llmforge/kernels/dispatch_impl.hpp was included twice in one translation unit"
#endif
#define LLMFORGE_DISPATCH_IMPL_INCLUDED_

// AVX3_DL (AVX-512 VNNI/VBMI) is only compiled when asked for before the first Highway include.
#ifndef HWY_WANT_AVX3_DL
#define HWY_WANT_AVX3_DL
#endif

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <vector>

#include <llmforge/kernels/dispatch.hpp>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "llmforge/kernels/all-inl.hpp"
#include <hwy/foreach_target.h>  // re-includes all-inl.hpp once per target
#include <hwy/highway.h>

#include <llmforge/kernels/all-inl.hpp>

#if HWY_ONCE
namespace llmforge::kernels {

namespace detail {
extern const int ERROR_missing_llmforge_kernel_TU__call_llmforge_add_kernels_or_include_dispatch_impl_hpp = 1;
}

HWY_EXPORT(TargetName);
HWY_EXPORT(MatMulF32);
HWY_EXPORT(RoundToF16);
HWY_EXPORT(MatMulF16Rounded);
HWY_EXPORT(MatMulBF16);
HWY_EXPORT(MatMulF16F32);
HWY_EXPORT(DotF32);
HWY_EXPORT(AxpyF32);
HWY_EXPORT(ConvertF16);
HWY_EXPORT(ConvertBF16);
HWY_EXPORT(Gemm);
HWY_EXPORT(GemmTileRows);
HWY_EXPORT(GemmTileCols);
HWY_EXPORT(FmaProbe);
HWY_EXPORT(BinaryF32);
HWY_EXPORT(UnaryF32);
HWY_EXPORT(MaxF32);
HWY_EXPORT(ExpShiftSumF32);
HWY_EXPORT(RmsNormF32);
HWY_EXPORT(SiluMulF32);
HWY_EXPORT(SoftmaxF32);
HWY_EXPORT(AttnScoresF32);
HWY_EXPORT(AttnValuesF32);
HWY_EXPORT(RopeF32);
HWY_EXPORT(AttnTiled);
HWY_EXPORT(NativeFma);

const char* target_name() { return HWY_DYNAMIC_DISPATCH(TargetName)(); }
int64_t compiled_targets() { return HWY_TARGETS; }
int64_t runnable_targets() { return HWY_TARGETS & hwy::SupportedTargets(); }
void set_targets_for_test(int64_t mask) { hwy::SetSupportedTargetsForTest(mask); }
const char* target_bit_name(int64_t bit) { return hwy::TargetName(bit); }

void matmul_f32(const float* w, std::size_t ws, const float* x, std::size_t xs, std::size_t n, std::size_t k, float* y,
                std::size_t ys, std::size_t r0, std::size_t r1) {
  HWY_DYNAMIC_DISPATCH(MatMulF32)(w, ws, x, xs, n, k, y, ys, r0, r1);
}
const float* round_to_f16(const float* x, std::size_t x_stride, std::size_t n, std::size_t k) {
  thread_local std::vector<float> buf;  // grows only: steady-state calls do not allocate
  if (buf.size() < n * k) buf.resize(n * k);
  HWY_DYNAMIC_DISPATCH(RoundToF16)(x, x_stride, n, k, buf.data());
  return buf.data();
}
void matmul_f16_rounded(const f16* w, std::size_t ws, const float* xr, std::size_t n, std::size_t k, float* y,
                        std::size_t ys, std::size_t r0, std::size_t r1) {
  HWY_DYNAMIC_DISPATCH(MatMulF16Rounded)(w, ws, xr, n, k, y, ys, r0, r1);
}
void matmul_f16(const f16* w, std::size_t ws, const float* x, std::size_t xs, std::size_t n, std::size_t k, float* y,
                std::size_t ys, std::size_t r0, std::size_t r1) {
  matmul_f16_rounded(w, ws, round_to_f16(x, xs, n, k), n, k, y, ys, r0, r1);
}
void matmul_f16_f32(const f16* w, std::size_t ws, const float* x, std::size_t xs, std::size_t n, std::size_t k, float* y,
                    std::size_t ys, std::size_t r0, std::size_t r1) {
  HWY_DYNAMIC_DISPATCH(MatMulF16F32)(w, ws, x, xs, n, k, y, ys, r0, r1);
}
void matmul_bf16(const bf16* w, std::size_t ws, const float* x, std::size_t xs, std::size_t n, std::size_t k, float* y,
                 std::size_t ys, std::size_t r0, std::size_t r1) {
  HWY_DYNAMIC_DISPATCH(MatMulBF16)(w, ws, x, xs, n, k, y, ys, r0, r1);
}
float dot_f32(const float* a, const float* b, std::size_t n) { return HWY_DYNAMIC_DISPATCH(DotF32)(a, b, n); }
void axpy_f32(float a, const float* x, float* y, std::size_t n) { HWY_DYNAMIC_DISPATCH(AxpyF32)(a, x, y, n); }
void convert_f16_to_f32(const f16* src, float* dst, std::size_t n) { HWY_DYNAMIC_DISPATCH(ConvertF16)(src, dst, n); }
void convert_bf16_to_f32(const bf16* src, float* dst, std::size_t n) { HWY_DYNAMIC_DISPATCH(ConvertBF16)(src, dst, n); }

// tensor library kernels (tensor_ops-inl.hpp)
void gemm(const GemmArgs& g, std::size_t m0, std::size_t m1, std::size_t n0, std::size_t n1) {
  HWY_DYNAMIC_DISPATCH(Gemm)(g, m0, m1, n0, n1);
}
std::size_t gemm_tile_rows() { return HWY_DYNAMIC_DISPATCH(GemmTileRows)(); }
std::size_t gemm_tile_cols() { return HWY_DYNAMIC_DISPATCH(GemmTileCols)(); }
double fma_probe(std::size_t iterations) {
  float sink = 0.0f;
  const double flops = HWY_DYNAMIC_DISPATCH(FmaProbe)(iterations, &sink);
  return sink == 12345.678f ? flops + 1.0 : flops;  // uses the result so the loop cannot be removed
}
void binary_f32(BinaryOp op, const float* a, std::size_t sa, const float* b, std::size_t sb, float* out, std::size_t n) {
  HWY_DYNAMIC_DISPATCH(BinaryF32)(op, a, sa, b, sb, out, n);
}
void unary_f32(UnaryOp op, const float* x, float* out, std::size_t n) { HWY_DYNAMIC_DISPATCH(UnaryF32)(op, x, out, n); }
float max_f32(const float* x, std::size_t n) { return HWY_DYNAMIC_DISPATCH(MaxF32)(x, n); }
bool target_has_fma() { return HWY_DYNAMIC_DISPATCH(NativeFma)(); }
void rms_norm_f32(const float* x, const float* w, float* out, std::size_t n, float eps) {
  HWY_DYNAMIC_DISPATCH(RmsNormF32)(x, w, out, n, eps);
}
void silu_mul_f32(const float* g, const float* u, float* out, std::size_t n) { HWY_DYNAMIC_DISPATCH(SiluMulF32)(g, u, out, n); }
void softmax_f32(const float* s, float* p, std::size_t n) { HWY_DYNAMIC_DISPATCH(SoftmaxF32)(s, p, n); }
void attn_scores_f32(const float* q, const float* k, std::size_t ks, std::size_t hd, std::size_t n, float scale, float* out) {
  HWY_DYNAMIC_DISPATCH(AttnScoresF32)(q, k, ks, hd, n, scale, out);
}
void attn_values_f32(const float* p, const float* v, std::size_t vs, std::size_t n, std::size_t width, std::size_t lanes,
                     float* scratch, float* out) {
  HWY_DYNAMIC_DISPATCH(AttnValuesF32)(p, v, vs, n, width, lanes, scratch, out);
}
void rope_f32(float* x, std::size_t heads, std::size_t head_dim, std::size_t rot, const float* cs, bool neox) {
  HWY_DYNAMIC_DISPATCH(RopeF32)(x, heads, head_dim, rot, cs, neox);
}
void attn_tiled(const AttnKv& kv, const AttnQueries& q, std::size_t p0, std::size_t p1, float* m, float* l, float* o) {
  HWY_DYNAMIC_DISPATCH(AttnTiled)(kv, q, p0, p1, m, l, o);
}
double exp_shift_sum_f32(const float* x, float shift, float* out, std::size_t n) {
  return HWY_DYNAMIC_DISPATCH(ExpShiftSumF32)(x, shift, out, n);
}

}  // namespace llmforge::kernels
#include <llmforge/kernels/quant_dispatch_impl.hpp>  // quantized-weight kernels
#endif  // HWY_ONCE

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
