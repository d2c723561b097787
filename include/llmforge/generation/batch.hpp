// SPDX-License-Identifier: MIT
// Batch: many independent sequences advanced together, one forward pass per step over all of their
// new tokens (prompt chunks and single decode tokens mixed), with sequences joining and leaving
// between steps. This is the engine a server's scheduler drives (continuous batching).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <llmforge/core/error.hpp>
#include <llmforge/generation/generator.hpp>
#include <llmforge/kv/kv_cache.hpp>
#include <llmforge/models/model.hpp>

namespace llmforge {

/// Sizes of a Batch.
struct BatchOptions {
  std::size_t slots = 4;          ///< sequences that run at once (each has a KV cache slot); more wait
  /// Positions per slot. 0: as many as `memory_budget` allows, else the model's context (at most 4096).
  std::size_t context = 0;
  std::size_t memory_budget = 0;  ///< bytes for all slots' KV caches together (0: no budget)
  std::size_t threads = 0;        ///< 0 = all hardware threads
  std::size_t max_pass_tokens = 512;  ///< rows per forward pass; longer prompts are run in chunks
  std::optional<KvType> cache_type_k, cache_type_v;  ///< unset: the model's default (F16)
};

/// Independent sequences, each with its own sampler, stop conditions and KV cache slot, advanced by
/// one forward pass per step(). add() queues a sequence; it joins at the next step that has a free
/// slot, taking the slot whose cached tokens share the longest prefix with its prompt (so requests
/// with a common system prompt or conversation reuse it). A finished or cancelled sequence leaves
/// at the end of its step and its result is kept until take() (or handed to its `on_done`).
///
/// Results equal running each sequence alone with a Generator, up to floating-point summation order:
/// the matrix products see more rows in a batch, and a kernel's blocking over rows can change how a
/// row's sums are grouped (not the case for the row-independent CPU kernels today). Greedy tokens
/// could then differ only at a near-tie of the top two logits (~1e-6); the tests compare greedy
/// outputs token for token.
///
/// Not thread-safe: one thread (a scheduler) calls add/cancel/step; callbacks run on that thread.
class Batch {
 public:
  using SequenceId = uint64_t;
  using OnDone = std::function<void(SequenceId, GenerationResult&&)>;

  /// @throws ConfigError if the options do not fit the model (no slots, context too large, a budget
  ///         too small for one position per slot).
  Batch(std::shared_ptr<const Model> model, const BatchOptions& opt = {})
      : model_(std::move(model)), opt_(opt), scratch_(opt.threads) {
    const auto& c = model_->config();
    if (opt.slots == 0 || opt.slots > 1024) throw ConfigError("batch: slots must be between 1 and 1024 (got " + std::to_string(opt.slots) + ")");
    if (opt.max_pass_tokens == 0) throw ConfigError("batch: max_pass_tokens must be at least 1");
    const KvOptions kv = model_->kv_options(SessionOptions{0, 0, opt.cache_type_k, opt.cache_type_v});
    std::size_t ctx = opt.context ? opt.context : std::min<std::size_t>(c.context_len, 4096);
    if (opt.memory_budget) {
      const std::size_t fit = KvCache::capacity_for_budget(c, opt.memory_budget / opt.slots, kv);
      if (fit < 2)
        throw ConfigError("batch: a memory budget of " + std::to_string(opt.memory_budget) + " bytes holds " + std::to_string(fit) +
                          " positions per slot for " + std::to_string(opt.slots) + " slots (" +
                          std::to_string(KvCache::bytes_for(c, 1, kv)) + " bytes per position); raise the budget or use fewer slots");
      if (opt.context && opt.context > fit)
        throw ConfigError("batch: " + std::to_string(opt.slots) + " slots of " + std::to_string(opt.context) + " positions need " +
                          std::to_string(opt.slots * KvCache::bytes_for(c, opt.context, kv)) + " bytes, the budget is " +
                          std::to_string(opt.memory_budget));
      if (!opt.context) ctx = std::min(ctx, fit);
    }
    if (ctx > c.context_len)
      throw ConfigError("batch: context size " + std::to_string(ctx) + " exceeds the model's context length " + std::to_string(c.context_len));
    slots_.reserve(opt.slots);
    for (std::size_t i = 0; i < opt.slots; ++i) slots_.push_back(Slot{KvCache(c, ctx, kv), {}, nullptr});
    logits_.resize(c.vocab_size);
  }

  [[nodiscard]] const Model& model() const noexcept { return *model_; }
  /// Positions each slot holds.
  [[nodiscard]] std::size_t slot_capacity() const noexcept { return slots_.front().kv.capacity(); }
  [[nodiscard]] std::size_t slots() const noexcept { return slots_.size(); }
  /// Sequences running (in a slot) and waiting for one.
  [[nodiscard]] std::size_t running() const noexcept { return running_.size(); }
  [[nodiscard]] std::size_t waiting() const noexcept { return waiting_.size(); }
  [[nodiscard]] bool idle() const noexcept { return running_.empty() && waiting_.empty(); }
  /// KV cache bytes of all slots.
  [[nodiscard]] std::size_t kv_bytes() const {
    return slots_.size() * KvCache::bytes_for(model_->config(), slot_capacity(), slots_.front().kv.options());
  }

  /// Queues a sequence. `on_text` streams its text; `on_done` receives its result (else take() it).
  /// @throws ConfigError if the prompt is empty or it cannot fit a slot (with the numbers), or the
  ///         sampler settings are invalid.
  SequenceId add(std::span<const int32_t> prompt, GenerateOptions opt, OnText on_text = {}, OnDone on_done = {}) {
    if (prompt.size() >= slot_capacity())
      throw ConfigError("the prompt has " + std::to_string(prompt.size()) + " tokens but a batch slot holds " +
                        std::to_string(slot_capacity()) + " positions; shorten it or give the batch a larger context or budget");
    if (opt.drafter) throw ConfigError("batch: speculative decoding (a drafter) is not supported in batches; use a Generator");
    const tokenizer::Tokenizer* tok = model_->has_tokenizer() ? &model_->tokenizer() : nullptr;
    waiting_.push_back(std::unique_ptr<Seq>(new Seq{next_id_++, {prompt.begin(), prompt.end()},
                                                    SequenceRun(prompt, std::move(opt), std::move(on_text), tok, binder_),
                                                    std::move(on_done)}));
    return waiting_.back()->id;
  }

  /// Ends a sequence between steps (its result says Cancelled). Returns false if it is unknown or done.
  bool cancel(SequenceId id) {
    for (auto it = waiting_.begin(); it != waiting_.end(); ++it)
      if ((*it)->id == id) {
        (*it)->run.end(StopReason::Cancelled);
        auto seq = std::move(*it);
        waiting_.erase(it);
        complete(*seq);
        return true;
      }
    for (auto& s : running_)
      if (s->id == id && !s->run.done()) {
        s->run.end(StopReason::Cancelled);
        return true;
      }
    return false;
  }

  /// Every sequence not finished yet (running or waiting).
  [[nodiscard]] std::vector<SequenceId> sequence_ids() const {
    std::vector<SequenceId> ids;
    for (const auto& s : running_) ids.push_back(s->id);
    for (const auto& s : waiting_) ids.push_back(s->id);
    return ids;
  }

  /// The result of a finished sequence that had no `on_done` (once).
  std::optional<GenerationResult> take(SequenceId id) {
    auto it = results_.find(id);
    if (it == results_.end()) return std::nullopt;
    auto r = std::move(it->second);
    results_.erase(it);
    return r;
  }

  /// One step: admits waiting sequences to free slots, runs one forward pass over every running
  /// sequence's next tokens (the next chunk of a prompt, or the last sampled token), samples, and
  /// retires the sequences that ended. Returns the number of sequences still running or waiting.
  std::size_t step() {
    admit();
    retire();  // sequences cancelled or past their deadline before they ran
    if (running_.empty()) return waiting_.size();
    slices_.clear();
    rows_.clear();
    std::size_t budget = opt_.max_pass_tokens;
    // Decoding sequences first (one row each), then prompt chunks in the rows left.
    for (int phase = 0; phase < 2; ++phase)
      for (auto& s : running_) {
        if (s->run.done() || (phase == 0) != s->prefilled || budget == 0) continue;
        if (s->run.before_step()) continue;
        Slot& slot = slots_[s->slot];
        std::span<const int32_t> tokens;
        bool last = true;
        if (s->prefilled) {
          tokens = std::span<const int32_t>(&s->pending, 1);
        } else {
          const std::size_t left = s->prompt.size() - s->fed, n = std::min(left, budget);
          tokens = std::span<const int32_t>(s->prompt).subspan(s->fed, n);
          last = n == left;
        }
        budget -= tokens.size();
        slices_.push_back(SequenceSlice{&slot.kv, slot.cached.size(), tokens, last ? SequenceSlice::Logits::Last : SequenceSlice::Logits::None});
        rows_.push_back(s.get());
      }
    if (!slices_.empty()) {
      const std::size_t V = model_->config().vocab_size, rows = Model::logits_rows(slices_);
      if (logits_.size() < rows * V) logits_.resize(rows * V);
      model_->forward_batch(slices_, scratch_, std::span<float>(logits_.data(), rows * V));
      std::size_t row = 0;
      for (std::size_t i = 0; i < slices_.size(); ++i) {
        Seq& s = *rows_[i];
        Slot& slot = slots_[s.slot];
        slot.cached.insert(slot.cached.end(), slices_[i].tokens.begin(), slices_[i].tokens.end());
        if (!s.prefilled) {
          s.fed += slices_[i].tokens.size();
          if (s.fed < s.prompt.size()) continue;
          s.prefilled = true;
          s.decode_start = Clock::now();
          s.run.result().prompt_seconds = std::chrono::duration<double>(s.decode_start - s.prefill_start).count();
        }
        const int32_t id = s.run.sample_and_take(std::span<const float>(logits_.data() + row * V, V));
        ++row;
        if (s.run.done()) continue;
        if (slot.cached.size() >= slot.kv.capacity()) {
          s.run.end(StopReason::ContextFull);
          continue;
        }
        s.pending = id;
      }
    }
    retire();
    return running_.size() + waiting_.size();
  }

  /// Steps until every sequence has finished.
  void run_until_done() {
    while (step() > 0) {
    }
  }

 private:
  using Clock = std::chrono::steady_clock;
  struct Slot {
    KvCache kv;
    std::vector<int32_t> cached;  ///< the tokens at its positions 0 .. size - 1 (kept after a sequence leaves)
    const void* owner;            ///< the running sequence, or nullptr when free
  };
  struct Seq {
    SequenceId id;
    std::vector<int32_t> prompt;
    SequenceRun run;
    OnDone on_done;
    std::size_t slot = 0;
    std::size_t fed = 0;  ///< prompt tokens in the slot's cache
    bool prefilled = false;
    int32_t pending = -1;  ///< the last sampled token, to run in the next step
    Clock::time_point prefill_start{}, decode_start{};
  };

  /// Moves waiting sequences into free slots, each to the free slot sharing the longest prefix.
  void admit() {
    while (!waiting_.empty()) {
      auto& s = waiting_.front();
      if (s->run.before_step()) {  // cancelled or past its deadline while waiting
        auto seq = std::move(s);
        waiting_.pop_front();
        complete(*seq);
        continue;
      }
      std::size_t best = slots_.size(), best_len = 0;
      for (std::size_t i = 0; i < slots_.size(); ++i) {
        if (slots_[i].owner) continue;
        const std::size_t len = common_prefix(slots_[i].cached, s->prompt);
        if (best == slots_.size() || len > best_len) best = i, best_len = len;
      }
      if (best == slots_.size()) return;  // no free slot
      Slot& slot = slots_[best];
      const std::size_t keep = s->run.options().reuse_prefix ? std::min(best_len, s->prompt.size() - 1) : 0;
      slot.cached.resize(keep);
      slot.owner = s.get();
      s->slot = best;
      s->fed = keep;
      s->run.result().prompt_cached = keep;
      s->prefill_start = Clock::now();
      running_.push_back(std::move(s));
      waiting_.pop_front();
    }
  }

  /// Completes the running sequences that ended and frees their slots (their tokens stay cached).
  void retire() {
    for (auto it = running_.begin(); it != running_.end();) {
      Seq& s = **it;
      if (!s.run.done()) {
        ++it;
        continue;
      }
      Slot& slot = slots_[s.slot];
      slot.owner = nullptr;
      auto seq = std::move(*it);
      it = running_.erase(it);
      complete(*seq);
    }
  }

  void complete(Seq& s) {
    auto& r = s.run.finish();
    if (s.prefilled) r.generate_seconds = std::chrono::duration<double>(Clock::now() - s.decode_start).count();
    if (s.on_done) s.on_done(s.id, std::move(r));
    else results_.emplace(s.id, std::move(r));
  }

  std::shared_ptr<const Model> model_;
  BatchOptions opt_;
  BatchScratch scratch_;
  std::vector<Slot> slots_;
  std::deque<std::unique_ptr<Seq>> waiting_;
  std::vector<std::unique_ptr<Seq>> running_;
  std::map<SequenceId, GenerationResult> results_;
  std::vector<SequenceSlice> slices_;
  std::vector<Seq*> rows_;
  std::vector<float> logits_;
  VocabularyBinder binder_;
  SequenceId next_id_ = 1;
};

}  // namespace llmforge
