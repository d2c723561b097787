// SPDX-License-Identifier: MIT
// A memory read-bandwidth probe, the denominator of the generation roofline (bytes of weights per token / bandwidth).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <vector>

#include <llmforge/backend/thread_pool.hpp>

namespace llmforge {

/// Read bandwidth (GB/s) of `pool` streaming a 256 MiB buffer, best of 5 passes. Integer sums, so the
/// compiler vectorizes them and the loop is bound by memory, not by an FMA latency chain.
[[nodiscard]] inline double measure_read_bandwidth_gbs(ThreadPool& pool) {
  const std::size_t n = std::size_t{32} << 20;  // uint64 words
  std::vector<uint64_t> a(n, 1);
  std::vector<uint64_t> sink(pool.size());
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    pool.parallel_for(
        n,
        [&](std::size_t b, std::size_t e, std::size_t t) {
          const uint64_t* p = a.data() + b;
          uint64_t sum = 0;
          for (std::size_t i = 0, m = e - b; i < m; ++i) sum += p[i];
          sink[t] += sum;
        },
        1 << 16);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, static_cast<double>(n) * 8.0 / s / 1e9);
  }
  if (sink[0] == 42) std::fprintf(stderr, " ");  // keep the sums alive
  return best;
}

}  // namespace llmforge
