// SPDX-License-Identifier: MIT
// The run-time model interface (what generation code talks to), sessions, and load options.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <llmforge/backend/thread_pool.hpp>
#include <llmforge/core/error.hpp>
#include <llmforge/io/gguf_reader.hpp>
#include <llmforge/kv/kv_cache.hpp>
#include <llmforge/nn/batch.hpp>
#include <llmforge/nn/config.hpp>
#include <llmforge/nn/workspace.hpp>
#include <llmforge/tokenizer/tokenizer.hpp>

namespace llmforge {

/// Options for opening a model file.
struct LoadOptions {
  std::optional<GgmlType> quantize;  ///< re-quantize float weights to this type while loading
  bool load_tokenizer = true;        ///< build the tokenizer from the file's metadata
  std::string architecture;          ///< use this registered architecture instead of `general.architecture`
  /// With `quantize`: called after each matrix is quantized (matrices done, matrices in all, tensor name).
  std::function<void(std::size_t, std::size_t, const std::string&)> progress;
  /// Reference mode: llama.cpp's summation order everywhere (bit-identical to llama.cpp b4748 on
  /// AVX2), no repacked weights, float prompts through the row kernels. The default is the fastest
  /// correct path for the CPU.
  bool exact = false;
  /// Repack matrices into the interleaved layouts at load time where the CPU's kernels prefer them
  /// (ignored with `exact`).
  bool repack = true;
  /// A tokenizer to use instead of the model file's: any file load_tokenizer() reads, or a llama2.c
  /// tokenizer.bin (needed for llama2.c checkpoints without one beside them).
  std::filesystem::path tokenizer;
};

/// What loading did beyond mapping the file: repacking (time and bytes of the packed matrices).
struct LoadReport {
  double repack_seconds = 0;
  std::size_t repacked_bytes = 0;
};

/// Options for a new inference session.
struct SessionOptions {
  std::size_t context = 0;  ///< positions the KV cache holds; 0 = the model's context length (capped at 4096)
  std::size_t threads = 0;  ///< 0 = all hardware threads
  /// KV cache element types; unset = F16 (F32 in the exact mode, which accepts nothing else).
  std::optional<KvType> cache_type_k, cache_type_v;
};

/// The mutable state of one sequence: its KV cache, scratch buffers, thread pool and position.
struct Session {
  KvCache kv;
  nn::Workspace ws;
  std::shared_ptr<ThreadPool> pool;
  std::size_t pos = 0;  ///< number of tokens already in the cache

  /// Forgets the sequence (the cache is overwritten from position 0 on).
  void reset() noexcept { pos = 0; }
};

/// One sequence's part of a batched forward pass (Model::forward_batch).
struct SequenceSlice {
  enum class Logits { None, Last, All };
  KvCache* kv = nullptr;            ///< the sequence's cache
  std::size_t pos = 0;              ///< positions it already holds: the tokens go to pos, pos + 1, ...
  std::span<const int32_t> tokens;  ///< at least one
  Logits logits = Logits::Last;     ///< which of its tokens get a row of logits
};

/// Buffers and threads of batched passes, shared by the sequences of a batch (their caches are theirs).
struct BatchScratch {
  nn::Workspace ws;
  std::shared_ptr<ThreadPool> pool;
  std::vector<nn::AttnSegment> segments;  ///< filled by forward_batch (kept to avoid allocations)

  explicit BatchScratch(std::size_t threads = 0) : pool(std::make_shared<ThreadPool>(threads)) {}
};

/// A loaded decoder-only language model. Thread-compatible: one forward at a time per Session;
/// several Sessions may share one Model.
class Model {
 public:
  virtual ~Model() = default;

  [[nodiscard]] virtual const ModelConfig& config() const noexcept = 0;
  [[nodiscard]] virtual const io::Metadata& metadata() const noexcept = 0;
  /// Runs `tokens` at positions `[s.pos, s.pos + n)` and advances `s.pos`. Writes the logits of the
  /// last token into `logits` (vocab_size floats), or of every token (n * vocab_size) if `all_positions`.
  /// @throws ConfigError if the tokens do not fit in the session's context or an id is out of range;
  ///         ShapeError if `logits` has the wrong size.
  virtual void forward(Session& s, std::span<const int32_t> tokens, std::span<float> logits, bool all_positions = false) const = 0;

  /// Runs several sequences' tokens in one pass: every matrix product covers all their rows, and
  /// attention reads each sequence's own cache. Writes the logits rows the slices ask for, in slice
  /// order, into `logits` (rows x vocab_size); does not advance any position (the caller tracks them).
  /// Each row's result is what forward() gives for that sequence alone, up to summation order.
  /// @throws ConfigError / ShapeError as forward() does, naming the slice; ConfigError if the model
  ///         type has no batched pass.
  virtual void forward_batch(std::span<const SequenceSlice> seqs, BatchScratch& scratch, std::span<float> logits) const {
    (void)seqs, (void)scratch, (void)logits;
    throw ConfigError("this model type does not support batched forward passes");
  }
  /// Context shift of a cache holding `end` positions: keeps positions `[0, keep)`, drops the next
  /// `discard` and moves the rest down, re-rotating their keys (see GroupedQueryAttention::shift_cache).
  /// The caller then continues at position `end - discard`.
  /// @throws ConfigError if the range is invalid or the model type cannot shift.
  virtual void shift_context(KvCache& kv, std::size_t end, std::size_t keep, std::size_t discard) const {
    (void)kv, (void)end, (void)keep, (void)discard;
    throw ConfigError("this model type does not support context shifting");
  }

  /// Rows of logits forward_batch() writes for `seqs`.
  [[nodiscard]] static std::size_t logits_rows(std::span<const SequenceSlice> seqs) noexcept {
    std::size_t rows = 0;
    for (const auto& s : seqs)
      rows += s.logits == SequenceSlice::Logits::All ? s.tokens.size() : s.logits == SequenceSlice::Logits::Last ? 1 : 0;
    return rows;
  }

  /// Runs `tokens` like forward() (advancing `s.pos`) but writes the final hidden states of every token
  /// (after the output norm, before the output projection; `tokens.size() * model_dim` floats) into
  /// `hidden`: what embeddings pool (llama.cpp's `result_norm`).
  /// @throws ConfigError as forward(), or if the model does not provide hidden states;
  ///         ShapeError if `hidden` has the wrong size.
  virtual void hidden_states(Session& s, std::span<const int32_t> tokens, std::span<float> hidden) const {
    (void)s, (void)tokens, (void)hidden;
    throw ConfigError(metadata().source() + ": this model does not expose its hidden states (no embeddings)");
  }

  /// Bytes of weight data the model reads per token (for bandwidth figures).
  [[nodiscard]] virtual std::size_t weight_bytes() const noexcept = 0;
  /// Whether the model was loaded in the exact (llama.cpp-order reference) mode.
  [[nodiscard]] virtual bool exact() const noexcept { return false; }
  /// What loading did (repacking time and size).
  [[nodiscard]] virtual LoadReport load_report() const noexcept { return {}; }

  /// Creates a session with its own KV cache and thread pool.
  [[nodiscard]] Session new_session(const SessionOptions& opt = {}) const {
    const auto& c = config();
    std::size_t ctx = opt.context ? opt.context : std::min<std::size_t>(c.context_len, 4096);
    if (ctx > c.context_len)
      throw ConfigError("context size " + std::to_string(ctx) + " exceeds the model's context length " + std::to_string(c.context_len));
    return Session{KvCache(c, ctx, kv_options(opt)), {}, std::make_shared<ThreadPool>(opt.threads), 0};
  }
  /// The KV cache layout a session with `opt` gets: F16 key tiles and value rows by default, F32 rows
  /// in the exact mode. @throws ConfigError for a non-F32 type in the exact mode.
  [[nodiscard]] KvOptions kv_options(const SessionOptions& opt = {}) const {
    if (!exact()) return KvOptions{opt.cache_type_k.value_or(KvType::F16), opt.cache_type_v.value_or(KvType::F16), true};
    for (const auto& t : {opt.cache_type_k, opt.cache_type_v})
      if (t && *t != KvType::F32)
        throw ConfigError("the exact mode keeps the KV cache in f32 (as llama.cpp's reference runs); cache type " +
                          std::string(kv_type_name(*t)) + " needs the default kernels");
    return KvOptions{KvType::F32, KvType::F32, false};
  }

  /// The tokenizer built from the model file. @throws TokenizerError if the file has none.
  [[nodiscard]] const tokenizer::Tokenizer& tokenizer() const {
    if (!tokenizer_) throw TokenizerError(metadata().source() + ": the model file has no usable tokenizer");
    return *tokenizer_;
  }
  [[nodiscard]] bool has_tokenizer() const noexcept { return tokenizer_ != nullptr; }
  void set_tokenizer(std::shared_ptr<const tokenizer::Tokenizer> t) { tokenizer_ = std::move(t); }

 protected:
  /// Common argument checks of forward().
  void check_forward(const Session& s, std::span<const int32_t> tokens, std::span<const float> logits, bool all) const {
    const SequenceSlice one{const_cast<KvCache*>(&s.kv), s.pos, tokens, all ? SequenceSlice::Logits::All : SequenceSlice::Logits::Last};
    check_batch(std::span<const SequenceSlice>(&one, 1), logits);
  }
  /// Common argument checks of forward_batch().
  void check_batch(std::span<const SequenceSlice> seqs, std::span<const float> logits) const {
    const auto& c = config();
    if (seqs.empty()) throw ConfigError("forward: no sequences given");
    for (std::size_t i = 0; i < seqs.size(); ++i) {
      const auto& q = seqs[i];
      const std::string who = seqs.size() > 1 ? "sequence " + std::to_string(i) + ": " : "";
      if (q.tokens.empty()) throw ConfigError("forward: " + who + "no tokens given");
      if (!q.kv) throw ConfigError("forward: " + who + "no KV cache given");
      if (q.pos + q.tokens.size() > q.kv->capacity())
        throw ConfigError(who + "the input needs " + std::to_string(q.pos + q.tokens.size()) + " positions but the context holds " +
                          std::to_string(q.kv->capacity()) + " (raise --ctx, up to the model's " + std::to_string(c.context_len) + ")");
      for (int32_t id : q.tokens)
        if (id < 0 || static_cast<std::size_t>(id) >= c.vocab_size)
          throw ConfigError(who + "token id " + std::to_string(id) + " is outside the vocabulary of " + std::to_string(c.vocab_size));
      for (std::size_t j = 0; j < i; ++j)
        if (seqs[j].kv == q.kv) throw ConfigError("forward: sequences " + std::to_string(j) + " and " + std::to_string(i) + " share a KV cache");
    }
    const std::size_t want = logits_rows(seqs) * c.vocab_size;
    if (logits.size() != want)
      throw ShapeError("forward: logits buffer holds " + std::to_string(logits.size()) + " floats, expected " + std::to_string(want));
  }
  /// The checks of forward() that concern the tokens: not empty, in the vocabulary, fitting the context.
  void check_tokens(const Session& s, std::span<const int32_t> tokens) const {
    const SequenceSlice one{const_cast<KvCache*>(&s.kv), s.pos, tokens, SequenceSlice::Logits::None};
    check_batch(std::span<const SequenceSlice>(&one, 1), {});
  }

 private:
  std::shared_ptr<const tokenizer::Tokenizer> tokenizer_;
};

}  // namespace llmforge
