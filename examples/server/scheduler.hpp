// SPDX-License-Identifier: MIT
// The server's scheduler: N slots, each running one sequence; every step advances all running
// sequences by one forward pass (prefill or one token), and requests join and leave between steps.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <llmforge/llmforge.hpp>

namespace llmforge::server {

/// One forward pass of one slot in a step: `tokens` at the slot's next positions, logits of the last
/// token into `logits` (vocab_size floats).
struct ForwardItem {
  std::size_t slot = 0;
  std::span<const int32_t> tokens;
  std::span<float> logits;
};

/// What the scheduler needs from the inference engine: per-slot KV state and one call that advances
/// several slots at once. `BatchEngine` (the server's) runs all items in one batched pass;
/// `SessionEngine` runs one Session per slot, in turn (a reference for tests).
class ForwardEngine {
 public:
  virtual ~ForwardEngine() = default;
  [[nodiscard]] virtual std::size_t slot_count() const = 0;
  /// Positions the slot's cache holds.
  [[nodiscard]] virtual std::size_t capacity(std::size_t slot) const = 0;
  /// Tokens already in the slot's cache.
  [[nodiscard]] virtual std::size_t position(std::size_t slot) const = 0;
  /// Keeps only the first `pos` cached tokens (`pos <= position(slot)`): prefix reuse.
  virtual void truncate(std::size_t slot, std::size_t pos) = 0;
  /// Runs every item (each slot at most once). @throws ConfigError as Model::forward.
  virtual void forward(std::span<const ForwardItem> items) = 0;
};

/// One Session (KV cache + thread pool) per slot; forward() runs the items one after another.
class SessionEngine final : public ForwardEngine {
 public:
  SessionEngine(std::shared_ptr<const Model> model, std::size_t slots, const SessionOptions& opt) : model_(std::move(model)) {
    // One thread pool for all slots: they run one at a time, so separate pools would only idle.
    for (std::size_t i = 0; i < slots; ++i) {
      sessions_.push_back(model_->new_session(opt));
      if (i) sessions_.back().pool = sessions_.front().pool;
    }
  }
  [[nodiscard]] std::size_t slot_count() const override { return sessions_.size(); }
  [[nodiscard]] std::size_t capacity(std::size_t slot) const override { return sessions_.at(slot).kv.capacity(); }
  [[nodiscard]] std::size_t position(std::size_t slot) const override { return sessions_.at(slot).pos; }
  void truncate(std::size_t slot, std::size_t pos) override {
    auto& s = sessions_.at(slot);
    s.pos = std::min(s.pos, pos);
  }
  void forward(std::span<const ForwardItem> items) override {
    for (const auto& it : items) model_->forward(sessions_.at(it.slot), it.tokens, it.logits);
  }

 private:
  std::shared_ptr<const Model> model_;
  std::vector<Session> sessions_;
};

/// One KV cache per slot and one batched pass per step: every item's tokens share each matrix
/// product (Model::forward_batch), attention reads each slot's own cache. What makes N concurrent
/// requests cost little more than one on a bandwidth-bound CPU.
class BatchEngine final : public ForwardEngine {
 public:
  BatchEngine(std::shared_ptr<const Model> model, std::size_t slots, const SessionOptions& opt)
      : model_(std::move(model)), scratch_(opt.threads) {
    const auto& c = model_->config();
    const std::size_t ctx = opt.context ? opt.context : std::min<std::size_t>(c.context_len, 4096);
    if (ctx > c.context_len)
      throw ConfigError("context size " + std::to_string(ctx) + " exceeds the model's context length " + std::to_string(c.context_len));
    for (std::size_t i = 0; i < slots; ++i) caches_.emplace_back(c, ctx, model_->kv_options(opt));
    pos_.assign(slots, 0);
  }
  [[nodiscard]] std::size_t slot_count() const override { return caches_.size(); }
  [[nodiscard]] std::size_t capacity(std::size_t slot) const override { return caches_.at(slot).capacity(); }
  [[nodiscard]] std::size_t position(std::size_t slot) const override { return pos_.at(slot); }
  void truncate(std::size_t slot, std::size_t pos) override { pos_.at(slot) = std::min(pos_.at(slot), pos); }
  void forward(std::span<const ForwardItem> items) override {
    const std::size_t V = model_->config().vocab_size;
    slices_.clear();
    for (const auto& it : items) slices_.push_back(SequenceSlice{&caches_.at(it.slot), pos_[it.slot], it.tokens, SequenceSlice::Logits::Last});
    logits_.resize(items.size() * V);
    model_->forward_batch(slices_, scratch_, logits_);
    for (std::size_t i = 0; i < items.size(); ++i) {
      std::copy(logits_.begin() + static_cast<std::ptrdiff_t>(i * V), logits_.begin() + static_cast<std::ptrdiff_t>((i + 1) * V),
                items[i].logits.begin());
      pos_[items[i].slot] += items[i].tokens.size();
    }
  }

 private:
  std::shared_ptr<const Model> model_;
  BatchScratch scratch_;
  std::vector<KvCache> caches_;
  std::vector<std::size_t> pos_;
  std::vector<SequenceSlice> slices_;
  std::vector<float> logits_;
};

/// Per-token data delivered to a request.
struct TokenEvent {
  std::size_t choice = 0;
  int32_t id = -1;
  std::string text;                       ///< text that became final with this token (may be empty)
  std::optional<StepLogprobs> logprobs;   ///< when the request asked for them
};

/// How one choice ended.
struct ChoiceResult {
  std::size_t choice = 0;
  std::string text;
  std::vector<int32_t> tokens;
  std::vector<StepLogprobs> logprobs;
  StopReason reason = StopReason::MaxTokens;
  std::string error;  ///< non-empty when the sequence failed (the reason is then Cancelled)
};

/// A generation request as the scheduler runs it: `n` choices of a continuation of `prompt`, one after
/// another in the same slot (the second reuses the cached prompt). Callbacks run on the scheduler
/// thread and must not block.
struct Job {
  std::vector<int32_t> prompt;
  std::size_t n = 1;
  SamplerConfig sampler;
  uint64_t seed = 0;                      ///< choice i uses seed + i
  std::size_t logprobs_top = 0;
  bool logprobs = false;
  StopConditions stop;                    ///< max tokens, stop strings, deadline, cancel token
  std::function<void()> on_start;         ///< the job got a slot (prefill begins)
  std::function<void(const TokenEvent&)> on_token;
  std::function<void(const ChoiceResult&)> on_choice_done;
  std::function<void()> on_done;          ///< after the last choice (always called once, also on errors)

  // Filled in by the scheduler:
  std::size_t cached_prompt_tokens = 0;   ///< prompt tokens found in the slot's cache (not processed again)
  // (atomics: the HTTP thread reads them while the job runs)
  std::atomic<std::chrono::steady_clock::time_point> submitted{}, started{}, first_token{};
};

/// Counters the /metrics endpoint exports.
struct SchedulerStats {
  std::size_t slots = 0, active = 0, queued = 0, last_batch = 0;
  uint64_t steps = 0, prompt_tokens = 0, cached_prompt_tokens = 0, generated_tokens = 0, rejected = 0;
};

/// Runs Jobs on a ForwardEngine's slots from its own thread. submit() is thread-safe.
class Scheduler {
 public:
  struct Options {
    std::size_t queue = 16;  ///< jobs waiting for a slot; submit() refuses more
  };

  Scheduler(std::shared_ptr<const Model> model, std::unique_ptr<ForwardEngine> engine, Options opt)
      : model_(std::move(model)), engine_(std::move(engine)), opt_(opt), slots_(engine_->slot_count()) {
    for (auto& s : slots_) s.logits.resize(model_->config().vocab_size);
    thread_ = std::thread([this] { run(); });
  }
  ~Scheduler() { stop(); }
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  /// Queues `job`; false when the queue is full (the caller answers 503) or the scheduler stopped.
  bool submit(std::shared_ptr<Job> job) {
    {
      std::lock_guard lock(mu_);
      if (stopping_ || queue_.size() >= opt_.queue) {
        ++rejected_;
        return false;
      }
      job->submitted = std::chrono::steady_clock::now();
      queue_.push_back(std::move(job));
    }
    cv_.notify_one();
    return true;
  }

  /// Cancels everything running or queued and joins the thread (each job's on_done is called).
  void stop() {
    {
      std::lock_guard lock(mu_);
      if (stopping_ && !thread_.joinable()) return;
      stopping_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
  }

  [[nodiscard]] SchedulerStats stats() const {
    std::lock_guard lock(mu_);
    SchedulerStats s;
    s.slots = slots_.size();
    s.queued = queue_.size();
    s.active = active_.load();
    s.last_batch = last_batch_.load();
    s.steps = steps_.load();
    s.prompt_tokens = prompt_tokens_.load();
    s.cached_prompt_tokens = cached_tokens_.load();
    s.generated_tokens = generated_.load();
    s.rejected = rejected_;
    return s;
  }

 private:
  struct Slot {
    std::shared_ptr<Job> job;
    std::vector<int32_t> cached;  ///< the tokens in this slot's KV cache, in order
    std::vector<float> logits;
    std::size_t choice = 0;
    std::optional<SamplerChain> sampler;
    std::optional<StopTracker> tracker;
    ChoiceResult result;
    std::vector<int32_t> pending;  ///< what the next forward pass feeds
    bool prefilled = false;
  };

  static std::size_t common_prefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
    std::size_t i = 0;
    while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
    return i;
  }

  void run() {
    std::vector<ForwardItem> items;
    std::vector<std::size_t> admitted;
    for (;;) {
      admitted.clear();
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stopping_ || !queue_.empty() || active_.load() > 0; });
        if (stopping_) break;
        admit(admitted);
      }
      for (std::size_t i : admitted)  // outside the lock: a callback may take its time
        if (slots_[i].job && slots_[i].job->on_start) slots_[i].job->on_start();
      items.clear();
      for (std::size_t i = 0; i < slots_.size(); ++i) prepare(i, items);
      last_batch_ = items.size();
      if (items.empty()) continue;
      try {
        engine_->forward(items);
      } catch (const std::exception& e) {
        for (const auto& it : items) fail(it.slot, e.what());
        continue;
      }
      ++steps_;
      for (const auto& it : items) after_forward(it.slot);
    }
    // Shutting down: finish what runs and what waits as cancelled.
    for (std::size_t i = 0; i < slots_.size(); ++i)
      if (slots_[i].job) fail(i, "the server is shutting down");
    std::deque<std::shared_ptr<Job>> rest;
    {
      std::lock_guard lock(mu_);
      rest.swap(queue_);
    }
    for (auto& j : rest) {
      ChoiceResult r;
      r.reason = StopReason::Cancelled;
      r.error = "the server is shutting down";
      if (j->on_choice_done) j->on_choice_done(r);
      if (j->on_done) j->on_done();
    }
  }

  /// Moves queued jobs into free slots, each into the free slot whose cache shares the longest prefix.
  void admit(std::vector<std::size_t>& admitted) {
    while (!queue_.empty()) {
      std::size_t best = slots_.size(), best_len = 0;
      for (std::size_t i = 0; i < slots_.size(); ++i) {
        if (slots_[i].job) continue;
        const std::size_t len = common_prefix(slots_[i].cached, queue_.front()->prompt);
        if (best == slots_.size() || len > best_len) best = i, best_len = len;
      }
      if (best == slots_.size()) return;
      auto job = std::move(queue_.front());
      queue_.pop_front();
      job->started = std::chrono::steady_clock::now();
      slots_[best].job = std::move(job);
      ++active_;
      start_choice(best, 0);
      admitted.push_back(best);
    }
  }

  void start_choice(std::size_t i, std::size_t choice) {
    auto& s = slots_[i];
    const auto& job = *s.job;
    s.choice = choice;
    s.result = ChoiceResult{};
    s.result.choice = choice;
    s.prefilled = false;
    SamplerChain chain(job.sampler);
    chain.seed(job.seed + choice);
    if (job.logprobs) chain.logprobs(job.logprobs_top, LogprobSource::Model);
    for (int32_t id : job.prompt) chain.accept(id);
    s.sampler.emplace(std::move(chain));
    const tokenizer::Tokenizer* tok = model_->has_tokenizer() ? &model_->tokenizer() : nullptr;
    s.tracker.emplace(job.stop, tok, job.prompt);
    // Reuse the cached prefix, but always run at least the last prompt token (its logits are needed).
    const std::size_t reuse = std::min(common_prefix(s.cached, job.prompt), job.prompt.size() - 1);
    engine_->truncate(i, reuse);
    s.cached.resize(reuse);
    if (choice == 0) {
      s.job->cached_prompt_tokens = reuse;
      prompt_tokens_ += job.prompt.size();
      cached_tokens_ += reuse;
    }
    s.pending.assign(job.prompt.begin() + static_cast<std::ptrdiff_t>(reuse), job.prompt.end());
  }

  /// Adds slot `i`'s next forward pass to `items`, or finishes the choice if it must stop first.
  void prepare(std::size_t i, std::vector<ForwardItem>& items) {
    auto& s = slots_[i];
    if (!s.job) return;
    if (auto why = s.tracker->before_step()) return finish_choice(i, *why);
    if (engine_->position(i) + s.pending.size() > engine_->capacity(i)) return finish_choice(i, StopReason::ContextFull);
    items.push_back(ForwardItem{i, s.pending, s.logits});
  }

  /// Samples slot `i`'s next token from the logits its forward pass produced.
  void after_forward(std::size_t i) {
    auto& s = slots_[i];
    s.cached.insert(s.cached.end(), s.pending.begin(), s.pending.end());
    s.prefilled = true;
    if (auto why = s.tracker->before_step()) return finish_choice(i, *why);
    const int32_t id = s.sampler->sample(s.logits);
    if (s.choice == 0 && s.result.tokens.empty()) s.job->first_token = std::chrono::steady_clock::now();
    std::string piece;
    const auto why = s.tracker->on_token(id, piece);
    if (why == StopReason::EndOfSequence || why == StopReason::StopToken) return finish_choice(i, *why);
    ++generated_;
    s.result.tokens.push_back(id);
    TokenEvent ev;
    ev.choice = s.choice;
    ev.id = id;
    if (const StepLogprobs* lp = s.sampler->last_logprobs()) {
      ev.logprobs = *lp;
      s.result.logprobs.push_back(*lp);
    }
    s.result.text += piece;
    ev.text = std::move(piece);
    if (s.job->on_token) s.job->on_token(ev);
    if (why) return finish_choice(i, *why);
    if (s.tracker->generated() >= s.job->stop.max_tokens) return finish_choice(i, StopReason::MaxTokens);
    if (engine_->position(i) >= engine_->capacity(i)) return finish_choice(i, StopReason::ContextFull);
    s.pending.assign(1, id);
  }

  void finish_choice(std::size_t i, StopReason reason) {
    auto& s = slots_[i];
    std::string rest;
    if (s.tracker->finish(rest)) reason = StopReason::StopString;
    if (!rest.empty()) {
      s.result.text += rest;
      TokenEvent ev;
      ev.choice = s.choice;
      ev.text = std::move(rest);
      if (s.job->on_token) s.job->on_token(ev);
    }
    s.result.reason = reason;
    if (s.job->on_choice_done) s.job->on_choice_done(s.result);
    const bool more = reason != StopReason::Cancelled && reason != StopReason::Deadline && s.choice + 1 < s.job->n;
    if (more) return start_choice(i, s.choice + 1);
    release(i);
  }

  void fail(std::size_t i, const std::string& what) {
    auto& s = slots_[i];
    s.result.reason = StopReason::Cancelled;
    s.result.error = what;
    if (s.job->on_choice_done) s.job->on_choice_done(s.result);
    // The cache state is unknown after a failed pass: forget it.
    engine_->truncate(i, 0);
    s.cached.clear();
    release(i);
  }

  void release(std::size_t i) {
    auto& s = slots_[i];
    auto job = std::move(s.job);
    s.job.reset();
    s.tracker.reset();
    s.sampler.reset();
    --active_;
    if (job->on_done) job->on_done();
  }

  std::shared_ptr<const Model> model_;
  std::unique_ptr<ForwardEngine> engine_;
  Options opt_;
  std::vector<Slot> slots_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Job>> queue_;
  bool stopping_ = false;
  uint64_t rejected_ = 0;
  std::atomic<std::size_t> active_{0}, last_batch_{0};
  std::atomic<uint64_t> steps_{0}, prompt_tokens_{0}, cached_tokens_{0}, generated_{0};
  std::thread thread_;
};

}  // namespace llmforge::server
