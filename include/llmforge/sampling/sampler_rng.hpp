// SPDX-License-Identifier: MIT
// SamplerRng: the seeded random source of a sampler chain, reproducible across platforms and runs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>

#include <llmforge/sampling/candidates.hpp>

namespace llmforge {

/// The random source of sampling, chosen so that a seed gives the same tokens everywhere:
/// - the engine is `std::mt19937_64`, whose output sequence the C++ standard fixes bit for bit;
/// - a uniform number is the top 53 bits of one engine output times 2^-53, in [0, 1) (we do not use
///   `std::uniform_real_distribution` or `std::discrete_distribution`, whose algorithms differ between
///   standard libraries);
/// - a draw walks the candidates in their current order, summing probabilities in double, and picks
///   the first whose running sum exceeds the uniform number (the last one if rounding leaves a gap).
/// Each stream (the draw, XTC's coin) has its own engine, seeded from the chain seed by `stream_seed`.
/// Draws consume exactly one engine output; a single candidate is taken without consuming one.
class SamplerRng {
 public:
  explicit SamplerRng(uint64_t seed = 0) : engine_(seed) {}
  void seed(uint64_t s) { engine_.seed(s); }

  /// Uniform in [0, 1).
  [[nodiscard]] double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

  /// Index of a candidate drawn with probability `p` (the probabilities must sum to about 1).
  [[nodiscard]] std::size_t pick(const Candidates& c) {
    if (c.size() <= 1) return 0;
    const double u = uniform();
    double cum = 0;
    for (std::size_t i = 0; i < c.size(); ++i) {
      cum += c[i].p;
      if (u < cum) return i;
    }
    return c.size() - 1;
  }

  /// A seed for stream `stream` derived from the chain seed (splitmix64 finalizer), so that streams
  /// of one chain are not correlated and stream 0 keeps the plain seed.
  [[nodiscard]] static uint64_t stream_seed(uint64_t seed, uint64_t stream) noexcept {
    if (stream == 0) return seed;
    uint64_t z = seed + stream * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

 private:
  std::mt19937_64 engine_;
};

}  // namespace llmforge
