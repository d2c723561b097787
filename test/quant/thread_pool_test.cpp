// SPDX-License-Identifier: MIT
// ThreadPool: every index covered exactly once, thread indices in range and never shared between two
// threads, exceptions propagate, back-to-back jobs (spin path) and jobs after sleeping (cv path).
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <llmforge/backend/bandwidth.hpp>
#include <llmforge/backend/thread_pool.hpp>

using namespace llmforge;

BOOST_AUTO_TEST_SUITE(thread_pool)

BOOST_AUTO_TEST_CASE(covers_every_index_once) {
  for (std::size_t threads : {1, 2, 3, 8}) {
    ThreadPool pool(threads);
    for (std::size_t n : {1, 2, 7, 64, 1000, 4097}) {
      for (int rep = 0; rep < 50; ++rep) {
        std::vector<std::atomic<int>> hits(n);
        std::vector<std::thread::id> owner(pool.size());
        std::mutex mu;
        bool shared_index = false;
        pool.parallel_for(n, [&](std::size_t b, std::size_t e, std::size_t t) {
          {
            std::lock_guard lock(mu);
            if (t >= owner.size()) {
              shared_index = true;
              return;
            }
            if (owner[t] == std::thread::id()) owner[t] = std::this_thread::get_id();
            else if (owner[t] != std::this_thread::get_id()) shared_index = true;
          }
          for (std::size_t i = b; i < e; ++i) hits[i].fetch_add(1);
        }, rep % 3 + 1);
        bool ok = !shared_index;
        for (auto& h : hits) ok = ok && h.load() == 1;
        BOOST_TEST(ok, "threads " << threads << " n " << n);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(exceptions_propagate_and_pool_survives) {
  ThreadPool pool(2);
  BOOST_CHECK_THROW(pool.parallel_for(100, [](std::size_t b, std::size_t, std::size_t) {
    if (b > 0) throw ShapeError("boom");
  }), ShapeError);
  std::atomic<std::size_t> sum{0};
  pool.parallel_for(100, [&](std::size_t b, std::size_t e, std::size_t) { sum += e - b; });
  BOOST_TEST(sum.load() == 100u);
  BOOST_CHECK_THROW(ThreadPool(5000), ConfigError);
}

BOOST_AUTO_TEST_CASE(jobs_after_workers_slept) {
  ThreadPool pool(2);
  for (int rep = 0; rep < 3; ++rep) {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));  // workers leave the spin loop
    std::atomic<std::size_t> sum{0};
    pool.parallel_for(1000, [&](std::size_t b, std::size_t e, std::size_t) { sum += e - b; });
    BOOST_TEST(sum.load() == 1000u);
  }
}

// Regression: back-to-back jobs whose chunk counts alternate between small and large. The chunk
// count used to be read separately from the job tag, so a worker could claim a chunk past the end of
// the finished job, run it as part of the next one and count it twice (the caller then waited forever).
BOOST_AUTO_TEST_CASE(alternating_chunk_counts_run_each_chunk_once) {
  llmforge::ThreadPool pool(2);
  for (int round = 0; round < 20000; ++round) {
    const std::size_t n = round % 2 ? 8 : 2;  // 8 chunks, then 2 chunks (grain 1)
    std::vector<std::atomic<int>> hits(n);
    pool.parallel_for(n, [&](std::size_t b, std::size_t e, std::size_t) {
      for (std::size_t i = b; i < e; ++i) hits[i].fetch_add(1, std::memory_order_relaxed);
    });
    for (std::size_t i = 0; i < n; ++i) BOOST_TEST_REQUIRE(hits[i].load() == 1, "round " << round << " index " << i);
  }
}

// The bandwidth probe reads every word of its buffer with any stream count (the checksum counts the
// words, all 1) and rejects stream counts it has no loop for.
BOOST_AUTO_TEST_CASE(bandwidth_probe_reads_the_whole_buffer) {
  ThreadPool pool(2);
  const std::size_t bytes = std::size_t{8} << 20;
  for (int streams : {1, 2, 4}) {
    BandwidthProbe probe(bytes);
    const double gbs = probe.measure(pool, 2, streams);
    BOOST_TEST(gbs > 0.0);
    BOOST_TEST(probe.checksum() == 2 * bytes / 8, "streams " << streams);
  }
  BandwidthProbe probe(bytes);
  BOOST_CHECK_THROW((void)probe.measure(pool, 1, 3), ConfigError);
}

BOOST_AUTO_TEST_SUITE_END()
