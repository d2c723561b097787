// SPDX-License-Identifier: MIT
// Shared helpers for model tests: loading reference models once, golden JSON files, logits comparison.
#pragma once

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <llmforge/llmforge.hpp>

#include "common/test_data.hpp"

namespace llmforge::test {

/// Loads a model once per test process and kernel mode (models are immutable, so tests can share
/// them): the default (fast) path, or with `exact` the reference mode (llama.cpp's order, no repacking).
inline std::shared_ptr<const Model> cached_model(const std::filesystem::path& p, bool exact = false) {
  static std::map<std::string, std::shared_ptr<const Model>> cache;
  auto& m = cache[p.string() + (exact ? "#exact" : "")];
  if (!m) {
    LoadOptions opt;
    opt.exact = exact;
    m = load_model(p, opt);
  }
  return m;
}

inline nlohmann::json read_json(const std::filesystem::path& p) { return nlohmann::json::parse(read_file(p)); }

/// Largest absolute difference of two equally long vectors.
inline double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double m = 0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) m = std::max(m, std::abs(static_cast<double>(a[i]) - b[i]));
  return a.size() == b.size() ? m : INFINITY;
}

inline double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    ab += static_cast<double>(a[i]) * b[i];
    aa += static_cast<double>(a[i]) * a[i];
    bb += static_cast<double>(b[i]) * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

inline int32_t argmax(std::span<const float> v) {
  return static_cast<int32_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

/// Session options that match the reference runs (README: CPU, F32 KV cache) for `n` positions.
inline SessionOptions reference_session(std::size_t n, std::size_t threads = 2, KvType cache = KvType::F32) {
  return SessionOptions{n, threads, cache, cache};
}

/// Runs `ids` through a fresh session (by default with the references' F32 KV cache) and returns the
/// logits of every position (n x vocab).
inline std::vector<float> all_logits(const Model& m, const std::vector<int32_t>& ids, std::size_t threads = 2,
                                     KvType cache = KvType::F32) {
  Session s = m.new_session(reference_session(std::max<std::size_t>(ids.size() + 1, 64), threads, cache));
  std::vector<float> out(ids.size() * m.config().vocab_size);
  m.forward(s, ids, out, true);
  return out;
}

}  // namespace llmforge::test
