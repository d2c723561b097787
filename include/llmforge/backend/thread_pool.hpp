// SPDX-License-Identifier: MIT
// A persistent worker pool for data-parallel loops: workers spin briefly, then sleep, between jobs;
// chunks are claimed dynamically, so a thread that the OS deschedules does not stall the others.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include <llmforge/core/error.hpp>

namespace llmforge {

/// Runs `fn(begin, end, thread_index)` over disjoint chunks of `[0, n)` on a fixed set of threads (the
/// caller participates as thread 0). One job runs at a time; `parallel_for` returns when every chunk
/// is done. A thread may run several chunks of one job, always with its own `thread_index`
/// (< size()), so per-thread scratch indexed by it is never shared. Exceptions thrown by a chunk are
/// rethrown in the caller (the first one wins).
class ThreadPool {
 public:
  /// Creates a pool with `threads` threads in total (including the caller); 0 means the hardware count.
  /// @throws ConfigError if `threads` is larger than 1024.
  explicit ThreadPool(std::size_t threads = 0) {
    if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
    if (threads > 1024) throw ConfigError("thread count " + std::to_string(threads) + " is too large (at most 1024)");
    for (std::size_t i = 1; i < threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
  }
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;
  ~ThreadPool() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
  }

  /// Number of threads that execute chunks (workers + caller).
  [[nodiscard]] std::size_t size() const noexcept { return workers_.size() + 1; }

  /// Splits `[0, n)` into contiguous chunks of at least `grain` items (up to 4 per thread, claimed
  /// dynamically) and runs `fn(begin, end, thread_index)` on them in parallel.
  template <class Fn>
  void parallel_for(std::size_t n, Fn&& fn, std::size_t grain = 1) {
    if (n == 0) return;
    const std::size_t max_chunks = std::max<std::size_t>(1, n / std::max<std::size_t>(grain, 1));
    const std::size_t chunks = std::min(size() == 1 ? std::size_t{1} : size() * kChunksPerThread, max_chunks);
    if (chunks == 1) {
      fn(std::size_t{0}, n, std::size_t{0});
      return;
    }
    auto task = [&](std::size_t c, std::size_t thread) {
      const std::size_t b = n * c / chunks, e = n * (c + 1) / chunks;
      if (b < e) fn(b, e, thread);
    };
    run(chunks, task);
  }

 private:
  static constexpr std::size_t kChunksPerThread = 4;
  static constexpr int kSpinIterations = 20000;

  template <class Task>
  void run(std::size_t chunks, Task& task) {
    job_ = [&task](std::size_t c, std::size_t thread) { task(c, thread); };
    chunks_.store(chunks, std::memory_order_relaxed);
    error_ = nullptr;
    done_.store(0, std::memory_order_relaxed);
    const uint64_t gen = ++generation_ & 0xFFFFFFFFu;  // 32-bit job tag, wraps
    claim_.store(gen << 32, std::memory_order_release);  // publishes job_, chunks_ with the new generation
    {
      std::lock_guard lock(mu_);
      published_ = gen;
    }
    cv_.notify_all();
    work_on(gen, 0);
    // Wait for chunks other threads claimed: spin a little (jobs are short), then yield.
    for (int spins = 0; done_.load(std::memory_order_acquire) != chunks; ++spins)
      if (spins > 2000) std::this_thread::yield();
    if (error_) std::rethrow_exception(error_);
  }

  // Claims and runs chunks of job `gen` until none is left or the job is over.
  void work_on(uint64_t gen, std::size_t thread) {
    for (;;) {
      uint64_t v = claim_.load(std::memory_order_acquire);
      std::size_t c = 0;
      for (;;) {
        if ((v >> 32) != gen) return;  // a later job: nothing of ours is left
        c = static_cast<std::size_t>(v & 0xFFFFFFFFu);
        if (c >= chunks_.load(std::memory_order_relaxed)) return;
        if (claim_.compare_exchange_weak(v, v + 1, std::memory_order_acq_rel, std::memory_order_acquire)) break;
      }
      try {
        job_(c, thread);
      } catch (...) {
        std::lock_guard lock(err_mu_);
        if (!error_) error_ = std::current_exception();
      }
      done_.fetch_add(1, std::memory_order_acq_rel);
    }
  }

  void worker_loop(std::size_t index) {
    uint64_t seen = 0;
    for (;;) {
      // Spin briefly on the claim word before sleeping: decode issues jobs back to back.
      uint64_t gen = 0;
      for (int spins = 0; spins < kSpinIterations; ++spins) {
        gen = claim_.load(std::memory_order_acquire) >> 32;
        if (gen != seen) break;
      }
      if (gen == seen) {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return published_ != seen || stop_; });
        if (stop_) return;
        gen = published_;
      }
      seen = gen;
      work_on(gen, index);
    }
  }

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t generation_ = 0;  // caller-side job counter
  uint64_t published_ = 0;   // 32-bit tag of the last job, announced under mu_ (for sleeping workers)
  bool stop_ = false;
  std::atomic<uint64_t> claim_{0};  // (generation << 32) | next unclaimed chunk
  std::atomic<std::size_t> done_{0};
  std::function<void(std::size_t, std::size_t)> job_;
  std::atomic<std::size_t> chunks_{0};
  std::mutex err_mu_;
  std::exception_ptr error_;
};

}  // namespace llmforge
