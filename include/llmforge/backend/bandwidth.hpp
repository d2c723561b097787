// SPDX-License-Identifier: MIT
// A memory read-bandwidth probe, the denominator of the generation roofline (bytes of weights per token / bandwidth).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <llmforge/backend/thread_pool.hpp>
#include <llmforge/core/error.hpp>

namespace llmforge {

/// Streams a buffer much larger than the caches through a thread pool and reports the read bandwidth.
/// Keep one probe alive to measure repeatedly (e.g. right before each timed run, so that a roofline
/// ratio compares two figures taken under the same machine load).
class BandwidthProbe {
 public:
  /// `bytes` of buffer (default 256 MiB), touched once here so that measurements never page-fault.
  explicit BandwidthProbe(std::size_t bytes = std::size_t{256} << 20) : words_(std::max<std::size_t>(bytes / 8, 4096), 1) {}

  /// Best read bandwidth (GB/s) of `passes` passes over the buffer, split across `pool`'s threads, each
  /// thread reading `streams` interleaved streams (1, 2 or 4; default 4) with a software prefetch.
  /// Four streams is the fastest read found on the machines we measured (one stream reads ~15% less
  /// there, ~30% less without the prefetch); one stream is how the kernels read weights.
  /// @throws ConfigError for another stream count.
  [[nodiscard]] double measure(ThreadPool& pool, int passes = 3, int streams = 4) {
    switch (streams) {
      case 1: return measure_streams<1>(pool, passes);
      case 2: return measure_streams<2>(pool, passes);
      case 4: return measure_streams<4>(pool, passes);
      default: throw ConfigError("bandwidth probe: streams must be 1, 2 or 4, not " + std::to_string(streams));
    }
  }

  /// Sum of everything read so far (only there so the compiler must perform the reads).
  [[nodiscard]] uint64_t checksum() const noexcept { return checksum_; }

 private:
  static constexpr std::size_t kPrefetchBytes = 8192;

  template <std::size_t kStreams>
  double measure_streams(ThreadPool& pool, int passes) {
    const std::size_t n = words_.size();
    std::vector<uint64_t> sink(pool.size());
    double best = 0;
    for (int rep = 0; rep < passes; ++rep) {
      const auto t0 = std::chrono::steady_clock::now();
      pool.parallel_for(
          n,
          [&](std::size_t b, std::size_t e, std::size_t t) {
            // kStreams interleaved streams per thread, four independent sums (loads, not an add chain,
            // bound the loop) and a software prefetch 8 KiB ahead in every stream.
            const std::size_t len = (e - b) / kStreams / 8 * 8;
            uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            for (std::size_t i = 0; i < len; i += 8)
              for (std::size_t st = 0; st < kStreams; ++st) {
                const uint64_t* q = words_.data() + b + st * len + i;
                __builtin_prefetch(reinterpret_cast<const void*>(reinterpret_cast<uintptr_t>(q) + kPrefetchBytes));
                s0 += q[0] + q[4];
                s1 += q[1] + q[5];
                s2 += q[2] + q[6];
                s3 += q[3] + q[7];
              }
            for (std::size_t j = b + kStreams * len; j < e; ++j) s0 += words_[j];
            sink[t] += s0 + s1 + s2 + s3;
          },
          1 << 18);
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      best = std::max(best, static_cast<double>(n) * 8.0 / s / 1e9);
    }
    uint64_t all = 0;
    for (auto v : sink) all += v;
    checksum_ += all;  // keeps the sums observable, so the loads cannot be optimized away
    return best;
  }

  std::vector<uint64_t> words_;
  uint64_t checksum_ = 0;
};

/// Read bandwidth (GB/s) of `pool` streaming a 256 MiB buffer, best of 5 passes.
[[nodiscard]] inline double measure_read_bandwidth_gbs(ThreadPool& pool) {
  BandwidthProbe probe;
  return probe.measure(pool, 5);
}

}  // namespace llmforge
