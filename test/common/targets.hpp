// SPDX-License-Identifier: MIT
// Kernel test helpers: run a body once per SIMD target that is compiled in and runnable on this CPU;
// seeded random inputs.
#pragma once

#include <boost/test/unit_test.hpp>

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include <llmforge/kernels/dispatch.hpp>

namespace llmforge::test {

/// Calls `body()` with dispatch restricted to each runnable compiled target in turn (inside a
/// BOOST_TEST_CONTEXT naming it), then restores normal dispatch. Checks that at least two targets ran.
template <class Body>
void for_each_target(Body&& body) {
  const int64_t targets = kernels::runnable_targets();
  int ran = 0;
  for (int64_t bit = 1; bit != 0 && bit <= targets; bit <<= 1) {
    if (!(targets & bit)) continue;
    kernels::set_targets_for_test(bit);
    BOOST_TEST_CONTEXT("target " << kernels::target_bit_name(bit)) { body(); }
    ++ran;
  }
  kernels::set_targets_for_test(0);
  BOOST_TEST(ran >= 2, "only " << ran << " SIMD target(s) could be exercised");
}

/// `n` normally distributed floats (mean 0, standard deviation `scale`) from `seed`.
inline std::vector<float> random_floats(std::size_t n, unsigned seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = nd(rng);
  return v;
}

}  // namespace llmforge::test
