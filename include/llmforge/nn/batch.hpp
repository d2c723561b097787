// SPDX-License-Identifier: MIT
// How the rows of one forward pass map to sequences: a pass may carry several sequences' tokens
// (each with its own KV cache and positions) so that they share every matrix product.
#pragma once

#include <cstddef>

#include <llmforge/kv/kv_cache.hpp>

namespace llmforge::nn {

/// Rows `[row0, row0 + n)` of a pass: consecutive positions `pos0 ...` of one sequence, whose keys
/// and values live in `kv`.
struct AttnSegment {
  KvCache* kv;
  std::size_t pos0;
  std::size_t row0;
  std::size_t n;
};

}  // namespace llmforge::nn
