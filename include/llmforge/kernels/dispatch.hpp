// SPDX-License-Identifier: MIT
// Plain declarations of the runtime-dispatched SIMD kernels (no Highway types). Definitions live in
// kernels/dispatch_impl.hpp, compiled in exactly one translation unit per program.
#pragma once

#include <cstddef>
#include <cstdint>

#include <llmforge/core/half.hpp>

namespace llmforge::kernels {

namespace detail {
// Link-time sentinel: a program that forgot the dispatch TU fails to link with this name in the error.
extern const int ERROR_missing_llmforge_kernel_TU__call_llmforge_add_kernels_or_include_dispatch_impl_hpp;
[[maybe_unused]] inline const int link_check =
    ERROR_missing_llmforge_kernel_TU__call_llmforge_add_kernels_or_include_dispatch_impl_hpp;
}  // namespace detail

/// Name of the SIMD target the dispatcher selected on this CPU (e.g. "AVX3_DL").
const char* target_name();
/// Bit mask (Highway target bits) of the targets compiled into this program.
int64_t compiled_targets();
/// Bit mask of the compiled targets this CPU can run.
int64_t runnable_targets();
/// Restricts dispatch to `mask` (0 restores normal dispatch). For tests that run every target.
void set_targets_for_test(int64_t mask);
/// Name of one Highway target bit.
const char* target_bit_name(int64_t bit);

/// Matrix product against a row-major weight matrix:
/// `y[t * y_stride + r] = sum_k w[r * w_stride + k] * x[t * x_stride + k]` for `t < n`, `r0 <= r < r1`.
/// Strides are in elements. Accumulates in f32.
void matmul_f32(const float* w, std::size_t w_stride, const float* x, std::size_t x_stride, std::size_t n,
                std::size_t k, float* y, std::size_t y_stride, std::size_t r0, std::size_t r1);
/// As matmul_f32 with F16 weights (widened to f32 exactly): the activations are rounded to F16 first,
/// as llama.cpp converts them (in a per-thread buffer; see matmul_f16_rounded to round once per call).
void matmul_f16(const f16* w, std::size_t w_stride, const float* x, std::size_t x_stride, std::size_t n,
                std::size_t k, float* y, std::size_t y_stride, std::size_t r0, std::size_t r1);
/// `n` rows of `k` activations (row stride `x_stride`) rounded to F16 (nearest even), as f32, rows `k`
/// apart, in a buffer owned by the calling thread; valid until that thread's next call. Hand the pointer
/// to worker threads (not the call): each thread has its own buffer.
const float* round_to_f16(const float* x, std::size_t x_stride, std::size_t n, std::size_t k);
/// matmul_f16 with activations already rounded by round_to_f16 (`xr`, rows `k` apart): split a product
/// across threads by rows after rounding once.
void matmul_f16_rounded(const f16* w, std::size_t w_stride, const float* xr, std::size_t n, std::size_t k, float* y,
                        std::size_t y_stride, std::size_t r0, std::size_t r1);
/// As matmul_f32 with F16 weights and unrounded f32 activations (prompts outside the exact mode: the
/// register-tiled kernel that F32 and BF16 weights use too).
void matmul_f16_f32(const f16* w, std::size_t w_stride, const float* x, std::size_t x_stride, std::size_t n,
                    std::size_t k, float* y, std::size_t y_stride, std::size_t r0, std::size_t r1);
/// As matmul_f32 with BF16 weights.
void matmul_bf16(const bf16* w, std::size_t w_stride, const float* x, std::size_t x_stride, std::size_t n,
                 std::size_t k, float* y, std::size_t y_stride, std::size_t r0, std::size_t r1);

/// Dot product of two f32 vectors of length `n`.
float dot_f32(const float* a, const float* b, std::size_t n);
/// `y[i] += a * x[i]` for `i < n`.
void axpy_f32(float a, const float* x, float* y, std::size_t n);

/// Widens `n` F16 values to f32.
void convert_f16_to_f32(const f16* src, float* dst, std::size_t n);
/// Widens `n` BF16 values to f32.
void convert_bf16_to_f32(const bf16* src, float* dst, std::size_t n);

// ---- transformer kernels (kernels/nn_ops-inl.hpp; scalar references in kernels/nn_reference.hpp) ----
// They follow llama.cpp's CPU operation order so that activations round identically before they are
// quantized; see nn_reference.hpp for the exact order of each.

/// Whether the selected target has fused multiply-add (then these kernels equal their scalar
/// references in kernels/nn_reference.hpp bit for bit; otherwise within a few ulp).
bool target_has_fma();
/// `out = (x * (1 / sqrt(mean(x^2) + eps))) * w` over one row of `n` (`w` may be null; `out` may be `x`).
void rms_norm_f32(const float* x, const float* w, float* out, std::size_t n, float eps);
/// `out[i] = silu(g[i]) * u[i]` over one row of `n` (`u` may be null: plain SiLU; `out` may alias).
void silu_mul_f32(const float* g, const float* u, float* out, std::size_t n);
/// Softmax of `n` scores into `p` (may alias `s`); masked positions hold -inf.
void softmax_f32(const float* s, float* p, std::size_t n);
/// Attention scores `out[j] = dot(q, k_j) * scale` for `n` keys `k + j * k_stride` of `hd` floats.
void attn_scores_f32(const float* q, const float* k, std::size_t k_stride, std::size_t hd, std::size_t n, float scale,
                     float* out);
/// Attention output `out[d] = sum_j p[j] * v[j * v_stride + d]` (`d < width`), summed in 16 position
/// lanes (`lanes == 16`, batched prompts) or in the single-token order (`lanes == 64`); `scratch`
/// holds `lanes * width` floats.
void attn_values_f32(const float* p, const float* v, std::size_t v_stride, std::size_t n, std::size_t width,
                     std::size_t lanes, float* scratch, float* out);
/// Element type of a KV cache.
enum class KvElem : int { F32 = 0, F16 = 1, Q8_0 = 2 };
/// Positions per key tile of a KV cache (see kv/kv_cache.hpp for the layout).
inline constexpr std::size_t kAttnKeyTile = 16;
/// One KV head of one layer as the tiled attention kernel reads it: key tiles of `kAttnKeyTile`
/// positions (`head_dim` rows of 16 elements; Q8_0: int8 rows, then `head_dim / 32` rows of F16
/// scales), `k_tile_stride` bytes apart; value rows of `value_dim` elements, `v_row_stride` bytes apart
/// (Q8_0: 32-value blocks).
struct AttnKv {
  const std::byte* k = nullptr;
  std::size_t k_tile_stride = 0;
  KvElem k_type = KvElem::F32;
  const std::byte* v = nullptr;
  std::size_t v_row_stride = 0;
  KvElem v_type = KvElem::F32;
  std::size_t head_dim = 0, value_dim = 0;
};
/// Query rows for attn_tiled: `n` rows of `head_dim` floats (contiguous, already multiplied by the
/// score scale); row `r` attends positions `[begin[r], end[r])`. `softcap > 0` caps the scores as
/// `tanh(s / softcap) * softcap`.
struct AttnQueries {
  const float* q = nullptr;
  std::size_t n = 0;
  const std::size_t* begin = nullptr;
  const std::size_t* end = nullptr;
  float softcap = 0;
};
/// Online-softmax attention over the positions `[p0, p1)` (`p0` a multiple of kAttnKeyTile) for the
/// query rows of one KV head: updates each row's running maximum `m[r]`, sum of weights `l[r]` and
/// unnormalised output `o[r * value_dim ...]` (start from -inf, 0, 0; the result is `o / l`). Rows that
/// see no position in the range are left unchanged.
void attn_tiled(const AttnKv& kv, const AttnQueries& q, std::size_t p0, std::size_t p1, float* m, float* l, float* o);
/// Rotates `heads` heads of `head_dim` floats by the cos/sin pairs `cs` over the first `rot`
/// dimensions; pairs (2i, 2i+1), or (i, i + rot/2) when `neox`.
void rope_f32(float* x, std::size_t heads, std::size_t head_dim, std::size_t rot, const float* cs, bool neox);

// ---- tensor library kernels (kernels/tensor_ops-inl.hpp) ----

/// Storage type of a GEMM operand.
enum class ElemType : int { F32 = 0, F16 = 1, BF16 = 2 };

/// A general matrix product `C = A B` (or `C += A B`) over strided operands. Element `(i, j)` of a
/// matrix `X` lives at `x + i * x_rs + j * x_cs` (strides in elements, any sign or layout, so
/// transposed views need no copy). A is `m x k`, B is `k x n`, C is `m x n`; F16/BF16 operands are
/// widened exactly and everything accumulates in f32.
struct GemmArgs {
  std::size_t m = 0, n = 0, k = 0;
  const void* a = nullptr;
  ElemType a_type = ElemType::F32;
  std::ptrdiff_t a_rs = 0, a_cs = 0;
  const void* b = nullptr;
  ElemType b_type = ElemType::F32;
  std::ptrdiff_t b_rs = 0, b_cs = 0;
  void* c = nullptr;
  ElemType c_type = ElemType::F32;
  std::ptrdiff_t c_rs = 0, c_cs = 0;
  bool accumulate = false;  ///< add to C instead of overwriting it
};
/// Computes the block `C[m0:m1, n0:n1]` of `args` (packed, register-tiled; one thread). Blocks of one
/// product may run concurrently on different threads. Pack buffers are thread-local and grow only.
void gemm(const GemmArgs& args, std::size_t m0, std::size_t m1, std::size_t n0, std::size_t n1);
/// Rows of the dispatched GEMM register tile (split M across threads in multiples of this).
std::size_t gemm_tile_rows();
/// Columns of the dispatched GEMM register tile (split N across threads in multiples of this).
std::size_t gemm_tile_cols();
/// Runs `iterations` steps of 12 independent vector FMA chains; returns the flops performed (for peak
/// measurements in benchmarks).
double fma_probe(std::size_t iterations);

/// Elementwise binary operations of `binary_f32`.
enum class BinaryOp : int { Add, Sub, Mul, Div, Max, Min };
/// `out[i] = a[i * a_step] op b[i * b_step]` for `i < n`; each step is 0 (broadcast) or 1.
void binary_f32(BinaryOp op, const float* a, std::size_t a_step, const float* b, std::size_t b_step, float* out,
                std::size_t n);
/// Elementwise unary functions of `unary_f32`.
enum class UnaryOp : int { Exp, Log, Sqrt, Tanh, Neg, Abs, Relu, Sigmoid, Silu, GeluTanh, GeluErf };
/// `out[i] = f(x[i])` for `i < n` (`out` may equal `x`).
void unary_f32(UnaryOp op, const float* x, float* out, std::size_t n);
/// Largest of `n` floats (-inf for n == 0).
float max_f32(const float* x, std::size_t n);
/// Returns the sum of `exp(x[i] - shift)` and, when `out` is not null, stores each term in `out[i]`.
double exp_shift_sum_f32(const float* x, float shift, float* out, std::size_t n);

}  // namespace llmforge::kernels
