// SPDX-License-Identifier: MIT
// Matrix products: matmul / batched matmul with NumPy batch broadcasting, and linear (x · Wᵀ) for weights of any
// float type; all run the packed Highway GEMM, multithreaded with a ThreadPool.
#pragma once

#include <cstddef>
#include <string>
#include <type_traits>

#include <llmforge/backend/thread_pool.hpp>
#include <llmforge/kernels/dispatch.hpp>
#include <llmforge/tensor/detail.hpp>
#include <llmforge/tensor/elementwise.hpp>
#include <llmforge/tensor/tensor.hpp>

namespace llmforge {

namespace detail {

/// Runs one GEMM, splitting the larger of M and N across the pool in multiples of the register tile.
inline void run_gemm(const kernels::GemmArgs& g, ThreadPool* pool) {
  if (g.m == 0 || g.n == 0) return;
  const std::size_t threads = pool ? pool->size() : 1;
  // Small products are not worth waking the workers for.
  if (threads == 1 || static_cast<double>(g.m) * static_cast<double>(g.n) * static_cast<double>(g.k) < 2.0e5) {
    kernels::gemm(g, 0, g.m, 0, g.n);
    return;
  }
  const std::size_t tn = kernels::gemm_tile_cols(), tm = kernels::gemm_tile_rows();
  const std::size_t ntiles = (g.n + tn - 1) / tn, mtiles = (g.m + tm - 1) / tm;
  if (ntiles >= mtiles || ntiles >= 4 * threads) {
    pool->parallel_for(ntiles, [&](std::size_t b, std::size_t e, std::size_t) {
      kernels::gemm(g, 0, g.m, b * tn, e * tn < g.n ? e * tn : g.n);
    });
  } else {
    pool->parallel_for(mtiles, [&](std::size_t b, std::size_t e, std::size_t) {
      kernels::gemm(g, b * tm, e * tm < g.m ? e * tm : g.m, 0, g.n);
    });
  }
}

template <class DA, class DB, class DC>
void matmul_into(const Tensor<DA, Cpu>& a0, const Tensor<DB, Cpu>& b0, const Tensor<DC, Cpu>& out, ThreadPool* pool,
                 const char* name) {
  if (a0.rank() == 0 || b0.rank() == 0)
    throw ShapeError(std::string(name) + ": operands must have at least one dimension, got shapes " +
                     to_string(a0.shape()) + " and " + to_string(b0.shape()));
  // NumPy rules for 1-D operands: a vector on the left is a row, on the right a column; both are removed again.
  const auto a = a0.rank() == 1 ? a0.unsqueeze(0) : a0;
  const auto b = b0.rank() == 1 ? b0.unsqueeze(1) : b0;
  const std::size_t m = a.dim(-2), k = a.dim(-1), kb = b.dim(-2), n = b.dim(-1);
  if (k != kb)
    throw ShapeError(std::string(name) + ": shapes " + to_string(a0.shape()) + " and " + to_string(b0.shape()) +
                     " are not aligned (inner dimensions " + std::to_string(k) + " vs " + std::to_string(kb) + ")");
  Shape abatch, bbatch;
  for (std::size_t i = 0; i + 2 < a.rank(); ++i) abatch.push_back(a.shape()[i]);
  for (std::size_t i = 0; i + 2 < b.rank(); ++i) bbatch.push_back(b.shape()[i]);
  Shape batch;
  try {
    batch = broadcast_shapes(abatch, bbatch, name);
  } catch (const ShapeError&) {
    throw ShapeError(std::string(name) + ": batch dimensions of shapes " + to_string(a0.shape()) + " and " +
                     to_string(b0.shape()) + " cannot be broadcast together");
  }
  Shape want = batch;
  if (a0.rank() > 1) want.push_back(m);
  if (b0.rank() > 1) want.push_back(n);
  check_out_shape(out.shape(), want, name);
  // Views of the batch dimensions with broadcast (0) strides, and of `out` with the removed dims restored.
  Shape abfull = batch, bbfull = batch;
  abfull.push_back(m);
  abfull.push_back(k);
  bbfull.push_back(k);
  bbfull.push_back(n);
  const auto av = a.broadcast_to(abfull);
  const auto bv = b.broadcast_to(bbfull);
  auto ov = out;
  if (a0.rank() == 1) ov = ov.unsqueeze(static_cast<std::ptrdiff_t>(batch.rank()));
  if (b0.rank() == 1) ov = ov.unsqueeze(-1);
  kernels::GemmArgs g;
  g.m = m;
  g.n = n;
  g.k = k;
  g.a_type = elem_type<DA>();
  g.b_type = elem_type<DB>();
  g.c_type = elem_type<DC>();
  const std::size_t r = batch.rank();
  g.a_rs = av.stride(static_cast<std::ptrdiff_t>(r));
  g.a_cs = av.stride(static_cast<std::ptrdiff_t>(r) + 1);
  g.b_rs = bv.stride(static_cast<std::ptrdiff_t>(r));
  g.b_cs = bv.stride(static_cast<std::ptrdiff_t>(r) + 1);
  g.c_rs = ov.stride(static_cast<std::ptrdiff_t>(r));
  g.c_cs = ov.stride(static_cast<std::ptrdiff_t>(r) + 1);
  const std::size_t nbatch = numel(batch);
  if (nbatch == 0) return;
  const double flops = 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  if (pool && pool->size() > 1 && nbatch > 1 && flops < 4.0e6) {
    // Many small products (e.g. attention heads): one whole product per task.
    pool->parallel_for(nbatch, [&](std::size_t b0, std::size_t b1, std::size_t) {
      for (std::size_t t = b0; t < b1; ++t) {
        std::array<std::size_t, kMaxRank> bi{};
        for (std::size_t d = batch.rank(), rest = t; d-- > 0;) {
          bi[d] = rest % batch[d];
          rest /= batch[d];
        }
        kernels::GemmArgs gt = g;
        gt.a = av.data() + offset_of(bi, av.strides());
        gt.b = bv.data() + offset_of(bi, bv.strides());
        gt.c = ov.data() + offset_of(bi, ov.strides());
        kernels::gemm(gt, 0, m, 0, n);
      }
    });
    return;
  }
  std::array<std::size_t, kMaxRank> bi{};
  do {
    g.a = av.data() + offset_of(bi, av.strides());
    g.b = bv.data() + offset_of(bi, bv.strides());
    g.c = ov.data() + offset_of(bi, ov.strides());
    run_gemm(g, pool);
  } while (next_index(bi, batch));
}

}  // namespace detail

/// Matrix product with NumPy `matmul` semantics, written into `out`: operands `[..., M, K]` and
/// `[..., K, N]` give `[..., M, N]`; batch dimensions broadcast; a 1-D operand is treated as a row
/// (left) or column (right) vector and its dimension is removed from the result. Any strides work
/// (transposed views need no copy). Accumulates in f32; pass a pool to use several threads.
/// @throws ShapeError naming both shapes if the inner or batch dimensions do not fit, or `out` has another shape.
template <class DA, class BA, class DB, class BB, class DO, class BO>
void matmul(const Tensor<DA, BA>& a, const Tensor<DB, BB>& b, const Tensor<DO, BO>& out, ThreadPool* pool = nullptr) {
  static_assert(detail::SameTensorTypes<Tensor<DA, BA>, Tensor<DB, BB>>::value);
  static_assert(detail::SameTensorTypes<Tensor<DA, BA>, Tensor<DO, BO>>::value);
  static_assert(detail::CpuOperand<Tensor<DA, BA>, true>::value);
  detail::matmul_into<DA, DA, DA>(a, b, out, pool, "matmul");
}

/// Shape of `matmul(a, b)`.
/// @throws ShapeError if the shapes do not fit.
inline Shape matmul_shape(const Shape& a, const Shape& b) {
  if (a.rank() == 0 || b.rank() == 0)
    throw ShapeError("matmul: operands must have at least one dimension, got shapes " + to_string(a) + " and " +
                     to_string(b));
  Shape ab, bb;
  for (std::size_t i = 0; i + 2 < a.rank(); ++i) ab.push_back(a[i]);
  for (std::size_t i = 0; i + 2 < b.rank(); ++i) bb.push_back(b[i]);
  Shape out = detail::broadcast_shapes(ab, bb, "matmul");
  if (a.rank() > 1) out.push_back(a[a.rank() - 2]);
  if (b.rank() > 1) out.push_back(b.back());
  return out;
}

/// Matrix product with NumPy `matmul` semantics into a new tensor (see the `out` form).
/// @throws ShapeError naming both shapes if they do not fit.
template <class DA, class BA, class DB, class BB>
[[nodiscard]] Tensor<DA, BA> matmul(const Tensor<DA, BA>& a, const Tensor<DB, BB>& b, ThreadPool* pool = nullptr) {
  static_assert(detail::SameTensorTypes<Tensor<DA, BA>, Tensor<DB, BB>>::value);
  static_assert(detail::CpuOperand<Tensor<DA, BA>, true>::value);
  auto out = Tensor<DA, BA>::empty(matmul_shape(a.shape(), b.shape()));
  detail::matmul_into<DA, DA, DA>(a, b, out, pool, "matmul");
  return out;
}

/// Batched matrix product `[B, M, K] x [B, K, N] -> [B, M, N]` (matmul restricted to rank 3).
/// @throws ShapeError if either operand is not 3-D or the shapes do not fit.
template <class DA, class BA, class DB, class BB>
[[nodiscard]] Tensor<DA, BA> bmm(const Tensor<DA, BA>& a, const Tensor<DB, BB>& b, ThreadPool* pool = nullptr) {
  if (a.rank() != 3 || b.rank() != 3)
    throw ShapeError("bmm: expects 3-D operands, got shapes " + to_string(a.shape()) + " and " + to_string(b.shape()));
  return matmul(a, b, pool);
}

/// Fully connected layer `out = x · Wᵀ (+ bias)`: `x` is F32 `[..., K]`, `weight` is `[N, K]` in F32, F16 or BF16
/// (the one explicit mixed-type product: weights stay in their storage type and are widened exactly while
/// packing), `out` is F32 `[..., N]`.
/// @throws ShapeError if `weight` is not `[N, K]`, `bias` is not `[N]`, or `out` has another shape.
template <class DW, class BX, class BW, class BO>
void linear(const Tensor<F32, BX>& x, const Tensor<DW, BW>& weight, const Tensor<F32, BW>& bias,
            const Tensor<F32, BO>& out, ThreadPool* pool = nullptr) {
  static_assert(std::is_same_v<BX, BW> && std::is_same_v<BX, BO>,
                "llmforge: the operands of this tensor op live on different Backends; copy one to the other "
                "backend first - tensor ops never move data between backends implicitly");
  static_assert(detail::CpuOperand<Tensor<DW, BW>, true>::value);
  if (weight.rank() != 2 || x.rank() == 0 || weight.dim(1) != x.dim(-1))
    throw ShapeError("linear: input shape " + to_string(x.shape()) + " does not fit weight shape " +
                     to_string(weight.shape()) + " (expected weight [N, " + (x.rank() ? std::to_string(x.dim(-1)) : "?") +
                     "])");
  Shape want = x.shape();
  want[want.rank() - 1] = weight.dim(0);
  detail::check_out_shape(out.shape(), want, "linear");
  if (bias.defined() && (bias.rank() != 1 || bias.dim(0) != weight.dim(0)))
    throw ShapeError("linear: bias shape " + to_string(bias.shape()) + " does not match weight shape " +
                     to_string(weight.shape()));
  const std::size_t rows = weight.dim(1) ? x.numel() / weight.dim(1) : 0;
  if (rows <= 4 && x.is_contiguous() && out.is_contiguous() && weight.stride(1) == 1 && weight.dim(1) > 0) {
    // Few rows (decode): row-dot kernels read each weight row once and need no packing.
    const auto ws = static_cast<std::size_t>(weight.stride(0));
    const std::size_t k = weight.dim(1), n = weight.dim(0);
    // F16 weights: the activations are rounded to F16 once here, on the calling thread, not per row chunk.
    const float* xr = nullptr;
    if constexpr (std::is_same_v<DW, F16>) xr = kernels::round_to_f16(x.data(), k, rows, k);
    auto part = [&](std::size_t r0, std::size_t r1, std::size_t) {
      if constexpr (std::is_same_v<DW, F32>)
        kernels::matmul_f32(weight.data(), ws, x.data(), k, rows, k, out.data(), n, r0, r1);
      else if constexpr (std::is_same_v<DW, F16>)
        kernels::matmul_f16_rounded(weight.data(), ws, xr, rows, k, out.data(), n, r0, r1);
      else
        kernels::matmul_bf16(weight.data(), ws, x.data(), k, rows, k, out.data(), n, r0, r1);
    };
    if (pool)
      pool->parallel_for(n, part, 64);
    else
      part(0, n, 0);
  } else {
    const auto wt = weight.transpose(0, 1);  // [K, N] view, no copy
    detail::matmul_into<F32, DW, F32>(x, wt, out, pool, "linear");
  }
  if (bias.defined()) detail::binary_into<F32>(kernels::BinaryOp::Add, out, bias, out, "linear");
}
/// `x · Wᵀ (+ bias)` into a new F32 tensor (see the `out` form). Pass an undefined `Tensor<F32>()` for no bias.
template <class DW, class BX, class BW>
[[nodiscard]] Tensor<F32, BX> linear(const Tensor<F32, BX>& x, const Tensor<DW, BW>& weight,
                                     const Tensor<F32, BW>& bias = Tensor<F32, BW>(), ThreadPool* pool = nullptr) {
  if (weight.rank() != 2 || x.rank() == 0)
    throw ShapeError("linear: input shape " + to_string(x.shape()) + " does not fit weight shape " +
                     to_string(weight.shape()));
  Shape want = x.shape();
  want[want.rank() - 1] = weight.dim(0);
  auto out = Tensor<F32, BX>::empty(want);
  linear(x, weight, bias, out, pool);
  return out;
}

}  // namespace llmforge
