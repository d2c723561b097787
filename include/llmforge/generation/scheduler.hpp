// SPDX-License-Identifier: MIT
// Scheduler: a thread that drives a Batch (continuous batching) for requests submitted from any
// thread, with a bounded queue, cancellation through each request's CancelToken, and counters for
// metrics. What an HTTP server puts between its handler threads and the model.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <llmforge/generation/batch.hpp>

namespace llmforge {

struct SchedulerOptions {
  BatchOptions batch;          ///< slots, context / memory budget, threads, rows per pass
  std::size_t max_queue = 64;  ///< requests waiting for a slot beyond which submit() refuses
};

/// Runs submitted requests in a Batch on its own thread. Callbacks (`on_text`, `on_done`, `on_error`)
/// run on that thread, one request at a time; they must not block for long (hand the data to the
/// request's own thread). Destroying the scheduler cancels what is still running and waits for it.
class Scheduler {
 public:
  struct Request {
    std::vector<int32_t> prompt;
    GenerateOptions options;  ///< `options.cancel` ends it from any thread (checked between steps)
    OnText on_text;
    std::function<void(GenerationResult&&)> on_done;
    std::function<void(std::exception_ptr)> on_error;  ///< the request was refused (e.g. too long for a slot)
  };
  struct Stats {
    std::size_t queued = 0, running = 0, slots = 0;
    uint64_t submitted = 0, completed = 0, rejected = 0;  ///< rejected: refused because the queue was full
    uint64_t steps = 0, rows = 0;                         ///< forward passes, and sequences in them summed
    uint64_t tokens = 0;                                  ///< tokens generated
  };

  /// @throws ConfigError for invalid batch options.
  Scheduler(std::shared_ptr<const Model> model, const SchedulerOptions& opt = {})
      : batch_(std::move(model), opt.batch), max_queue_(opt.max_queue), thread_([this] { loop(); }) {}

  ~Scheduler() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  /// Queues a request; false when the queue is full (answer 503 / retry later). Validation errors
  /// of the request arrive through its `on_error`.
  bool submit(Request r) {
    {
      std::lock_guard lock(mu_);
      if (stopping_ || incoming_.size() + batch_waiting_ >= max_queue_) {
        ++stats_.rejected;
        return false;
      }
      incoming_.push_back(std::move(r));
      ++stats_.submitted;
    }
    cv_.notify_all();
    return true;
  }

  [[nodiscard]] Stats stats() const {
    std::lock_guard lock(mu_);
    Stats s = stats_;
    s.queued = incoming_.size() + batch_waiting_;
    s.running = batch_running_;
    s.slots = batch_.slots();
    return s;
  }
  /// Positions each slot holds (the longest prompt + output a request can have).
  [[nodiscard]] std::size_t slot_capacity() const noexcept { return batch_.slot_capacity(); }
  [[nodiscard]] const Model& model() const noexcept { return batch_.model(); }

 private:
  void loop() {
    std::vector<Request> fresh;
    for (;;) {
      bool stop = false;
      {
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, std::chrono::milliseconds(batch_.idle() ? 50 : 0),
                     [&] { return stopping_ || !incoming_.empty() || !batch_.idle(); });
        if (stopping_ && batch_.idle() && incoming_.empty()) return;
        stop = stopping_;
        fresh.assign(std::make_move_iterator(incoming_.begin()), std::make_move_iterator(incoming_.end()));
        incoming_.clear();
      }
      for (auto& r : fresh) {
        if (stop) r.options.cancel.request_stop();
        try {
          auto done = std::move(r.on_done);
          batch_.add(r.prompt, std::move(r.options), std::move(r.on_text),
                     [this, done = std::move(done)](Batch::SequenceId, GenerationResult&& res) {
                       {
                         std::lock_guard lock(mu_);
                         ++stats_.completed;
                         stats_.tokens += res.tokens.size();
                       }
                       if (done) done(std::move(res));
                     });
        } catch (...) {
          if (r.on_error) r.on_error(std::current_exception());
        }
      }
      fresh.clear();
      if (stop) cancel_all_running();
      if (!batch_.idle()) {
        const std::size_t before = batch_.running();
        batch_.step();
        std::lock_guard lock(mu_);
        ++stats_.steps;
        stats_.rows += before;
      }
      std::lock_guard lock(mu_);
      batch_waiting_ = batch_.waiting();
      batch_running_ = batch_.running();
    }
  }
  void cancel_all_running() {
    for (Batch::SequenceId id : batch_.sequence_ids()) batch_.cancel(id);
  }

  Batch batch_;
  std::size_t max_queue_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Request> incoming_;
  std::size_t batch_waiting_ = 0, batch_running_ = 0;
  Stats stats_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts after everything it uses exists
};

}  // namespace llmforge
