// SPDX-License-Identifier: MIT
// DecoderOnlyModel<Arch>: embeddings, a stack of Arch::Layer, final norm and output projection.
#pragma once

#include <cmath>
#include <concepts>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include <llmforge/models/model.hpp>
#include <llmforge/nn/attention.hpp>
#include <llmforge/nn/tensor_names.hpp>
#include <llmforge/nn/weight.hpp>

namespace llmforge {

/// What an architecture description provides (see models/llama.hpp for the canonical example).
template <class A>
concept Architecture = requires(const io::Metadata& md) {
  { A::kArchName } -> std::convertible_to<std::string_view>;
  { A::kTensors } -> std::convertible_to<std::span<const nn::TensorName>>;
  typename A::Layer;
  typename A::OutputNorm;
  { A::read_config(md) } -> std::same_as<ModelConfig>;
};

/// A decoder-only transformer assembled from an architecture description.
/// @tparam Arch satisfies `Architecture`: a name, a tensor-name table, a Layer type, an OutputNorm
///         type and `read_config(metadata)`.
template <class Arch>
class DecoderOnlyModel final : public Model {
  static_assert(Architecture<Arch>, "DecoderOnlyModel<Arch>: Arch must provide kArchName, kTensors (a span of nn::TensorName), "
                                    "Layer, OutputNorm and static ModelConfig read_config(const io::Metadata&) - see models/llama.hpp");

 public:
  /// Reads the config and binds every tensor of `file` (zero-copy). @throws FormatError / ConfigError.
  DecoderOnlyModel(std::shared_ptr<const io::GgufFile> file, const LoadOptions& opt = {})
      : file_(std::move(file)), exact_(opt.exact) {
    config_ = Arch::read_config(file_->metadata());
    const nn::WeightLoader l(*file_, Arch::kTensors,
                             nn::WeightLoadOptions{opt.quantize, opt.progress, opt.repack && !opt.exact, !opt.exact});
    const auto* embd = l.find(nn::Role::TokenEmbedding);
    if (!embd || embd->shape.rank() != 2)
      throw FormatError(file_->path() + ": token embedding tensor is missing or not 2-D");
    if (config_.vocab_size == 0) config_.vocab_size = embd->shape[0];
    config_.validate();
    token_embd_ = l.matrix(nn::Role::TokenEmbedding, 0, config_.vocab_size, config_.model_dim);
    pos_embd_ = l.optional_matrix(nn::Role::PositionEmbedding, 0, config_.context_len, config_.model_dim);
    output_norm_ = Arch::OutputNorm::load(l, nn::Role::OutputNorm, 0, config_.model_dim, config_);
    output_ = l.optional_matrix(nn::Role::Output, 0, config_.vocab_size, config_.model_dim);
    layers_.reserve(config_.num_layers);
    for (std::size_t i = 0; i < config_.num_layers; ++i) layers_.push_back(Arch::Layer::load(l, i, config_));
    if (!output_) l.pack(token_embd_);  // tied: the embedding table is also the output matrix
    l.finish();
    report_ = LoadReport{l.pack_seconds(), l.bytes_packed()};
    // Bytes read per token: every weight, but only one row of an embedding table that is not also the
    // output matrix.
    weight_bytes_ = l.bytes_loaded();
    if (output_) weight_bytes_ -= nn::bytes_of(token_embd_) - nn::bytes_of(token_embd_) / config_.vocab_size;
    if (pos_embd_) weight_bytes_ -= nn::bytes_of(*pos_embd_) - nn::bytes_of(*pos_embd_) / config_.context_len;
  }

  [[nodiscard]] const ModelConfig& config() const noexcept override { return config_; }
  [[nodiscard]] const io::Metadata& metadata() const noexcept override { return file_->metadata(); }
  [[nodiscard]] std::size_t weight_bytes() const noexcept override { return weight_bytes_; }
  [[nodiscard]] LoadReport load_report() const noexcept override { return report_; }
  [[nodiscard]] bool exact() const noexcept override { return exact_; }

  void hidden_states(Session& s, std::span<const int32_t> tokens, std::span<float> hidden) const override {
    check_tokens(s, tokens);
    const std::size_t n = tokens.size(), d = config_.model_dim;
    if (hidden.size() != n * d)
      throw ShapeError("hidden_states: buffer holds " + std::to_string(hidden.size()) + " floats, expected " + std::to_string(n * d));
    const SequenceSlice one{&s.kv, s.pos, tokens, SequenceSlice::Logits::None};
    const float* x = run_layers(std::span<const SequenceSlice>(&one, 1), {}, s.ws, *s.pool);
    output_norm_.forward(x, hidden.data(), n);
    s.pos += n;
  }

  void forward(Session& s, std::span<const int32_t> tokens, std::span<float> logits, bool all_positions) const override {
    check_forward(s, tokens, logits, all_positions);
    const SequenceSlice one{&s.kv, s.pos, tokens, all_positions ? SequenceSlice::Logits::All : SequenceSlice::Logits::Last};
    run(std::span<const SequenceSlice>(&one, 1), {}, s.ws, *s.pool, logits);
    s.pos += tokens.size();
  }

  void forward_batch(std::span<const SequenceSlice> seqs, BatchScratch& scratch, std::span<float> logits) const override {
    check_batch(seqs, logits);
    auto& segs = scratch.segments;
    segs.clear();
    std::size_t row = 0;
    for (const auto& q : seqs) {
      segs.push_back(nn::AttnSegment{q.kv, q.pos, row, q.tokens.size()});
      row += q.tokens.size();
    }
    run(seqs, segs, scratch.ws, *scratch.pool, logits);
  }

  void shift_context(KvCache& kv, std::size_t end, std::size_t keep, std::size_t discard) const override {
    if (end > kv.capacity() || keep + discard > end || discard == 0)
      throw ConfigError("context shift: cannot drop " + std::to_string(discard) + " positions after " + std::to_string(keep) +
                        " of " + std::to_string(end));
    for (std::size_t l = 0; l < layers_.size(); ++l) {
      if constexpr (requires { layers_[l].attn.shift_cache(config_, kv, l, keep, discard, end); })
        layers_[l].attn.shift_cache(config_, kv, l, keep, discard, end);
      else
        throw ConfigError(std::string(Arch::kArchName) + ": its attention cannot shift the context (no shift_cache)");
    }
  }

 private:
  /// Embeds the rows of `seqs` (with `segs` describing them when there are several) and runs every
  /// layer; returns the residual stream (rows x model_dim, in `ws`).
  float* run_layers(std::span<const SequenceSlice> seqs, std::span<const nn::AttnSegment> segs, nn::Workspace& ws,
                    ThreadPool& pool) const {
    const auto& c = config_;
    const std::size_t d = c.model_dim;
    std::size_t n = 0;
    for (const auto& q : seqs) n += q.tokens.size();
    float* x = ws.get(nn::Workspace::Hidden, n * d);
    std::size_t r = 0;
    for (const auto& q : seqs)
      for (std::size_t t = 0; t < q.tokens.size(); ++t, ++r) {
        float* xr = x + r * d;
        nn::dequantize_row(token_embd_, static_cast<std::size_t>(q.tokens[t]), xr);
        if (c.embed_scale != 1.0f)
          for (std::size_t i = 0; i < d; ++i) xr[i] *= c.embed_scale;
        if (pos_embd_) {
          float* p = ws.get(nn::Workspace::Tmp, d);
          nn::dequantize_row(*pos_embd_, q.pos + t, p);
          for (std::size_t i = 0; i < d; ++i) xr[i] += p[i];
        }
      }
    const nn::AttnContext base{0, seqs[0].pos, n, *seqs[0].kv, ws, pool, segs};
    for (std::size_t l = 0; l < layers_.size(); ++l) {
      nn::AttnContext ctx = base;
      ctx.layer = l;
      layers_[l].forward(c, ctx, x);
    }
    return x;
  }

  /// The pass over all rows of `seqs`: layers, then the final norm and output projection of the rows
  /// whose logits are wanted.
  void run(std::span<const SequenceSlice> seqs, std::span<const nn::AttnSegment> segs, nn::Workspace& ws, ThreadPool& pool,
           std::span<float> logits) const {
    const auto& c = config_;
    const std::size_t d = c.model_dim;
    std::size_t n = 0;
    for (const auto& q : seqs) n += q.tokens.size();
    const float* x = run_layers(seqs, segs, ws, pool);
    // Only the rows whose logits are wanted go through the final norm and output projection; they
    // are gathered first when they are not one contiguous run.
    std::size_t rows = 0, first = n, row = 0;
    bool contiguous = true;
    for (const auto& q : seqs) {
      const std::size_t k = q.logits == SequenceSlice::Logits::All ? q.tokens.size() : q.logits == SequenceSlice::Logits::Last ? 1 : 0;
      const std::size_t from = row + q.tokens.size() - k;
      if (k > 0) {
        if (rows == 0) first = from;
        else if (from != first + rows) contiguous = false;
        rows += k;
      }
      row += q.tokens.size();
    }
    if (rows == 0) return;
    const float* src = x + first * d;
    if (!contiguous) {
      float* g = ws.get(nn::Workspace::Tmp, rows * d);
      std::size_t at = 0;
      row = 0;
      for (const auto& q : seqs) {
        const std::size_t k = q.logits == SequenceSlice::Logits::All ? q.tokens.size() : q.logits == SequenceSlice::Logits::Last ? 1 : 0;
        std::copy(x + (row + q.tokens.size() - k) * d, x + (row + q.tokens.size()) * d, g + at * d);
        at += k;
        row += q.tokens.size();
      }
      src = g;
    }
    float* h = ws.get(nn::Workspace::Normed, rows * d);
    const nn::AnyWeight& out_w = output_ ? *output_ : token_embd_;
    std::optional<nn::PreparedInput> prepared;  // the normed rows, quantized in the norm's pass
    nn::normalize_for_matmul(output_norm_, src, h, rows, d, nn::input_activation_type(out_w), prepared, pool);
    nn::matmul(out_w, h, d, rows, logits.data(), c.vocab_size, pool);
    if (c.final_softcap > 0)
      for (auto& v : logits) v = std::tanh(v * (1.0f / c.final_softcap)) * c.final_softcap;
  }

  std::shared_ptr<const io::GgufFile> file_;
  bool exact_ = false;
  ModelConfig config_;
  nn::AnyWeight token_embd_;
  std::optional<nn::AnyWeight> pos_embd_;
  typename Arch::OutputNorm output_norm_;
  std::optional<nn::AnyWeight> output_;  ///< absent when tied to the token embedding
  std::vector<typename Arch::Layer> layers_;
  std::size_t weight_bytes_ = 0;
  LoadReport report_;
};

}  // namespace llmforge
