// SPDX-License-Identifier: MIT
// A persistent worker pool for data-parallel loops: workers spin briefly, then sleep, between jobs.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include <llmforge/core/error.hpp>

namespace llmforge {

/// Runs `fn(begin, end)` over disjoint chunks of `[0, n)` on a fixed set of threads (the caller
/// participates as thread 0). One job runs at a time; `parallel_for` returns when every chunk is done.
/// Exceptions thrown by a chunk are rethrown in the caller.
class ThreadPool {
 public:
  /// Creates a pool with `threads` threads in total (including the caller); 0 means the hardware count.
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
      ++generation_;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
  }

  /// Number of threads that execute chunks (workers + caller).
  [[nodiscard]] std::size_t size() const noexcept { return workers_.size() + 1; }

  /// Splits `[0, n)` into contiguous chunks, at least `grain` items each, one per thread, and runs
  /// `fn(begin, end, thread_index)` on them in parallel.
  template <class Fn>
  void parallel_for(std::size_t n, Fn&& fn, std::size_t grain = 1) {
    if (n == 0) return;
    const std::size_t max_chunks = std::max<std::size_t>(1, n / std::max<std::size_t>(grain, 1));
    const std::size_t chunks = std::min(size(), max_chunks);
    if (chunks == 1) {
      fn(std::size_t{0}, n, std::size_t{0});
      return;
    }
    auto task = [&](std::size_t i) {
      const std::size_t b = n * i / chunks, e = n * (i + 1) / chunks;
      if (b < e) fn(b, e, i);
    };
    run(chunks, task);
  }

 private:
  template <class Task>
  void run(std::size_t chunks, Task& task) {
    job_ = [&task](std::size_t i) { task(i); };
    job_chunks_ = chunks;
    error_ = nullptr;
    pending_.store(chunks - 1, std::memory_order_relaxed);
    {
      std::lock_guard lock(mu_);
      ++generation_;
      active_generation_.store(generation_, std::memory_order_release);
    }
    cv_.notify_all();
    run_chunk(0);
    // Wait for the other chunks: spin a little (jobs are short), then yield.
    for (int spins = 0; pending_.load(std::memory_order_acquire) != 0; ++spins) {
      if (spins > 2000) std::this_thread::yield();
    }
    if (error_) std::rethrow_exception(error_);
  }

  void run_chunk(std::size_t i) {
    try {
      job_(i);
    } catch (...) {
      std::lock_guard lock(err_mu_);
      if (!error_) error_ = std::current_exception();
    }
  }

  void worker_loop(std::size_t index) {
    uint64_t seen = 0;
    for (;;) {
      // Spin briefly on the generation counter before sleeping: decode issues jobs back to back.
      uint64_t gen = 0;
      for (int spins = 0; spins < 20000; ++spins) {
        gen = active_generation_.load(std::memory_order_acquire);
        if (gen != seen) break;
      }
      if (gen == seen) {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return generation_ != seen || stop_; });
        if (stop_) return;
        gen = generation_;
      }
      seen = gen;
      if (index < job_chunks_) {
        run_chunk(index);
        pending_.fetch_sub(1, std::memory_order_acq_rel);
      }
    }
  }

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t generation_ = 0;
  std::atomic<uint64_t> active_generation_{0};
  bool stop_ = false;
  std::function<void(std::size_t)> job_;
  std::size_t job_chunks_ = 0;
  std::atomic<std::size_t> pending_{0};
  std::mutex err_mu_;
  std::exception_ptr error_;
};

}  // namespace llmforge
