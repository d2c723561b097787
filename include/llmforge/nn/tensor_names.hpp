// SPDX-License-Identifier: MIT
// Tensor roles, the per-architecture name tables that map roles to file names, and a loader over them.
#pragma once

#include <chrono>

#include <algorithm>
#include <array>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include <llmforge/core/error.hpp>
#include <llmforge/io/gguf_reader.hpp>
#include <llmforge/nn/weight.hpp>

namespace llmforge::nn {

/// What a tensor is for, independent of how a file format names it.
enum class Role {
  TokenEmbedding, PositionEmbedding, OutputNorm, OutputNormBias, Output, RopeFreqs,
  AttnNorm, AttnNormBias, AttnQ, AttnK, AttnV, AttnQKV, AttnOutput,
  AttnQBias, AttnKBias, AttnVBias, AttnQKVBias, AttnOutputBias, AttnQNorm, AttnKNorm, PostAttnNorm,
  FfnNorm, FfnNormBias, FfnGate, FfnUp, FfnDown, FfnGateBias, FfnUpBias, FfnDownBias, PostFfnNorm,
};

/// The bias that goes with a norm weight (LayerNorm), or the role itself if it has none.
[[nodiscard]] constexpr Role bias_role(Role norm) noexcept {
  switch (norm) {
    case Role::AttnNorm: return Role::AttnNormBias;
    case Role::FfnNorm: return Role::FfnNormBias;
    case Role::OutputNorm: return Role::OutputNormBias;
    default: return norm;
  }
}

/// Whether a file must contain a tensor.
enum class Presence { Required, Optional };

/// One row of an architecture's name table: `{}` in a name stands for the layer index.
struct TensorName {
  Role role = Role::TokenEmbedding;
  std::string_view gguf;  ///< name in GGUF files ("blk.{}.attn_q.weight")
  std::string_view hf;    ///< name in Hugging Face checkpoints ("model.layers.{}.self_attn.q_proj.weight")
  Presence presence = Presence::Required;
};

namespace detail {
/// Replaces the first `{}` in `pattern` with `layer` (GCC 12 has no std::format).
[[nodiscard]] inline std::string tensor_name(std::string_view pattern, std::size_t layer) {
  std::string out(pattern);
  if (auto at = out.find("{}"); at != std::string::npos) out.replace(at, 2, std::to_string(layer));
  return out;
}

/// Concatenates name tables at compile time, so an architecture can extend another's table.
template <std::size_t... N>
[[nodiscard]] constexpr auto join_tables(const TensorName (&... tables)[N]) {
  std::array<TensorName, (N + ...)> out{};
  std::size_t i = 0;
  ((std::copy(std::begin(tables), std::end(tables), out.begin() + static_cast<std::ptrdiff_t>(i)), i += N), ...);
  return out;
}
}  // namespace detail

/// Looks tensors up by role through a name table, validating presence and shape.
class WeightLoader {
 public:
  /// `options.quantize_to` re-quantizes float matrices while loading (see load_weight).
  /// `options.progress` is told about each matrix quantized (see finish()).
  WeightLoader(const io::GgufFile& file, std::span<const TensorName> table, WeightLoadOptions options = {})
      : file_(file), table_(table), options_(std::move(options)) {
    if (options_.quantize_to && options_.progress)
      for (const auto& t : file_.tensors()) to_quantize_ += will_quantize(t);
  }

  /// Completes the progress report (matrices in the file that the architecture did not load count as done).
  void finish() const {
    if (options_.progress && to_quantize_ > 0 && quantized_ < to_quantize_) options_.progress(to_quantize_, to_quantize_, "");
  }

  [[nodiscard]] const io::GgufFile& file() const noexcept { return file_; }

  /// Bytes of every matrix and vector handed out so far, as stored in memory (after any load-time
  /// quantization); vectors count as F32.
  [[nodiscard]] std::size_t bytes_loaded() const noexcept { return bytes_loaded_; }

  /// True if the table names `role` and the file holds that tensor for `layer`.
  [[nodiscard]] bool has(Role role, std::size_t layer = 0) const {
    for (const auto& row : table_)
      if (row.role == role) return file_.find_tensor(detail::tensor_name(row.gguf, layer)) != nullptr;
    return false;
  }

  /// The file's tensor for `role` (in `layer`, if per-layer), or null if the table has no row for it
  /// or the file lacks an optional tensor. @throws FormatError if a required tensor is missing.
  [[nodiscard]] const io::GgufTensorInfo* find(Role role, std::size_t layer = 0) const {
    for (const auto& row : table_) {
      if (row.role != role) continue;
      const std::string name = detail::tensor_name(row.gguf, layer);
      if (const auto* t = file_.find_tensor(name)) return t;
      if (row.presence == Presence::Required)
        throw FormatError(file_.path() + ": required tensor '" + name + "' is missing");
      return nullptr;
    }
    return nullptr;
  }

  /// A matrix weight `[rows, cols]` for `role`. @throws FormatError if missing or shaped otherwise.
  [[nodiscard]] AnyWeight matrix(Role role, std::size_t layer, std::size_t rows, std::size_t cols) const {
    auto w = optional_matrix(role, layer, rows, cols);
    if (!w) throw FormatError(file_.path() + ": the architecture needs a tensor for role " + std::to_string(static_cast<int>(role)) +
                              " that its name table does not provide");
    return std::move(*w);
  }
  [[nodiscard]] std::optional<AnyWeight> optional_matrix(Role role, std::size_t layer, std::size_t rows, std::size_t cols) const {
    const auto* t = find(role, layer);
    if (!t) return std::nullopt;
    check_shape(*t, Shape{rows, cols});
    auto w = load_weight(file_, *t, options_);
    bytes_loaded_ += bytes_of(w);
    if (role != Role::TokenEmbedding && role != Role::PositionEmbedding) pack(w);
    if (to_quantize_ > 0 && will_quantize(*t)) options_.progress(++quantized_, to_quantize_, t->name);
    return w;
  }

  /// Repacks `w` for the interleaved kernels if the options ask for it and the CPU's kernels prefer
  /// them, and marks float matrices for the tiled prompt GEMM if asked (matrices are prepared as they
  /// load; an embedding table only when it is also the output).
  void pack(AnyWeight& w) const {
    w.gemm_prefill = options_.gemm_prefill;
    if (!options_.repack || !kernels::packed_kernels_preferred()) return;
    const auto start = std::chrono::steady_clock::now();
    if (pack_weight(w)) {
      pack_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      bytes_packed_ += w.packed->nbytes();
    }
  }
  /// Seconds spent repacking, and bytes of repacked matrices, so far.
  [[nodiscard]] double pack_seconds() const noexcept { return pack_seconds_; }
  [[nodiscard]] std::size_t bytes_packed() const noexcept { return bytes_packed_; }

  /// A 1-D F32 vector of `n` values (norm weights, biases), converted from F16/BF16 if stored so.
  [[nodiscard]] Tensor<F32, Cpu> vector(Role role, std::size_t layer, std::size_t n) const {
    auto v = optional_vector(role, layer, n);
    if (!v) throw FormatError(file_.path() + ": the architecture needs a vector for role " + std::to_string(static_cast<int>(role)) +
                              " that its name table does not provide");
    return std::move(*v);
  }
  [[nodiscard]] std::optional<Tensor<F32, Cpu>> optional_vector(Role role, std::size_t layer, std::size_t n) const {
    const auto* t = find(role, layer);
    if (!t) return std::nullopt;
    check_shape(*t, Shape{n});
    bytes_loaded_ += n * sizeof(float);
    if (t->ggml_type() == GgmlType::F32) return file_.tensor<F32>(*t);
    auto out = Tensor<F32, Cpu>::empty(Shape{n});
    const AnyWeight w = load_weight(file_, *t);
    std::visit([&](const auto& src) {
      const auto as_row = src.reshape(Shape{1, n});
      dequantize_row(AnyWeight(as_row), 0, out.data());
    }, w);
    return out;
  }

  /// @throws FormatError naming the tensor, its shape and the expected shape.
  void check_shape(const io::GgufTensorInfo& t, const Shape& expected) const {
    if (t.shape != expected) {
      char off[32];
      std::snprintf(off, sizeof off, "0x%llx", static_cast<unsigned long long>(t.offset));
      throw FormatError(file_.path() + ": tensor '" + t.name + "' has shape " + to_string(t.shape) + ", expected " +
                        to_string(expected) + " (offset " + off + ")");
    }
  }

 private:
  const io::GgufFile& file_;
  std::span<const TensorName> table_;
  WeightLoadOptions options_;
  mutable double pack_seconds_ = 0;
  mutable std::size_t bytes_packed_ = 0;
  std::size_t to_quantize_ = 0;
  mutable std::size_t quantized_ = 0;
  mutable std::size_t bytes_loaded_ = 0;

  // Whether load_weight re-quantizes this tensor (a 2-D float matrix of another type than the target).
  [[nodiscard]] bool will_quantize(const io::GgufTensorInfo& t) const {
    const GgmlType src = t.ggml_type();
    const bool is_float = src == GgmlType::F32 || src == GgmlType::F16 || src == GgmlType::BF16;
    return options_.quantize_to && is_float && t.shape.size() == 2 && src != *options_.quantize_to;
  }
};

}  // namespace llmforge::nn
