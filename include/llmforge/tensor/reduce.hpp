// SPDX-License-Identifier: MIT
// Eager reductions along axes (sum, mean, max, min, argmax, var), stable softmax/log_softmax, layer_norm, rms_norm.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>

#include <llmforge/kernels/dispatch.hpp>
#include <llmforge/tensor/detail.hpp>
#include <llmforge/tensor/tensor.hpp>

namespace llmforge {

/// The axes a reduction runs over; default (empty) means every axis. Negative axes count from the end.
class Axes {
 public:
  Axes() = default;
  Axes(std::ptrdiff_t axis) : list_{axis} {}  // NOLINT: implicit so that sum(x, 1) reads naturally
  Axes(std::initializer_list<std::ptrdiff_t> axes) : list_(std::span<const std::ptrdiff_t>(axes.begin(), axes.size())) {}
  [[nodiscard]] bool all() const noexcept { return list_.rank() == 0; }
  [[nodiscard]] const Extents<std::ptrdiff_t>& list() const noexcept { return list_; }

 private:
  Extents<std::ptrdiff_t> list_;
};

namespace detail {

enum class ReduceOp { Sum, Mean, Max, Min, ArgMax, ArgMin, Var };

struct ReducePlan {
  Shape out_shape;                 // with or without kept size-1 dims, as requested
  bool reduced[kMaxRank] = {};     // per input axis
  std::size_t reduce_count = 1;    // elements per output value
};

template <class T>
ReducePlan plan_reduce(const T& x, const Axes& axes, bool keepdim, const char* name) {
  ReducePlan p;
  if (axes.all()) {
    for (std::size_t i = 0; i < x.rank(); ++i) p.reduced[i] = true;
  } else {
    for (auto a : axes.list()) {
      const auto r = static_cast<std::ptrdiff_t>(x.rank());
      const std::ptrdiff_t n = a < 0 ? a + r : a;
      if (n < 0 || n >= r)
        throw ShapeError(std::string(name) + ": axis " + std::to_string(a) + " is out of range for shape " +
                         to_string(x.shape()));
      if (p.reduced[n])
        throw ShapeError(std::string(name) + ": axis " + std::to_string(a) + " given twice for shape " +
                         to_string(x.shape()));
      p.reduced[n] = true;
    }
  }
  for (std::size_t i = 0; i < x.rank(); ++i) {
    if (p.reduced[i]) {
      p.reduce_count *= x.dim(static_cast<std::ptrdiff_t>(i));
      if (keepdim) p.out_shape.push_back(1);
    } else {
      p.out_shape.push_back(x.dim(static_cast<std::ptrdiff_t>(i)));
    }
  }
  return p;
}

// Runs one reduction; `out` has plan.out_shape; values are accumulated in double.
template <class D, class DO>
void reduce_into(ReduceOp op, const Tensor<D, Cpu>& x, const ReducePlan& plan, bool keepdim, std::size_t ddof,
                 const Tensor<DO, Cpu>& out, const char* name) {
  check_out_shape(out.shape(), plan.out_shape, name);
  if ((op == ReduceOp::Max || op == ReduceOp::Min || op == ReduceOp::ArgMax || op == ReduceOp::ArgMin) &&
      plan.reduce_count == 0 && out.numel() != 0)
    throw ShapeError(std::string(name) + ": cannot reduce over an empty dimension of shape " + to_string(x.shape()));
  // Split x's dimensions into kept (outer) and reduced (inner) lists, with matching strides.
  Shape outer, inner;
  Strides xo, xi, oo;
  for (std::size_t i = 0, j = 0; i < x.rank(); ++i) {
    if (plan.reduced[i]) {
      inner.push_back(x.shape()[i]);
      xi.push_back(x.strides()[i]);
      if (keepdim) ++j;
    } else {
      outer.push_back(x.shape()[i]);
      xo.push_back(x.strides()[i]);
      oo.push_back(out.strides()[j++]);
    }
  }
  if (out.numel() == 0) return;
  using TO = typename DO::storage_type;
  std::array<std::size_t, kMaxRank> oi{};
  do {
    const std::ptrdiff_t xbase = offset_of(oi, xo);
    const std::ptrdiff_t obase = offset_of(oi, oo);
    double acc = 0.0, acc2 = 0.0;
    double best = op == ReduceOp::Max || op == ReduceOp::ArgMax ? -std::numeric_limits<double>::infinity()
                                                                 : std::numeric_limits<double>::infinity();
    std::size_t best_i = 0, count = 0;
    bool found_nan = false;
    std::array<std::size_t, kMaxRank> ii{};
    if (plan.reduce_count != 0) {
      do {
        const double v = to_float(x.data()[xbase + offset_of(ii, xi)]);
        switch (op) {
          case ReduceOp::Sum:
          case ReduceOp::Mean:
          case ReduceOp::Var: acc += v; break;
          case ReduceOp::Max:
          case ReduceOp::ArgMax:
            if (!found_nan && (std::isnan(v) || v > best || count == 0)) {
              best = v;
              best_i = count;
              found_nan = std::isnan(v);
            }
            break;
          case ReduceOp::Min:
          case ReduceOp::ArgMin:
            if (!found_nan && (std::isnan(v) || v < best || count == 0)) {
              best = v;
              best_i = count;
              found_nan = std::isnan(v);
            }
            break;
        }
        ++count;
      } while (next_index(ii, inner));
    }
    double result = 0.0;
    switch (op) {
      case ReduceOp::Sum: result = acc; break;
      case ReduceOp::Mean:
        result = count ? acc / static_cast<double>(count) : std::numeric_limits<double>::quiet_NaN();
        break;
      case ReduceOp::Var: {
        const double mean = count ? acc / static_cast<double>(count) : 0.0;
        ii = {};
        if (count) {
          do {
            const double d = to_float(x.data()[xbase + offset_of(ii, xi)]) - mean;
            acc2 += d * d;
          } while (next_index(ii, inner));
        }
        result = count > ddof ? acc2 / static_cast<double>(count - ddof) : std::numeric_limits<double>::quiet_NaN();
        break;
      }
      case ReduceOp::Max:
      case ReduceOp::Min: result = best; break;
      case ReduceOp::ArgMax:
      case ReduceOp::ArgMin: result = static_cast<double>(best_i); break;
    }
    if constexpr (std::is_same_v<TO, int32_t>) {
      out.data()[obase] = static_cast<int32_t>(best_i);
    } else {
      out.data()[obase] = from_float<TO>(static_cast<float>(result));
    }
  } while (next_index(oi, outer));
}

}  // namespace detail

#define LLMFORGE_TENSOR_REDUCE_OP(name, OP)                                                                   \
  /** `name` over `axes` (all by default) into `out`; `keepdim` keeps reduced axes as extent 1.              \
      @throws ShapeError if an axis is out of range or `out` has the wrong shape. */                        \
  template <class D, class B, class DO, class BO>                                                           \
  void name(const Tensor<D, B>& x, const Axes& axes, bool keepdim, const Tensor<DO, BO>& out) {             \
    static_assert(detail::SameTensorTypes<Tensor<D, B>, Tensor<DO, BO>>::value);                           \
    static_assert(detail::CpuOperand<Tensor<D, B>, true>::value);                                          \
    const auto plan = detail::plan_reduce(x, axes, keepdim, #name);                                         \
    detail::reduce_into(detail::ReduceOp::OP, x, plan, keepdim, 0, out, #name);                             \
  }                                                                                                         \
  /** `name` over `axes` (all by default) into a new tensor.                                                 \
      @throws ShapeError if an axis is out of range. */                                                     \
  template <class D, class B>                                                                               \
  [[nodiscard]] Tensor<D, B> name(const Tensor<D, B>& x, const Axes& axes = {}, bool keepdim = false) {     \
    static_assert(detail::CpuOperand<Tensor<D, B>, true>::value);                                          \
    const auto plan = detail::plan_reduce(x, axes, keepdim, #name);                                         \
    auto out = Tensor<D, B>::empty(plan.out_shape);                                                         \
    detail::reduce_into(detail::ReduceOp::OP, x, plan, keepdim, 0, out, #name);                             \
    return out;                                                                                             \
  }

LLMFORGE_TENSOR_REDUCE_OP(sum, Sum)
LLMFORGE_TENSOR_REDUCE_OP(mean, Mean)
LLMFORGE_TENSOR_REDUCE_OP(max, Max)
LLMFORGE_TENSOR_REDUCE_OP(min, Min)
#undef LLMFORGE_TENSOR_REDUCE_OP

/// Variance over `axes` (all by default) with `ddof` delta degrees of freedom (NumPy's var; 0 = population).
/// @throws ShapeError if an axis is out of range.
template <class D, class B>
[[nodiscard]] Tensor<D, B> var(const Tensor<D, B>& x, const Axes& axes = {}, bool keepdim = false, std::size_t ddof = 0) {
  static_assert(detail::CpuOperand<Tensor<D, B>, true>::value);
  const auto plan = detail::plan_reduce(x, axes, keepdim, "var");
  auto out = Tensor<D, B>::empty(plan.out_shape);
  detail::reduce_into(detail::ReduceOp::Var, x, plan, keepdim, ddof, out, "var");
  return out;
}

/// Index of the largest element along `axis` (first one on ties; NaN counts as largest, as in NumPy).
/// @throws ShapeError if the axis is out of range or empty.
template <class D, class B>
[[nodiscard]] Tensor<I32, B> argmax(const Tensor<D, B>& x, std::ptrdiff_t axis, bool keepdim = false) {
  static_assert(detail::CpuOperand<Tensor<D, B>, true>::value);
  const auto plan = detail::plan_reduce(x, Axes(axis), keepdim, "argmax");
  auto out = Tensor<I32, B>::empty(plan.out_shape);
  detail::reduce_into(detail::ReduceOp::ArgMax, x, plan, keepdim, 0, out, "argmax");
  return out;
}
/// Index of the largest element of the flattened tensor (row-major order).
template <class D, class B>
[[nodiscard]] Tensor<I32, B> argmax(const Tensor<D, B>& x) {
  static_assert(detail::CpuOperand<Tensor<D, B>, true>::value);
  const auto plan = detail::plan_reduce(x, Axes{}, false, "argmax");
  auto out = Tensor<I32, B>::empty(plan.out_shape);
  detail::reduce_into(detail::ReduceOp::ArgMax, x, plan, false, 0, out, "argmax");
  return out;
}
/// Index of the smallest element along `axis` (first one on ties).
template <class D, class B>
[[nodiscard]] Tensor<I32, B> argmin(const Tensor<D, B>& x, std::ptrdiff_t axis, bool keepdim = false) {
  static_assert(detail::CpuOperand<Tensor<D, B>, true>::value);
  const auto plan = detail::plan_reduce(x, Axes(axis), keepdim, "argmin");
  auto out = Tensor<I32, B>::empty(plan.out_shape);
  detail::reduce_into(detail::ReduceOp::ArgMin, x, plan, keepdim, 0, out, "argmin");
  return out;
}

namespace detail {

template <class D>
void softmax_into(const Tensor<D, Cpu>& x, std::ptrdiff_t axis, const Tensor<D, Cpu>& out, bool log_form, const char* name) {
  check_out_shape(out.shape(), x.shape(), name);
  if (x.rank() == 0) throw ShapeError(std::string(name) + ": needs at least one dimension, got a scalar");
  const std::size_t a = x.normalize_axis(axis);
  // Move `axis` last so every visited row runs along it.
  Extents<std::ptrdiff_t> order;
  for (std::size_t i = 0; i < x.rank(); ++i)
    if (i != a) order.push_back(static_cast<std::ptrdiff_t>(i));
  order.push_back(static_cast<std::ptrdiff_t>(a));
  const auto xv = x.permute(std::span<const std::ptrdiff_t>(order.begin(), order.size()));
  const auto ov = out.permute(std::span<const std::ptrdiff_t>(order.begin(), order.size()));
  using T = typename D::storage_type;
  for_each_row<2>(xv.shape(), {xv.strides(), ov.strides()}, [&](const auto& off, std::size_t n, const auto& st) {
    const T* px = xv.data() + off[0];
    T* po = ov.data() + off[1];
    if constexpr (std::is_same_v<D, F32>) {
      if (st[0] == 1 && st[1] == 1) {
        const float m = kernels::max_f32(px, n);
        if (log_form) {
          // (x - m) - log(s) in two steps: x - m is exact near the maximum, so large inputs keep their digits.
          const double s = kernels::exp_shift_sum_f32(px, m, nullptr, n);
          const float ls = static_cast<float>(std::log(s));
          kernels::binary_f32(kernels::BinaryOp::Sub, px, 1, &m, 0, po, n);
          kernels::binary_f32(kernels::BinaryOp::Sub, po, 1, &ls, 0, po, n);
        } else {
          const double s = kernels::exp_shift_sum_f32(px, m, po, n);
          const float inv = static_cast<float>(1.0 / s);
          kernels::binary_f32(kernels::BinaryOp::Mul, po, 1, &inv, 0, po, n);
        }
        return;
      }
    }
    double m = -std::numeric_limits<double>::infinity();
    for (std::size_t i = 0; i < n; ++i) m = std::fmax(m, to_float(px[static_cast<std::ptrdiff_t>(i) * st[0]]));
    double s = 0.0;
    for (std::size_t i = 0; i < n; ++i) s += std::exp(to_float(px[static_cast<std::ptrdiff_t>(i) * st[0]]) - m);
    const double ls = std::log(s);
    // Read every input before writing: `out` may alias `x`.
    for (std::size_t i = 0; i < n; ++i) {
      const double v = to_float(px[static_cast<std::ptrdiff_t>(i) * st[0]]) - m;
      po[static_cast<std::ptrdiff_t>(i) * st[1]] = from_float<T>(static_cast<float>(log_form ? v - ls : std::exp(v) / s));
    }
  });
}

}  // namespace detail

/// Numerically stable softmax along `axis` (subtracts the maximum first), written into `out` (may be `x`).
/// @throws ShapeError if the axis is out of range or `out` has another shape.
template <class D, class B, class DO, class BO>
void softmax(const Tensor<D, B>& x, std::ptrdiff_t axis, const Tensor<DO, BO>& out) {
  static_assert(detail::SameTensorTypes<Tensor<D, B>, Tensor<DO, BO>>::value);
  static_assert(detail::CpuOperand<Tensor<D, B>, true>::value);
  detail::softmax_into<D>(x, axis, out, false, "softmax");
}
/// Numerically stable softmax along `axis` (default: last) into a new tensor.
template <class D, class B>
[[nodiscard]] Tensor<D, B> softmax(const Tensor<D, B>& x, std::ptrdiff_t axis = -1) {
  static_assert(detail::CpuOperand<Tensor<D, B>, true>::value);
  auto out = Tensor<D, B>::empty(x.shape());
  detail::softmax_into<D>(x, axis, out, false, "softmax");
  return out;
}
/// `x - max - log(sum(exp(x - max)))` along `axis`, written into `out` (may be `x`).
template <class D, class B, class DO, class BO>
void log_softmax(const Tensor<D, B>& x, std::ptrdiff_t axis, const Tensor<DO, BO>& out) {
  static_assert(detail::SameTensorTypes<Tensor<D, B>, Tensor<DO, BO>>::value);
  static_assert(detail::CpuOperand<Tensor<D, B>, true>::value);
  detail::softmax_into<D>(x, axis, out, true, "log_softmax");
}
/// Log-softmax along `axis` (default: last) into a new tensor.
template <class D, class B>
[[nodiscard]] Tensor<D, B> log_softmax(const Tensor<D, B>& x, std::ptrdiff_t axis = -1) {
  static_assert(detail::CpuOperand<Tensor<D, B>, true>::value);
  auto out = Tensor<D, B>::empty(x.shape());
  detail::softmax_into<D>(x, axis, out, true, "log_softmax");
  return out;
}

namespace detail {

template <class D>
void norm_into(const Tensor<D, Cpu>& x, const Tensor<D, Cpu>& weight, const Tensor<D, Cpu>& bias, float eps,
               const Tensor<D, Cpu>& out, bool rms, const char* name) {
  check_out_shape(out.shape(), x.shape(), name);
  if (x.rank() == 0) throw ShapeError(std::string(name) + ": needs at least one dimension, got a scalar");
  const std::size_t n = x.dim(-1);
  for (const auto* p : {&weight, &bias})
    if (p->defined() && (p->rank() != 1 || p->dim(0) != n))
      throw ShapeError(std::string(name) + ": weight/bias shape " + to_string(p->shape()) + " does not match [" +
                       std::to_string(n) + "], the last dimension of input shape " + to_string(x.shape()));
  using T = typename D::storage_type;
  for_each_row<2>(x.shape(), {x.strides(), out.strides()}, [&](const auto& off, std::size_t len, const auto& st) {
    const T* px = x.data() + off[0];
    T* po = out.data() + off[1];
    auto xi = [&](std::size_t i) { return static_cast<double>(to_float(px[static_cast<std::ptrdiff_t>(i) * st[0]])); };
    double mean = 0.0, sq = 0.0;
    if (!rms) {
      for (std::size_t i = 0; i < len; ++i) mean += xi(i);
      mean /= static_cast<double>(len);
    }
    for (std::size_t i = 0; i < len; ++i) {
      const double d = xi(i) - mean;
      sq += d * d;
    }
    const double inv = 1.0 / std::sqrt(sq / static_cast<double>(len) + static_cast<double>(eps));
    for (std::size_t i = 0; i < len; ++i) {
      double v = (xi(i) - mean) * inv;
      if (weight.defined()) v *= to_float(weight.data()[static_cast<std::ptrdiff_t>(i) * weight.stride(0)]);
      if (bias.defined()) v += to_float(bias.data()[static_cast<std::ptrdiff_t>(i) * bias.stride(0)]);
      po[static_cast<std::ptrdiff_t>(i) * st[1]] = from_float<T>(static_cast<float>(v));
    }
  });
}

}  // namespace detail

/// Layer normalisation over the last dimension: `(x - mean) / sqrt(var + eps) * weight + bias`.
/// `weight` and `bias` are 1-D of the last extent, or default-constructed (undefined) to skip them.
/// @throws ShapeError if weight/bias do not match the last dimension or `out` differs in shape from `x`.
template <class D, class B>
void layer_norm(const Tensor<D, B>& x, const Tensor<D, B>& weight, const Tensor<D, B>& bias, float eps,
                const Tensor<D, B>& out) {
  static_assert(detail::CpuOperand<Tensor<D, B>, true>::value);
  detail::norm_into<D>(x, weight, bias, eps, out, false, "layer_norm");
}
/// Layer normalisation over the last dimension into a new tensor.
template <class D, class B>
[[nodiscard]] Tensor<D, B> layer_norm(const Tensor<D, B>& x, const Tensor<D, B>& weight, const Tensor<D, B>& bias,
                                      float eps = 1e-5f) {
  auto out = Tensor<D, B>::empty(x.shape());
  layer_norm(x, weight, bias, eps, out);
  return out;
}
/// RMS normalisation over the last dimension: `x / sqrt(mean(x^2) + eps) * weight` (weight may be undefined).
/// @throws ShapeError if `weight` does not match the last dimension or `out` differs in shape from `x`.
template <class D, class B>
void rms_norm(const Tensor<D, B>& x, const Tensor<D, B>& weight, float eps, const Tensor<D, B>& out) {
  static_assert(detail::CpuOperand<Tensor<D, B>, true>::value);
  detail::norm_into<D>(x, weight, Tensor<D, B>(), eps, out, true, "rms_norm");
}
/// RMS normalisation over the last dimension into a new tensor.
template <class D, class B>
[[nodiscard]] Tensor<D, B> rms_norm(const Tensor<D, B>& x, const Tensor<D, B>& weight, float eps = 1e-6f) {
  auto out = Tensor<D, B>::empty(x.shape());
  rms_norm(x, weight, eps, out);
  return out;
}

}  // namespace llmforge
