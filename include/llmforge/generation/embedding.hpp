// SPDX-License-Identifier: MIT
// Embeddings: the model's final hidden states pooled (mean / last / CLS) and L2-normalized.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <llmforge/core/error.hpp>
#include <llmforge/models/model.hpp>
#include <llmforge/tokenizer/tokenizer.hpp>

namespace llmforge {

/// How the hidden states of a text's tokens become one vector.
enum class Pooling {
  Mean,  ///< the average over every token (BOS included, as llama.cpp's mean pooling)
  Last,  ///< the last token's state (what a causal model has seen the whole text in)
  Cls,   ///< the first token's state (BERT's [CLS]; for a causal model the BOS token)
};

[[nodiscard]] inline const char* to_string(Pooling p) noexcept {
  switch (p) {
    case Pooling::Mean: return "mean";
    case Pooling::Last: return "last";
    case Pooling::Cls: return "cls";
  }
  return "?";
}
inline std::ostream& operator<<(std::ostream& os, Pooling p) { return os << to_string(p); }

/// "mean", "last" or "cls". @throws ConfigError naming the allowed values.
[[nodiscard]] inline Pooling parse_pooling(std::string_view s) {
  if (s == "mean") return Pooling::Mean;
  if (s == "last") return Pooling::Last;
  if (s == "cls") return Pooling::Cls;
  throw ConfigError("pooling must be mean, last or cls, got '" + std::string(s) + "'");
}

/// Settings of an embedding.
struct EmbedOptions {
  Pooling pooling = Pooling::Mean;
  bool normalize = true;      ///< divide by the L2 norm (a zero vector stays zero)
  bool add_special = true;    ///< add BOS/EOS as the vocabulary says
  bool parse_special = false; ///< recognise special-token text in the input
};

/// Pools `hidden` (`rows` rows of `dim` floats) into `out` (dim floats) and normalizes it if asked.
/// Sums in double so the mean does not depend on the number of rows' rounding.
/// @throws ConfigError if there are no rows; ShapeError on mismatched sizes.
inline void pool_hidden_states(std::span<const float> hidden, std::size_t rows, std::size_t dim, Pooling pooling,
                               bool normalize, std::span<float> out) {
  if (rows == 0) throw ConfigError("embedding: no tokens to pool");
  if (hidden.size() != rows * dim || out.size() != dim)
    throw ShapeError("embedding: " + std::to_string(hidden.size()) + " hidden floats for " + std::to_string(rows) + " x " +
                     std::to_string(dim) + ", output holds " + std::to_string(out.size()));
  std::vector<double> acc(dim, 0.0);
  if (pooling == Pooling::Mean) {
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t i = 0; i < dim; ++i) acc[i] += hidden[r * dim + i];
    for (auto& v : acc) v /= static_cast<double>(rows);
  } else {
    const std::size_t r = pooling == Pooling::Last ? rows - 1 : 0;
    for (std::size_t i = 0; i < dim; ++i) acc[i] = hidden[r * dim + i];
  }
  double norm = 0;
  for (double v : acc) norm += v * v;
  norm = std::sqrt(norm);
  const double scale = normalize && norm > 0 ? 1.0 / norm : 1.0;
  for (std::size_t i = 0; i < dim; ++i) out[i] = static_cast<float>(acc[i] * scale);
}

/// Cosine similarity of two vectors of equal length (0 when either is zero). @throws ShapeError.
[[nodiscard]] inline double cosine_similarity(std::span<const float> a, std::span<const float> b) {
  if (a.size() != b.size())
    throw ShapeError("cosine_similarity: vectors of " + std::to_string(a.size()) + " and " + std::to_string(b.size()) + " floats");
  double ab = 0, aa = 0, bb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) ab += double(a[i]) * b[i], aa += double(a[i]) * a[i], bb += double(b[i]) * b[i];
  return aa > 0 && bb > 0 ? ab / std::sqrt(aa * bb) : 0.0;
}

/// One embedding and how many tokens it took.
struct Embedding {
  std::vector<float> values;
  std::size_t tokens = 0;
};

/// Turns texts into embeddings with one model. Owns a session (KV cache + threads); each text is a new
/// sequence, so the result of a text never depends on what was embedded before it, nor on the batch
/// it came in. Thread-compatible: one call at a time.
class Embedder {
 public:
  /// `opt.context` bounds the longest text (in tokens).
  explicit Embedder(std::shared_ptr<const Model> model, const SessionOptions& opt = {})
      : model_(std::move(model)), session_(model_->new_session(opt)) {}

  [[nodiscard]] const Model& model() const noexcept { return *model_; }
  [[nodiscard]] std::size_t dim() const noexcept { return model_->config().model_dim; }
  [[nodiscard]] std::size_t context() const noexcept { return session_.kv.capacity(); }

  /// Tokenizes `text` (the model's tokenizer) and embeds it.
  /// @throws TokenizerError; ConfigError if it has no tokens or more than the context holds.
  Embedding embed(std::string_view text, const EmbedOptions& opt = {}) {
    auto ids = model_->tokenizer().encode(text, tokenizer::EncodeOptions{opt.add_special, opt.parse_special});
    return embed_tokens(ids, opt);
  }

  /// Embeds already tokenized input. @throws ConfigError for empty input, ids outside the vocabulary
  /// or more tokens than the context holds.
  Embedding embed_tokens(std::span<const int32_t> ids, const EmbedOptions& opt = {}) {
    if (ids.empty()) throw ConfigError("embedding: the input has no tokens");
    if (ids.size() > session_.kv.capacity())
      throw ConfigError("embedding: the input has " + std::to_string(ids.size()) + " tokens but the context holds " +
                        std::to_string(session_.kv.capacity()));
    const std::size_t d = dim();
    hidden_.resize(ids.size() * d);
    session_.reset();
    model_->hidden_states(session_, ids, hidden_);
    Embedding e;
    e.values.resize(d);
    e.tokens = ids.size();
    pool_hidden_states(hidden_, ids.size(), d, opt.pooling, opt.normalize, e.values);
    return e;
  }

  /// Embeds each text on its own (results equal single calls). @throws as embed().
  std::vector<Embedding> embed_batch(std::span<const std::string> texts, const EmbedOptions& opt = {}) {
    std::vector<Embedding> out;
    out.reserve(texts.size());
    for (const auto& t : texts) out.push_back(embed(t, opt));
    return out;
  }

 private:
  std::shared_ptr<const Model> model_;
  Session session_;
  std::vector<float> hidden_;
};

}  // namespace llmforge
