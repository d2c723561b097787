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
  static_assert(1024 * kChunksPerThread < (std::size_t{1} << 20), "chunk counts must fit the claim word");
  static constexpr int kSpinIterations = 20000;

  // The claim word packs everything a worker needs to claim a chunk, so a claim can never pair one
  // job's tag with another job's chunk count: generation (24 bits) | chunk count (20) | next chunk (20).
  static constexpr unsigned kChunkBits = 20;
  static constexpr uint64_t kChunkMask = (uint64_t{1} << kChunkBits) - 1;
  static constexpr uint64_t kGenMask = (uint64_t{1} << 24) - 1;
  static uint64_t word_gen(uint64_t v) { return v >> (2 * kChunkBits); }
  static uint64_t word_total(uint64_t v) { return (v >> kChunkBits) & kChunkMask; }
  static uint64_t word_next(uint64_t v) { return v & kChunkMask; }

  template <class Task>
  void run(std::size_t chunks, Task& task) {
    job_ = [&task](std::size_t c, std::size_t thread) { task(c, thread); };
    error_ = nullptr;
    done_.store(0, std::memory_order_relaxed);
    const uint64_t gen = ++generation_ & kGenMask;  // 24-bit job tag, wraps
    // Publishes job_ and the reset counter together with the new generation.
    claim_.store((gen << (2 * kChunkBits)) | (static_cast<uint64_t>(chunks) << kChunkBits), std::memory_order_release);
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

  // Claims and runs chunks of job `gen` until none is left or the job is over. A successful claim
  // means the job is still running (its chunk is not done), so job_ is still that job's.
  void work_on(uint64_t gen, std::size_t thread) {
    for (;;) {
      uint64_t v = claim_.load(std::memory_order_acquire);
      for (;;) {
        if (word_gen(v) != gen) return;  // a later job: nothing of ours is left
        if (word_next(v) >= word_total(v)) return;
        if (claim_.compare_exchange_weak(v, v + 1, std::memory_order_acq_rel, std::memory_order_acquire)) break;
      }
      const auto c = static_cast<std::size_t>(word_next(v));
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
        gen = word_gen(claim_.load(std::memory_order_acquire));
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
  uint64_t published_ = 0;   // tag of the last job, announced under mu_ (for sleeping workers)
  bool stop_ = false;
  std::atomic<uint64_t> claim_{0};  // generation | chunk count | next unclaimed chunk (see word_*)
  std::atomic<std::size_t> done_{0};
  std::function<void(std::size_t, std::size_t)> job_;
  std::mutex err_mu_;
  std::exception_ptr error_;
};

}  // namespace llmforge
