// SPDX-License-Identifier: MIT
// Weight matrices whose storage type is decided by the model file at run time, and the matrix
// products over them. A weight is a small closed variant over the supported Tensor<DType, Cpu> types.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <llmforge/backend/thread_pool.hpp>
#include <llmforge/core/dtype.hpp>
#include <llmforge/core/error.hpp>
#include <llmforge/io/gguf_reader.hpp>
#include <llmforge/kernels/dispatch.hpp>
#include <llmforge/kernels/quant_act.hpp>
#include <llmforge/kernels/quant_dispatch.hpp>
#include <llmforge/kernels/quant_packed.hpp>
#include <llmforge/quant.hpp>
#include <llmforge/tensor/tensor.hpp>

namespace llmforge::nn {

/// The storage types a weight can have: one Tensor<DType, Cpu> per type the CPU kernels support.
using WeightVariant =
    std::variant<Tensor<F32, Cpu>, Tensor<F16, Cpu>, Tensor<BF16, Cpu>, Tensor<Q4_0, Cpu>, Tensor<Q4_1, Cpu>,
                 Tensor<Q5_0, Cpu>, Tensor<Q5_1, Cpu>, Tensor<Q8_0, Cpu>, Tensor<IQ4_NL, Cpu>, Tensor<Q2_K, Cpu>,
                 Tensor<Q3_K, Cpu>, Tensor<Q4_K, Cpu>, Tensor<Q5_K, Cpu>, Tensor<Q6_K, Cpu>>;

/// A 2-D weight `[out_features, in_features]` in any storage type the CPU kernels support (a
/// WeightVariant, so std::visit works on it), plus, optionally, the same matrix repacked for the
/// interleaved kernels (kernels/quant_packed.hpp), which `matmul` then uses instead of the rows.
struct AnyWeight : WeightVariant {
  using WeightVariant::WeightVariant;
  using WeightVariant::operator=;
  AnyWeight() = default;
  AnyWeight(const WeightVariant& v) : WeightVariant(v) {}  // NOLINT(google-explicit-constructor)
  AnyWeight(WeightVariant&& v) noexcept : WeightVariant(std::move(v)) {}  // NOLINT(google-explicit-constructor)

  /// The repacked matrix, or null (then the row kernels run).
  std::shared_ptr<const kernels::PackedMatrix> packed;
  /// Float weights (F32/F16/BF16): multiply prompts of at least kGemmMinTokens rows with the
  /// register-tiled kernels and F32 activations (kernels::matmul_f16_f32 for F16) instead of the
  /// F16 kernel in llama.cpp's order, which rounds the activations to F16 as llama.cpp does. Set
  /// when loading outside exact mode.
  bool gemm_prefill = false;
};

/// Fewest activation rows for which `AnyWeight::gemm_prefill` takes the prompt kernels.
inline constexpr std::size_t kGemmMinTokens = 8;

/// Shape of a weight, whatever its type.
[[nodiscard]] inline const Shape& shape_of(const AnyWeight& w) {
  return std::visit([](const auto& t) -> const Shape& { return t.shape(); }, w);
}
/// GGUF type name of a weight ("F16", "Q4_K", ...).
[[nodiscard]] inline std::string_view type_name_of(const AnyWeight& w) {
  return std::visit([](const auto& t) { return std::decay_t<decltype(t)>::dtype::kName; }, w);
}
/// GGUF type of a weight.
[[nodiscard]] inline GgmlType type_of(const AnyWeight& w) {
  return std::visit([](const auto& t) { return std::decay_t<decltype(t)>::dtype::kGgmlType; }, w);
}
/// Bytes of weight data (what one full matrix product reads).
[[nodiscard]] inline std::size_t bytes_of(const AnyWeight& w) {
  return std::visit([](const auto& t) { return t.nbytes(); }, w);
}

/// Options of `load_weight`: `quantize_to` converts F32/F16/BF16 matrices to that block type while
/// loading (llama-quantize's quantizers); weights already quantized are kept as stored.
struct WeightLoadOptions {
  std::optional<GgmlType> quantize_to;
  /// Called after each matrix quantized while loading: (matrices done, matrices to quantize, tensor name).
  std::function<void(std::size_t, std::size_t, const std::string&)> progress;
  /// Repack matrices whose type has interleaved kernels (see `pack_weight`) when the CPU's kernels
  /// prefer them.
  bool repack = false;
  /// Mark float matrices for the prompt kernels with F32 activations (AnyWeight::gemm_prefill).
  bool gemm_prefill = false;
};

/// Repacks `w` for the interleaved kernels (kernels/quant_packed.hpp) if its type and shape allow it;
/// the rows stay as they are (row lookups such as embeddings keep using them). Returns true if packed.
inline bool pack_weight(AnyWeight& w) {
  return std::visit(
      [&](const auto& t) {
        using D = typename std::decay_t<decltype(t)>::dtype;
        if constexpr (kIsScalarType<D>) {
          return false;
        } else {
          if (!kernels::can_pack(D::kGgmlType, t.dim(0), t.dim(1))) return false;
          w.packed = std::make_shared<const kernels::PackedMatrix>(
              kernels::pack_matrix(D::kGgmlType, t.data(), t.row_bytes(), t.dim(0), t.dim(1)));
          return true;
        }
      },
      static_cast<const WeightVariant&>(w));
}

namespace detail {
inline const char* const kSupportedWeightTypes =
    "F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K";

template <class D>
Tensor<D, Cpu> quantize_tensor(const io::GgufFile& file, const io::GgufTensorInfo& info) {
  const std::size_t k = info.shape.back();
  const std::size_t rows = static_cast<std::size_t>(info.numel()) / k;
  if (k % D::kBlockSize != 0)
    throw ShapeError(file.path() + ": tensor '" + info.name + "' has rows of " + std::to_string(k) +
                     " values, which cannot be quantized to " + std::string(D::kName) + " (blocks of " +
                     std::to_string(D::kBlockSize) + ")");
  auto out = Tensor<D, Cpu>::empty(info.shape);
  const std::size_t src_rb = quant::row_bytes(info.ggml_type(), k);
  std::vector<float> row(k);
  const auto* src = reinterpret_cast<const unsigned char*>(file.data(info));
  for (std::size_t r = 0; r < rows; ++r) {
    quant::dequantize_row(info.ggml_type(), src + r * src_rb, row.data(), k);
    QuantTraits<D>::quantize_ref(row.data(), out.data() + r * (k / D::kBlockSize), k);
  }
  return out;
}
}  // namespace detail

/// A zero-copy view of a GGUF tensor as a weight.
/// @throws UnsupportedError naming the tensor and its type if no kernel handles that type.
[[nodiscard]] inline AnyWeight load_weight(const io::GgufFile& file, const io::GgufTensorInfo& info) {
  switch (info.ggml_type()) {
    case GgmlType::F32: return file.tensor<F32>(info);
    case GgmlType::F16: return file.tensor<F16>(info);
    case GgmlType::BF16: return file.tensor<BF16>(info);
    case GgmlType::Q4_0: return file.tensor<Q4_0>(info);
    case GgmlType::Q4_1: return file.tensor<Q4_1>(info);
    case GgmlType::Q5_0: return file.tensor<Q5_0>(info);
    case GgmlType::Q5_1: return file.tensor<Q5_1>(info);
    case GgmlType::Q8_0: return file.tensor<Q8_0>(info);
    case GgmlType::IQ4_NL: return file.tensor<IQ4_NL>(info);
    case GgmlType::Q2_K: return file.tensor<Q2_K>(info);
    case GgmlType::Q3_K: return file.tensor<Q3_K>(info);
    case GgmlType::Q4_K: return file.tensor<Q4_K>(info);
    case GgmlType::Q5_K: return file.tensor<Q5_K>(info);
    case GgmlType::Q6_K: return file.tensor<Q6_K>(info);
    default:
      throw UnsupportedError(file.path() + ": tensor '" + info.name + "' has type " + info.type_name() +
                             ", which this build cannot compute with (supported: " + detail::kSupportedWeightTypes + ")");
  }
}

/// As `load_weight(file, info)`, quantizing F32/F16/BF16 matrices (2-D tensors) to
/// `options.quantize_to` while loading. 1-D tensors and already-quantized weights are returned as stored.
/// @throws UnsupportedError if the target type has no kernel; ShapeError if rows are not a block multiple.
[[nodiscard]] inline AnyWeight load_weight(const io::GgufFile& file, const io::GgufTensorInfo& info,
                                           const WeightLoadOptions& options) {
  const GgmlType src = info.ggml_type();
  const bool is_float = src == GgmlType::F32 || src == GgmlType::F16 || src == GgmlType::BF16;
  if (!options.quantize_to || !is_float || info.shape.size() != 2 || *options.quantize_to == src)
    return load_weight(file, info);
  switch (*options.quantize_to) {
    case GgmlType::F16: return detail::quantize_tensor<F16>(file, info);
    case GgmlType::BF16: return detail::quantize_tensor<BF16>(file, info);
    case GgmlType::Q4_0: return detail::quantize_tensor<Q4_0>(file, info);
    case GgmlType::Q4_1: return detail::quantize_tensor<Q4_1>(file, info);
    case GgmlType::Q5_0: return detail::quantize_tensor<Q5_0>(file, info);
    case GgmlType::Q5_1: return detail::quantize_tensor<Q5_1>(file, info);
    case GgmlType::Q8_0: return detail::quantize_tensor<Q8_0>(file, info);
    case GgmlType::IQ4_NL: return detail::quantize_tensor<IQ4_NL>(file, info);
    case GgmlType::Q2_K: return detail::quantize_tensor<Q2_K>(file, info);
    case GgmlType::Q3_K: return detail::quantize_tensor<Q3_K>(file, info);
    case GgmlType::Q4_K: return detail::quantize_tensor<Q4_K>(file, info);
    case GgmlType::Q5_K: return detail::quantize_tensor<Q5_K>(file, info);
    case GgmlType::Q6_K: return detail::quantize_tensor<Q6_K>(file, info);
    default:
      throw UnsupportedError("cannot quantize weights to " + std::string(ggml_type_info(*options.quantize_to).name) +
                             " (supported: " + detail::kSupportedWeightTypes + ")");
  }
}

namespace detail {
inline void matmul_rows(const Tensor<F32, Cpu>& w, const float* x, std::size_t xs, std::size_t n, float* y, std::size_t ys,
                        std::size_t r0, std::size_t r1) {
  kernels::matmul_f32(w.data(), static_cast<std::size_t>(w.stride(0)), x, xs, n, w.dim(1), y, ys, r0, r1);
}
// F16 weights take activations already rounded to F16 (kernels::round_to_f16), so a product split
// across threads rounds them once, on the calling thread.
inline void matmul_rows(const Tensor<F16, Cpu>& w, const float* xr, std::size_t, std::size_t n, float* y, std::size_t ys,
                        std::size_t r0, std::size_t r1) {
  kernels::matmul_f16_rounded(w.data(), static_cast<std::size_t>(w.stride(0)), xr, n, w.dim(1), y, ys, r0, r1);
}
inline void matmul_rows(const Tensor<BF16, Cpu>& w, const float* x, std::size_t xs, std::size_t n, float* y, std::size_t ys,
                        std::size_t r0, std::size_t r1) {
  kernels::matmul_bf16(w.data(), static_cast<std::size_t>(w.stride(0)), x, xs, n, w.dim(1), y, ys, r0, r1);
}

// The 8-row groups of a packed matrix that a row range [r0, r1) of a split owns: those whose first
// row lies in it, so that the ranges of one split cover every group exactly once.
inline std::pair<std::size_t, std::size_t> packed_groups(std::size_t r0, std::size_t r1) {
  return {(r0 + kernels::kPackRows - 1) / kernels::kPackRows, (r1 + kernels::kPackRows - 1) / kernels::kPackRows};
}

// Runs fn(r0, r1) over rows [0, rows) on the pool in chunks that start at multiples of 16 rows, so
// a pair of packed groups (one contiguous stream, see kernels/quant_packed.hpp) is never split.
template <class Fn>
void parallel_rows(ThreadPool& pool, std::size_t rows, Fn&& fn) {
  constexpr std::size_t kUnit = 2 * kernels::kPackRows;
  pool.parallel_for((rows + kUnit - 1) / kUnit, [&](std::size_t u0, std::size_t u1, std::size_t) {
    fn(kUnit * u0, std::min(rows, kUnit * u1));
  });
}

// Rows [r0, r1) of y = W x for a prompt of n activation rows (AnyWeight::gemm_prefill): F32
// activations for every float type, so F16 weights skip the rounding that matmul_rows expects (F32
// and BF16 take matmul_rows as they are).
template <class D>
void prompt_rows(const Tensor<D, Cpu>& w, const float* x, std::size_t xs, std::size_t n, float* y, std::size_t ys,
                 std::size_t r0, std::size_t r1) {
  if constexpr (std::is_same_v<D, F16>)
    kernels::matmul_f16_f32(w.data(), static_cast<std::size_t>(w.stride(0)), x, xs, n, w.dim(1), y, ys, r0, r1);
  else
    matmul_rows(w, x, xs, n, y, ys, r0, r1);
}

// Activations quantized by the calling thread, reused across calls (grows only).
inline kernels::QuantActivations& thread_activations() {
  thread_local kernels::QuantActivations act;
  return act;
}

// The quantized rows a PreparedInput scope announces on this thread (null when none is open).
struct PreparedRows {
  const float* x = nullptr;
  std::size_t stride = 0, n = 0, k = 0;
  GgmlType type{};
  const kernels::QuantActivations* act = nullptr;
  const PreparedRows* outer = nullptr;
};
inline const PreparedRows*& prepared_rows() {
  thread_local const PreparedRows* top = nullptr;
  return top;
}
// The open scope's rows if they are exactly `n` rows of `k` values of `x` (stride `stride`) as `type`.
inline const kernels::QuantActivations* find_prepared(const float* x, std::size_t stride, std::size_t n, std::size_t k,
                                                      GgmlType type) {
  for (const PreparedRows* p = prepared_rows(); p; p = p->outer)
    if (p->x == x && p->stride == stride && p->n == n && p->k == k && p->type == type) return p->act;
  return nullptr;
}
}  // namespace detail

/// The activation type the integer kernels multiply `w` with (Q8_0, Q8_1 or Q8_K), or nothing for
/// float weights.
[[nodiscard]] inline std::optional<GgmlType> input_activation_type(const AnyWeight& w) {
  const GgmlType t = type_of(w);
  if (!kernels::has_quant_kernel(t)) return std::nullopt;
  return kernels::activation_type(t);
}

/// Announces, on the calling thread and for its lifetime, that `act` holds `x`'s `n` rows of `k` values
/// (stride `x_stride`) already quantized as `type`: `matmul` and `matmul_group` called with exactly that
/// buffer and shape use them instead of quantizing `x` again. This is how a norm that quantizes while it
/// normalises (RMSNorm fused with activation quantization, see `normalize_for_matmul`) hands its rows
/// to the next products. The caller must not change `x` or `act` while the scope is open.
class PreparedInput {
 public:
  PreparedInput(const float* x, std::size_t x_stride, std::size_t n, std::size_t k, GgmlType type,
                const kernels::QuantActivations& act)
      : rows_{x, x_stride, n, k, type, &act, detail::prepared_rows()} {
    detail::prepared_rows() = &rows_;
  }
  PreparedInput(const PreparedInput&) = delete;
  PreparedInput& operator=(const PreparedInput&) = delete;
  ~PreparedInput() { detail::prepared_rows() = rows_.outer; }

 private:
  detail::PreparedRows rows_;
};

/// Normalises `rows` rows of `dim` values of `x` into `out` with `norm`. When the norm can quantize while
/// it normalises (it has `forward_quantized`, as RMSNorm does) and `act_type` names the activation type
/// of the matrices that will read `out` (see input_activation_type), both happen in one pass and `scope`
/// is opened so that those products take the quantized rows; otherwise this is `norm.forward`.
template <class Norm>
void normalize_for_matmul(const Norm& norm, const float* x, float* out, std::size_t rows, std::size_t dim,
                          std::optional<GgmlType> act_type, std::optional<PreparedInput>& scope, ThreadPool& pool) {
  if constexpr (requires(kernels::QuantActivations& a) { norm.forward_quantized(x, out, rows, *act_type, a, pool); }) {
    if (act_type) {
      thread_local kernels::QuantActivations act;  // one scope per thread at a time uses it
      norm.forward_quantized(x, out, rows, *act_type, act, pool);
      scope.emplace(out, dim, rows, dim, *act_type, act);
      return;
    }
  }
  norm.forward(x, out, rows);
}

/// `y[t, :] = W · x[t, :]` for `t < n`: `x` rows have `in_features` floats (row stride `x_stride`),
/// `y` rows receive `out_features` floats (row stride `y_stride`). Rows of W are split across the pool.
/// Quantized weights multiply activations quantized once per call (Q8_0/Q8_1/Q8_K, as llama.cpp), or
/// the rows an open PreparedInput scope announces for `x`.
inline void matmul(const AnyWeight& w, const float* x, std::size_t x_stride, std::size_t n, float* y, std::size_t y_stride,
                   ThreadPool& pool) {
  std::visit(
      [&](const auto& t) {
        using D = typename std::decay_t<decltype(t)>::dtype;
        const std::size_t rows = t.dim(0);
        if constexpr (kIsScalarType<D>) {
          if (w.gemm_prefill && n >= kGemmMinTokens) {
            pool.parallel_for(
                rows, [&](std::size_t r0, std::size_t r1, std::size_t) { detail::prompt_rows(t, x, x_stride, n, y, y_stride, r0, r1); },
                48);
            return;
          }
          const float* xin = std::is_same_v<D, F16> ? kernels::round_to_f16(x, x_stride, n, t.dim(1)) : x;
          pool.parallel_for(
              rows,
              [&](std::size_t r0, std::size_t r1, std::size_t) { detail::matmul_rows(t, xin, x_stride, n, y, y_stride, r0, r1); },
              16);
        } else {
          const std::size_t k = t.dim(1);
          const GgmlType at = kernels::activation_type(D::kGgmlType);
          const kernels::QuantActivations* act = detail::find_prepared(x, x_stride, n, k, at);
          if (!act) {
            auto& own = detail::thread_activations();
            own.quantize(at, x, x_stride, n, k, &pool);
            act = &own;
          }
          const kernels::QuantActView view = act->view();
          if (w.packed) {
            const kernels::PackedMatrix& p = *w.packed;
            detail::parallel_rows(pool, rows, [&](std::size_t r0, std::size_t r1) {
              const auto [g0, g1] = detail::packed_groups(r0, r1);
              if (g0 < g1) kernels::matmul_packed(p, view, n, y, y_stride, g0, g1);
            });
            return;
          }
          const std::size_t rb = t.row_bytes();
          const void* base = t.data();
          pool.parallel_for(
              rows,
              [&](std::size_t r0, std::size_t r1, std::size_t) {
                kernels::matmul_quant(D::kGgmlType, base, rb, view, n, y, y_stride, r0, r1, rows);
              },
              16);
        }
      },
      w);
}

/// One product of a `matmul_group`: `y[t, :] = W · x[t, :]` with `y` rows `y_stride` floats apart.
struct MatmulOutput {
  const AnyWeight* w = nullptr;
  float* y = nullptr;
  std::size_t y_stride = 0;
};

/// Several products of the same activations in one pool job (e.g. the Q, K and V projections, or
/// the gate and up projections): the activations are quantized once per activation type and the
/// rows of all matrices are split across the threads together, so the matrices need not be copied
/// into one at load time and the threads meet once instead of once per matrix. Each output equals
/// what `matmul` would write for that matrix alone.
inline void matmul_group(std::span<const MatmulOutput> outs, const float* x, std::size_t x_stride, std::size_t n,
                         ThreadPool& pool) {
  constexpr std::size_t kMaxGroup = 4;
  if (outs.size() > kMaxGroup) throw ConfigError("matmul_group: at most 4 matrices per group");
  struct Part {
    std::size_t begin = 0, rows = 0;
    const kernels::QuantActivations* act = nullptr;
  };
  std::array<Part, kMaxGroup> parts{};
  thread_local std::array<kernels::QuantActivations, kMaxGroup> acts;
  std::array<GgmlType, kMaxGroup> act_types{};
  std::size_t n_acts = 0, total = 0;
  const float* x_f16 = nullptr;  // the activations rounded to F16, if a matrix is F16
  for (std::size_t i = 0; i < outs.size(); ++i) {
    parts[i].begin = total;
    std::visit(
        [&](const auto& t) {
          using D = typename std::decay_t<decltype(t)>::dtype;
          parts[i].rows = t.dim(0);
          if constexpr (std::is_same_v<D, F16>) {
            if (!x_f16 && !(outs[i].w->gemm_prefill && n >= kGemmMinTokens)) x_f16 = kernels::round_to_f16(x, x_stride, n, t.dim(1));
          } else if constexpr (!kIsScalarType<D>) {
            const GgmlType at = kernels::activation_type(D::kGgmlType);
            if ((parts[i].act = detail::find_prepared(x, x_stride, n, t.dim(1), at))) return;
            std::size_t a = 0;
            while (a < n_acts && act_types[a] != at) ++a;
            if (a == n_acts) {
              act_types[n_acts++] = at;
              acts[a].quantize(at, x, x_stride, n, t.dim(1), &pool);
            }
            parts[i].act = &acts[a];
          }
        },
        *outs[i].w);
    total += parts[i].rows;
  }
  detail::parallel_rows(pool, total, [&](std::size_t r0, std::size_t r1) {
        for (std::size_t i = 0; i < outs.size(); ++i) {
          const std::size_t b = std::max(r0, parts[i].begin), e = std::min(r1, parts[i].begin + parts[i].rows);
          if (b >= e) continue;
          const std::size_t lb = b - parts[i].begin, le = e - parts[i].begin;
          std::visit(
              [&](const auto& t) {
                using D = typename std::decay_t<decltype(t)>::dtype;
                if constexpr (kIsScalarType<D>) {
                  if (outs[i].w->gemm_prefill && n >= kGemmMinTokens)
                    detail::prompt_rows(t, x, x_stride, n, outs[i].y, outs[i].y_stride, lb, le);
                  else
                    detail::matmul_rows(t, std::is_same_v<D, F16> ? x_f16 : x, x_stride, n, outs[i].y, outs[i].y_stride, lb, le);
                } else if (outs[i].w->packed) {
                  const auto [g0, g1] = detail::packed_groups(lb, le);
                  if (g0 < g1) kernels::matmul_packed(*outs[i].w->packed, parts[i].act->view(), n, outs[i].y, outs[i].y_stride, g0, g1);
                } else {
                  kernels::matmul_quant(D::kGgmlType, t.data(), t.row_bytes(), parts[i].act->view(), n, outs[i].y,
                                        outs[i].y_stride, lb, le, parts[i].rows);
                }
              },
              *outs[i].w);
        }
      });
}

/// Writes row `r` of a weight (e.g. one token embedding) as floats into `out`.
/// @throws ShapeError if `r` is out of range.
inline void dequantize_row(const AnyWeight& w, std::size_t r, float* out) {
  std::visit(
      [&](const auto& t) {
        using D = typename std::decay_t<decltype(t)>::dtype;
        if (r >= t.dim(0))
          throw ShapeError("row " + std::to_string(r) + " is out of range for a weight of shape " + to_string(t.shape()));
        const auto* row = t.row(r);
        const std::size_t k = t.dim(1);
        if constexpr (std::is_same_v<D, F32>) {
          std::copy(row, row + k, out);
        } else if constexpr (std::is_same_v<D, F16>) {
          kernels::convert_f16_to_f32(row, out, k);
        } else if constexpr (std::is_same_v<D, BF16>) {
          kernels::convert_bf16_to_f32(row, out, k);
        } else {
          QuantTraits<D>::dequantize_ref(row, out, k);
        }
      },
      w);
}

}  // namespace llmforge::nn
