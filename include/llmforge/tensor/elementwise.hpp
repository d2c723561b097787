// SPDX-License-Identifier: MIT
// Eager elementwise tensor operations: NumPy-broadcast binary arithmetic, comparisons, unary math, where/masked_fill.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include <llmforge/kernels/dispatch.hpp>
#include <llmforge/tensor/detail.hpp>
#include <llmforge/tensor/tensor.hpp>

namespace llmforge {

namespace detail {

template <class D>
void binary_into(kernels::BinaryOp op, const Tensor<D, Cpu>& a, const Tensor<D, Cpu>& b, const Tensor<D, Cpu>& out,
                 const char* name) {
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
  check_out_shape(out.shape(), shape, name);
  const auto av = a.broadcast_to(shape);
  const auto bv = b.broadcast_to(shape);
  using T = typename D::storage_type;
  const T* pa = av.data();
  const T* pb = bv.data();
  T* po = out.data();
  for_each_row<3>(shape, {av.strides(), bv.strides(), out.strides()}, [&](const auto& off, std::size_t n, const auto& st) {
    if constexpr (std::is_same_v<D, F32>) {
      if (st[2] == 1 && (st[0] == 0 || st[0] == 1) && (st[1] == 0 || st[1] == 1)) {
        kernels::binary_f32(op, pa + off[0], static_cast<std::size_t>(st[0]), pb + off[1], static_cast<std::size_t>(st[1]),
                            po + off[2], n);
        return;
      }
    }
    for (std::size_t i = 0; i < n; ++i) {
      const auto ii = static_cast<std::ptrdiff_t>(i);
      const float x = to_float(pa[off[0] + ii * st[0]]);
      const float y = to_float(pb[off[1] + ii * st[1]]);
      float r = 0.0f;
      switch (op) {
        case kernels::BinaryOp::Add: r = x + y; break;
        case kernels::BinaryOp::Sub: r = x - y; break;
        case kernels::BinaryOp::Mul: r = x * y; break;
        case kernels::BinaryOp::Div: r = x / y; break;
        case kernels::BinaryOp::Max: r = std::isnan(x) ? x : (std::isnan(y) ? y : (x > y ? x : y)); break;
        case kernels::BinaryOp::Min: r = std::isnan(x) ? x : (std::isnan(y) ? y : (x < y ? x : y)); break;
      }
      po[off[2] + ii * st[2]] = from_float<T>(r);
    }
  });
}

inline float unary_scalar(kernels::UnaryOp op, float v) {
  switch (op) {
    case kernels::UnaryOp::Exp: return std::exp(v);
    case kernels::UnaryOp::Log: return std::log(v);
    case kernels::UnaryOp::Sqrt: return std::sqrt(v);
    case kernels::UnaryOp::Tanh: return std::tanh(v);
    case kernels::UnaryOp::Neg: return -v;
    case kernels::UnaryOp::Abs: return std::fabs(v);
    case kernels::UnaryOp::Relu: return v < 0.0f ? 0.0f : v;
    case kernels::UnaryOp::Sigmoid: return 1.0f / (1.0f + std::exp(-v));
    case kernels::UnaryOp::Silu: return v / (1.0f + std::exp(-v));
    case kernels::UnaryOp::GeluTanh:
      return 0.5f * v * (1.0f + std::tanh(0.7978845608028654f * (v + 0.044715f * v * v * v)));
    case kernels::UnaryOp::GeluErf:
      return static_cast<float>(0.5 * v * std::erfc(-static_cast<double>(v) * 0.70710678118654752440));
  }
  return v;
}

template <class D>
void unary_into(kernels::UnaryOp op, const Tensor<D, Cpu>& x, const Tensor<D, Cpu>& out, const char* name) {
  check_out_shape(out.shape(), x.shape(), name);
  using T = typename D::storage_type;
  const T* px = x.data();
  T* po = out.data();
  for_each_row<2>(x.shape(), {x.strides(), out.strides()}, [&](const auto& off, std::size_t n, const auto& st) {
    if constexpr (std::is_same_v<D, F32>) {
      if (st[0] == 1 && st[1] == 1) {
        kernels::unary_f32(op, px + off[0], po + off[1], n);
        return;
      }
    }
    for (std::size_t i = 0; i < n; ++i) {
      const auto ii = static_cast<std::ptrdiff_t>(i);
      po[off[1] + ii * st[1]] = from_float<T>(unary_scalar(op, to_float(px[off[0] + ii * st[0]])));
    }
  });
}

enum class CompareOp { Eq, Ne, Lt, Le, Gt, Ge };

template <class D>
void compare_into(CompareOp op, const Tensor<D, Cpu>& a, const Tensor<D, Cpu>& b, const Tensor<Bool, Cpu>& out,
                  const char* name) {
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
  check_out_shape(out.shape(), shape, name);
  const auto av = a.broadcast_to(shape);
  const auto bv = b.broadcast_to(shape);
  for_each_row<3>(shape, {av.strides(), bv.strides(), out.strides()}, [&](const auto& off, std::size_t n, const auto& st) {
    for (std::size_t i = 0; i < n; ++i) {
      const auto ii = static_cast<std::ptrdiff_t>(i);
      const float x = to_float(av.data()[off[0] + ii * st[0]]);
      const float y = to_float(bv.data()[off[1] + ii * st[1]]);
      bool r = false;
      switch (op) {
        case CompareOp::Eq: r = x == y; break;
        case CompareOp::Ne: r = x != y; break;
        case CompareOp::Lt: r = x < y; break;
        case CompareOp::Le: r = x <= y; break;
        case CompareOp::Gt: r = x > y; break;
        case CompareOp::Ge: r = x >= y; break;
      }
      out.data()[off[2] + ii * st[2]] = r ? 1 : 0;
    }
  });
}

}  // namespace detail

// Binary arithmetic: out = a op b with NumPy broadcasting. The returning forms allocate the result; the
// `out` forms write into a tensor of exactly the broadcast shape (it may be one of the inputs).
#define LLMFORGE_TENSOR_BINARY_OP(name, OP)                                                                   \
  /** Elementwise `name` with NumPy broadcasting, written into `out`.                                       \
      @throws ShapeError naming both shapes if they cannot broadcast, or if `out` has another shape. */   \
  template <class DA, class BA, class DB, class BB, class DO, class BO>                                    \
  void name(const Tensor<DA, BA>& a, const Tensor<DB, BB>& b, const Tensor<DO, BO>& out) {                 \
    static_assert(detail::SameTensorTypes<Tensor<DA, BA>, Tensor<DB, BB>>::value);                       \
    static_assert(detail::SameTensorTypes<Tensor<DA, BA>, Tensor<DO, BO>>::value);                       \
    static_assert(detail::CpuOperand<Tensor<DA, BA>, true>::value);                                        \
    detail::binary_into<DA>(kernels::BinaryOp::OP, a, b, out, #name);                                       \
  }                                                                                                         \
  /** Elementwise `name` with NumPy broadcasting into a new tensor.                                         \
      @throws ShapeError naming both shapes if they cannot broadcast. */                                    \
  template <class DA, class BA, class DB, class BB>                                                         \
  [[nodiscard]] Tensor<DA, BA> name(const Tensor<DA, BA>& a, const Tensor<DB, BB>& b) {                      \
    static_assert(detail::SameTensorTypes<Tensor<DA, BA>, Tensor<DB, BB>>::value);                       \
    static_assert(detail::CpuOperand<Tensor<DA, BA>, true>::value);                                        \
    auto out = Tensor<DA, BA>::empty(detail::broadcast_shapes(a.shape(), b.shape(), #name));                \
    detail::binary_into<DA>(kernels::BinaryOp::OP, a, b, out, #name);                                       \
    return out;                                                                                             \
  }                                                                                                         \
  /** Elementwise `name` of every element with the scalar `s`, into a new tensor. */                        \
  template <class D, class B>                                                                               \
  [[nodiscard]] Tensor<D, B> name(const Tensor<D, B>& a, float s) {                                         \
    static_assert(detail::CpuOperand<Tensor<D, B>, true>::value);                                          \
    auto sv = Tensor<D, B>::empty(Shape{});                                                                 \
    sv.data()[0] = detail::from_float<typename D::storage_type>(s);                                         \
    return name(a, sv);                                                                                     \
  }

LLMFORGE_TENSOR_BINARY_OP(add, Add)
LLMFORGE_TENSOR_BINARY_OP(sub, Sub)
LLMFORGE_TENSOR_BINARY_OP(mul, Mul)
LLMFORGE_TENSOR_BINARY_OP(div, Div)
LLMFORGE_TENSOR_BINARY_OP(maximum, Max)
LLMFORGE_TENSOR_BINARY_OP(minimum, Min)
#undef LLMFORGE_TENSOR_BINARY_OP

/// `a + b` with broadcasting (same as add(a, b)); both operands must have the same DType and Backend.
template <class DA, class BA, class DB, class BB>
[[nodiscard]] Tensor<DA, BA> operator+(const Tensor<DA, BA>& a, const Tensor<DB, BB>& b) { return add(a, b); }
/// `a - b` with broadcasting.
template <class DA, class BA, class DB, class BB>
[[nodiscard]] Tensor<DA, BA> operator-(const Tensor<DA, BA>& a, const Tensor<DB, BB>& b) { return sub(a, b); }
/// `a * b` elementwise with broadcasting.
template <class DA, class BA, class DB, class BB>
[[nodiscard]] Tensor<DA, BA> operator*(const Tensor<DA, BA>& a, const Tensor<DB, BB>& b) { return mul(a, b); }
/// `a / b` elementwise with broadcasting.
template <class DA, class BA, class DB, class BB>
[[nodiscard]] Tensor<DA, BA> operator/(const Tensor<DA, BA>& a, const Tensor<DB, BB>& b) { return div(a, b); }

// Unary math: out = f(x), elementwise. F32 rows with unit stride use the SIMD kernels.
#define LLMFORGE_TENSOR_UNARY_OP(name, OP)                                                                    \
  /** Elementwise `name`, written into `out` (may be `x`).                                                   \
      @throws ShapeError if `out` differs in shape from `x`. */                                             \
  template <class D, class B, class DO, class BO>                                                           \
  void name(const Tensor<D, B>& x, const Tensor<DO, BO>& out) {                                             \
    static_assert(detail::SameTensorTypes<Tensor<D, B>, Tensor<DO, BO>>::value);                           \
    static_assert(detail::CpuOperand<Tensor<D, B>, true>::value);                                          \
    detail::unary_into<D>(kernels::UnaryOp::OP, x, out, #name);                                             \
  }                                                                                                         \
  /** Elementwise `name` into a new tensor. */                                                             \
  template <class D, class B>                                                                               \
  [[nodiscard]] Tensor<D, B> name(const Tensor<D, B>& x) {                                                  \
    static_assert(detail::CpuOperand<Tensor<D, B>, true>::value);                                          \
    auto out = Tensor<D, B>::empty(x.shape());                                                              \
    detail::unary_into<D>(kernels::UnaryOp::OP, x, out, #name);                                             \
    return out;                                                                                             \
  }

LLMFORGE_TENSOR_UNARY_OP(exp, Exp)
LLMFORGE_TENSOR_UNARY_OP(log, Log)
LLMFORGE_TENSOR_UNARY_OP(sqrt, Sqrt)
LLMFORGE_TENSOR_UNARY_OP(tanh, Tanh)
LLMFORGE_TENSOR_UNARY_OP(neg, Neg)
LLMFORGE_TENSOR_UNARY_OP(abs, Abs)
LLMFORGE_TENSOR_UNARY_OP(relu, Relu)
LLMFORGE_TENSOR_UNARY_OP(sigmoid, Sigmoid)
LLMFORGE_TENSOR_UNARY_OP(silu, Silu)
LLMFORGE_TENSOR_UNARY_OP(gelu, GeluErf)
LLMFORGE_TENSOR_UNARY_OP(gelu_tanh, GeluTanh)
#undef LLMFORGE_TENSOR_UNARY_OP

// Comparisons produce Bool tensors (1 where true) with broadcasting.
#define LLMFORGE_TENSOR_COMPARE_OP(name, OP)                                                                  \
  /** Elementwise `name` comparison with broadcasting into a Bool tensor.                                    \
      @throws ShapeError naming both shapes if they cannot broadcast. */                                    \
  template <class DA, class BA, class DB, class BB>                                                         \
  [[nodiscard]] Tensor<Bool, BA> name(const Tensor<DA, BA>& a, const Tensor<DB, BB>& b) {                    \
    static_assert(detail::SameTensorTypes<Tensor<DA, BA>, Tensor<DB, BB>>::value);                         \
    static_assert(detail::CpuOperand<Tensor<DA, BA>, false>::value);                                      \
    auto out = Tensor<Bool, BA>::empty(detail::broadcast_shapes(a.shape(), b.shape(), #name));               \
    detail::compare_into<DA>(detail::CompareOp::OP, a, b, out, #name);                                      \
    return out;                                                                                             \
  }

LLMFORGE_TENSOR_COMPARE_OP(equal, Eq)
LLMFORGE_TENSOR_COMPARE_OP(not_equal, Ne)
LLMFORGE_TENSOR_COMPARE_OP(less, Lt)
LLMFORGE_TENSOR_COMPARE_OP(less_equal, Le)
LLMFORGE_TENSOR_COMPARE_OP(greater, Gt)
LLMFORGE_TENSOR_COMPARE_OP(greater_equal, Ge)
#undef LLMFORGE_TENSOR_COMPARE_OP

/// `out = cond ? a : b` elementwise, all three broadcast together (NumPy where).
/// @throws ShapeError naming the shapes if they cannot broadcast or `out` has another shape.
template <class BC, class DA, class BA, class DB, class BB, class DO, class BO>
void where(const Tensor<Bool, BC>& cond, const Tensor<DA, BA>& a, const Tensor<DB, BB>& b, const Tensor<DO, BO>& out) {
  static_assert(detail::SameTensorTypes<Tensor<DA, BA>, Tensor<DB, BB>>::value);
  static_assert(detail::SameTensorTypes<Tensor<DA, BA>, Tensor<DO, BO>>::value);
  static_assert(std::is_same_v<BC, BA>, "llmforge: where(): the condition lives on a different Backend than the values");
  static_assert(detail::CpuOperand<Tensor<DA, BA>, false>::value);
  const Shape shape =
      detail::broadcast_shapes(cond.shape(), detail::broadcast_shapes(a.shape(), b.shape(), "where"), "where");
  detail::check_out_shape(out.shape(), shape, "where");
  const auto cv = cond.broadcast_to(shape);
  const auto av = a.broadcast_to(shape);
  const auto bv = b.broadcast_to(shape);
  detail::for_each_row<4>(shape, {cv.strides(), av.strides(), bv.strides(), out.strides()},
                          [&](const auto& off, std::size_t n, const auto& st) {
                            for (std::size_t i = 0; i < n; ++i) {
                              const auto ii = static_cast<std::ptrdiff_t>(i);
                              out.data()[off[3] + ii * st[3]] = cv.data()[off[0] + ii * st[0]]
                                                                    ? av.data()[off[1] + ii * st[1]]
                                                                    : bv.data()[off[2] + ii * st[2]];
                            }
                          });
}
/// `cond ? a : b` elementwise into a new tensor of the broadcast shape.
template <class BC, class DA, class BA, class DB, class BB>
[[nodiscard]] Tensor<DA, BA> where(const Tensor<Bool, BC>& cond, const Tensor<DA, BA>& a, const Tensor<DB, BB>& b) {
  static_assert(detail::SameTensorTypes<Tensor<DA, BA>, Tensor<DB, BB>>::value);
  auto out = Tensor<DA, BA>::empty(
      detail::broadcast_shapes(cond.shape(), detail::broadcast_shapes(a.shape(), b.shape(), "where"), "where"));
  where(cond, a, b, out);
  return out;
}

/// `out = mask ? value : x` elementwise; `mask` broadcasts to `x`'s shape (e.g. a causal mask [T, T]
/// over scores [H, T, T]). `out` may be `x`.
/// @throws ShapeError if the mask does not broadcast to `x` or `out` has another shape.
template <class D, class B, class BM, class DO, class BO>
void masked_fill(const Tensor<D, B>& x, const Tensor<Bool, BM>& mask, float value, const Tensor<DO, BO>& out) {
  static_assert(detail::SameTensorTypes<Tensor<D, B>, Tensor<DO, BO>>::value);
  static_assert(std::is_same_v<BM, B>, "llmforge: masked_fill(): the mask lives on a different Backend than the values");
  static_assert(detail::CpuOperand<Tensor<D, B>, false>::value);
  detail::check_out_shape(out.shape(), x.shape(), "masked_fill");
  if (detail::broadcast_shapes(x.shape(), mask.shape(), "masked_fill") != x.shape())
    throw ShapeError("masked_fill: mask shape " + to_string(mask.shape()) + " does not broadcast to value shape " +
                     to_string(x.shape()));
  const auto mv = mask.broadcast_to(x.shape());
  const auto v = detail::from_float<typename D::storage_type>(value);
  detail::for_each_row<3>(x.shape(), {mv.strides(), x.strides(), out.strides()},
                          [&](const auto& off, std::size_t n, const auto& st) {
                            for (std::size_t i = 0; i < n; ++i) {
                              const auto ii = static_cast<std::ptrdiff_t>(i);
                              out.data()[off[2] + ii * st[2]] =
                                  mv.data()[off[0] + ii * st[0]] ? v : x.data()[off[1] + ii * st[1]];
                            }
                          });
}
/// `mask ? value : x` into a new tensor.
template <class D, class B, class BM>
[[nodiscard]] Tensor<D, B> masked_fill(const Tensor<D, B>& x, const Tensor<Bool, BM>& mask, float value) {
  auto out = Tensor<D, B>::empty(x.shape());
  masked_fill(x, mask, value, out);
  return out;
}

/// A `[rows, cols]` Bool mask that is 1 above the causal diagonal (`j > i + offset`): the positions a
/// query `i` must not attend to. `offset = cols - rows` aligns the last query with the last key.
[[nodiscard]] inline Tensor<Bool, Cpu> causal_mask(std::size_t rows, std::size_t cols, std::ptrdiff_t offset = 0) {
  auto m = Tensor<Bool, Cpu>::empty(Shape{rows, cols});
  for (std::size_t i = 0; i < rows; ++i)
    for (std::size_t j = 0; j < cols; ++j)
      m.data()[i * cols + j] = static_cast<std::ptrdiff_t>(j) > static_cast<std::ptrdiff_t>(i) + offset ? 1 : 0;
  return m;
}

}  // namespace llmforge
