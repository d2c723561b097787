// SPDX-License-Identifier: MIT
// Per-layer key/value storage of one sequence, sized by the context length (or a memory budget).
#pragma once

#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include <llmforge/core/error.hpp>
#include <llmforge/nn/config.hpp>
#include <llmforge/tensor/tensor.hpp>

namespace llmforge {

/// Keys and values of every layer for positions `[0, capacity)`, in F32, row = position.
class KvCache {
 public:
  KvCache() = default;

  /// Allocates room for `capacity` positions of a model with config `c`.
  /// @throws ConfigError if `capacity` is 0 or larger than the model's context length.
  KvCache(const ModelConfig& c, std::size_t capacity) : capacity_(capacity) {
    if (capacity == 0) throw ConfigError("KV cache: context size must be positive");
    if (capacity > c.context_len)
      throw ConfigError("KV cache: context size " + std::to_string(capacity) + " exceeds the model's context length " +
                        std::to_string(c.context_len));
    k_width_ = c.num_kv_heads * c.head_dim;
    v_width_ = c.num_kv_heads * c.value_dim;
    for (std::size_t l = 0; l < c.num_layers; ++l) {
      k_.push_back(Tensor<F32, Cpu>::zeros(Shape{capacity, k_width_}));
      v_.push_back(Tensor<F32, Cpu>::zeros(Shape{capacity, v_width_}));
    }
  }

  /// Bytes a cache of `capacity` positions needs for config `c`.
  [[nodiscard]] static std::size_t bytes_for(const ModelConfig& c, std::size_t capacity) {
    return c.num_layers * capacity * c.num_kv_heads * (c.head_dim + c.value_dim) * sizeof(float);
  }
  /// The largest capacity (at most the model's context length) that fits in `budget_bytes`.
  [[nodiscard]] static std::size_t capacity_for_budget(const ModelConfig& c, std::size_t budget_bytes) {
    const std::size_t per_pos = bytes_for(c, 1);
    const std::size_t cap = per_pos ? budget_bytes / per_pos : 0;
    return cap < c.context_len ? cap : c.context_len;
  }

  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
  [[nodiscard]] std::size_t num_layers() const noexcept { return k_.size(); }
  [[nodiscard]] float* k(std::size_t layer, std::size_t pos) const { return k_[layer].data() + pos * k_width_; }
  [[nodiscard]] float* v(std::size_t layer, std::size_t pos) const { return v_[layer].data() + pos * v_width_; }
  [[nodiscard]] std::size_t k_width() const noexcept { return k_width_; }
  [[nodiscard]] std::size_t v_width() const noexcept { return v_width_; }

  /// A copy of the first `n_pos` positions, for restoring a shared prefix later.
  struct Snapshot {
    std::size_t n_pos = 0;
    std::vector<float> data;
  };
  [[nodiscard]] Snapshot snapshot(std::size_t n_pos) const {
    Snapshot s{n_pos, {}};
    for (std::size_t l = 0; l < num_layers(); ++l) {
      s.data.insert(s.data.end(), k(l, 0), k(l, 0) + n_pos * k_width_);
      s.data.insert(s.data.end(), v(l, 0), v(l, 0) + n_pos * v_width_);
    }
    return s;
  }
  void restore(const Snapshot& s) {
    if (s.n_pos > capacity_) throw ConfigError("KV cache: snapshot of " + std::to_string(s.n_pos) + " positions does not fit");
    const float* p = s.data.data();
    for (std::size_t l = 0; l < num_layers(); ++l) {
      std::memcpy(k(l, 0), p, s.n_pos * k_width_ * sizeof(float));
      p += s.n_pos * k_width_;
      std::memcpy(v(l, 0), p, s.n_pos * v_width_ * sizeof(float));
      p += s.n_pos * v_width_;
    }
  }

 private:
  std::size_t capacity_ = 0, k_width_ = 0, v_width_ = 0;
  std::vector<Tensor<F32, Cpu>> k_, v_;
};

}  // namespace llmforge
