// SPDX-License-Identifier: MIT
// A memory read-bandwidth probe, the denominator of the generation roofline (bytes of weights per token / bandwidth).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

#include <llmforge/backend/thread_pool.hpp>

namespace llmforge {

/// Streams a buffer much larger than the caches through a thread pool and reports the read bandwidth.
/// Keep one probe alive to measure repeatedly (e.g. right before each timed run, so that a roofline
/// ratio compares two figures taken under the same machine load).
class BandwidthProbe {
 public:
  /// `bytes` of buffer (default 256 MiB), touched once here so that measurements never page-fault.
  explicit BandwidthProbe(std::size_t bytes = std::size_t{256} << 20) : words_(std::max<std::size_t>(bytes / 8, 4096), 1) {}

  /// Best read bandwidth (GB/s) of `passes` passes over the buffer, split across `pool`'s threads.
  [[nodiscard]] double measure(ThreadPool& pool, int passes = 3) {
    const std::size_t n = words_.size();
    std::vector<uint64_t> sink(pool.size());
    double best = 0;
    for (int rep = 0; rep < passes; ++rep) {
      const auto t0 = std::chrono::steady_clock::now();
      pool.parallel_for(
          n,
          [&](std::size_t b, std::size_t e, std::size_t t) {
            // Four independent sums (loads, not an add chain, bound the loop) and a software prefetch
            // 8 KiB ahead, as the weight kernels do: without it this VM's cores read ~20% less.
            const uint64_t* p = words_.data() + b;
            const std::size_t m = e - b;
            uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            const std::size_t m8 = m / 8 * 8;
            for (std::size_t i = 0; i < m8; i += 8) {
              __builtin_prefetch(reinterpret_cast<const void*>(reinterpret_cast<uintptr_t>(p + i) + kPrefetchBytes));
              s0 += p[i] + p[i + 4];
              s1 += p[i + 1] + p[i + 5];
              s2 += p[i + 2] + p[i + 6];
              s3 += p[i + 3] + p[i + 7];
            }
            for (std::size_t j = 0; j < m % 8; ++j) s0 += p[m8 + j];
            sink[t] += s0 + s1 + s2 + s3;
          },
          1 << 16);
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      best = std::max(best, static_cast<double>(n) * 8.0 / s / 1e9);
    }
    uint64_t all = 0;
    for (auto v : sink) all += v;
    checksum_ += all;  // keeps the sums observable, so the loads cannot be optimized away
    return best;
  }

  /// Sum of everything read so far (only there so the compiler must perform the reads).
  [[nodiscard]] uint64_t checksum() const noexcept { return checksum_; }

 private:
  static constexpr std::size_t kPrefetchBytes = 8192;
  std::vector<uint64_t> words_;
  uint64_t checksum_ = 0;
};

/// Read bandwidth (GB/s) of `pool` streaming a 256 MiB buffer, best of 5 passes.
[[nodiscard]] inline double measure_read_bandwidth_gbs(ThreadPool& pool) {
  BandwidthProbe probe;
  return probe.measure(pool, 5);
}

}  // namespace llmforge
