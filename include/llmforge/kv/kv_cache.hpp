// SPDX-License-Identifier: MIT
// Per-layer key/value storage of one sequence, sized by the context length (or a memory budget), in
// F32, F16 or Q8_0, either as plain rows (the exact mode's layout) or with keys in 16-position tiles
// (the layout the tiled attention kernel reads).
#pragma once

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <llmforge/core/error.hpp>
#include <llmforge/core/half.hpp>
#include <llmforge/kernels/attention_reference.hpp>
#include <llmforge/kernels/dispatch.hpp>
#include <llmforge/core/config.hpp>
#include <llmforge/quant/legacy.hpp>

namespace llmforge {

/// Element type of a KV cache (kernels::KvElem names the same three).
using KvType = kernels::KvElem;

/// "f32", "f16" or "q8_0".
[[nodiscard]] inline std::string_view kv_type_name(KvType t) noexcept {
  switch (t) {
    case KvType::F32: return "f32";
    case KvType::F16: return "f16";
    case KvType::Q8_0: return "q8_0";
  }
  return "?";
}
/// Parses a cache type name (case-insensitive). @throws ConfigError naming the allowed values.
[[nodiscard]] inline KvType parse_kv_type(std::string_view s) {
  std::string l(s);
  for (auto& ch : l) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  for (KvType t : {KvType::F32, KvType::F16, KvType::Q8_0})
    if (l == kv_type_name(t)) return t;
  throw ConfigError("unknown KV cache type '" + std::string(s) + "' (allowed: f32, f16, q8_0)");
}

/// How a KV cache stores its data.
struct KvOptions {
  KvType k = KvType::F16;  ///< keys
  KvType v = KvType::F16;  ///< values
  /// Keys in tiles of 16 positions, each head's tile transposed (dimension-major), so the tiled
  /// attention kernel loads 16 positions' values of one dimension with one load. Off: one row per
  /// position (the exact mode's layout, read by the llama.cpp-order attention; F32 only).
  bool key_tiles = true;
};

/// Keys and values of every layer for positions `[0, capacity)`.
///
/// Values are always one row per position (`num_kv_heads * value_dim` elements; Q8_0 rows are 32-value
/// blocks, so `value_dim` must be a multiple of 32). Keys are rows too without `key_tiles`; with it,
/// position `p` of KV head `h` lives in tile `p / 16` at column `p % 16`: a head's tile holds `head_dim`
/// rows of 16 elements (for Q8_0: `head_dim x 16` int8 followed by `head_dim / 32 x 16` F16 scales, one
/// per 32 dimensions and position). The attention kernel gets its views through `view()`; other code
/// reads and writes positions as floats through `store`, `load_k` and `load_v`.
class KvCache {
 public:
  static constexpr std::size_t kTile = kernels::kAttnKeyTile;

  KvCache() = default;

  /// Allocates room for `capacity` positions of a model with config `c`.
  /// @throws ConfigError if `capacity` is 0 or larger than the model's context length, or if the
  ///         options do not suit the model (Q8_0 needs head sizes that are multiples of 32; rows of
  ///         keys must be F32).
  KvCache(const ModelConfig& c, std::size_t capacity, const KvOptions& opt = {}) : capacity_(capacity), opt_(opt) {
    if (capacity == 0) throw ConfigError("KV cache: context size must be positive");
    if (capacity > c.context_len)
      throw ConfigError("KV cache: context size " + std::to_string(capacity) + " exceeds the model's context length " +
                        std::to_string(c.context_len));
    check_options(c, opt);
    heads_ = c.num_kv_heads;
    hd_ = c.head_dim;
    vd_ = c.value_dim;
    k_layer_bytes_ = k_bytes(c, capacity, opt);
    v_row_bytes_ = row_bytes(opt.v, heads_ * vd_);
    k_row_bytes_ = row_bytes(opt.k, heads_ * hd_);
    k_.assign(c.num_layers, std::vector<std::byte>(k_layer_bytes_));
    v_.assign(c.num_layers, std::vector<std::byte>(capacity * v_row_bytes_));
  }

  /// Bytes a cache of `capacity` positions needs for config `c`.
  [[nodiscard]] static std::size_t bytes_for(const ModelConfig& c, std::size_t capacity, const KvOptions& opt = {}) {
    return c.num_layers * (k_bytes(c, capacity, opt) + capacity * row_bytes(opt.v, c.num_kv_heads * c.value_dim));
  }
  /// The largest capacity (at most the model's context length) that fits in `budget_bytes`.
  [[nodiscard]] static std::size_t capacity_for_budget(const ModelConfig& c, std::size_t budget_bytes,
                                                       const KvOptions& opt = {}) {
    std::size_t lo = 0, hi = c.context_len;  // the size is monotonic in the capacity (tiles round up)
    while (lo < hi) {
      const std::size_t mid = lo + (hi - lo + 1) / 2;
      if (bytes_for(c, mid, opt) <= budget_bytes) lo = mid; else hi = mid - 1;
    }
    return lo;
  }

  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
  [[nodiscard]] std::size_t num_layers() const noexcept { return k_.size(); }
  [[nodiscard]] const KvOptions& options() const noexcept { return opt_; }
  [[nodiscard]] std::size_t k_width() const noexcept { return heads_ * hd_; }
  [[nodiscard]] std::size_t v_width() const noexcept { return heads_ * vd_; }
  /// Bytes of every layer's keys and values (for memory reports).
  [[nodiscard]] std::size_t bytes() const noexcept { return num_layers() * (k_layer_bytes_ + capacity_ * v_row_bytes_); }

  /// F32 rows of keys/values (only in the row layout with F32 elements: the exact mode's attention).
  [[nodiscard]] const float* k_rows_f32(std::size_t layer, std::size_t pos) const {
    require_f32_rows();
    return reinterpret_cast<const float*>(k_[layer].data() + pos * k_row_bytes_);
  }
  [[nodiscard]] const float* v_rows_f32(std::size_t layer, std::size_t pos) const {
    require_f32_rows();
    return reinterpret_cast<const float*>(v_[layer].data() + pos * v_row_bytes_);
  }

  /// Writes `n` positions from `pos` on: key rows of `k_width()` floats and value rows of `v_width()`
  /// floats (contiguous), converted to the cache's types.
  void store(std::size_t layer, std::size_t pos, std::size_t n, const float* k, const float* v) {
    check_range(pos, n);
    for (std::size_t t = 0; t < n; ++t) {
      store_key(layer, pos + t, k + t * k_width());
      store_row(opt_.v, v + t * v_width(), v_width(), v_[layer].data() + (pos + t) * v_row_bytes_);
    }
  }
  /// Reads the keys of position `pos` (all heads, `k_width()` floats).
  void load_k(std::size_t layer, std::size_t pos, float* out) const {
    check_range(pos, 1);
    if (!opt_.key_tiles) return load_row(opt_.k, k_[layer].data() + pos * k_row_bytes_, k_width(), out);
    for (std::size_t h = 0; h < heads_; ++h) {
      const kernels::AttnKv head = view(layer, h);
      for (std::size_t i = 0; i < hd_; ++i) out[h * hd_ + i] = kernels::ref::key_at(head, pos, i);
    }
  }
  /// Reads the values of position `pos` (all heads, `v_width()` floats).
  void load_v(std::size_t layer, std::size_t pos, float* out) const {
    check_range(pos, 1);
    load_row(opt_.v, v_[layer].data() + pos * v_row_bytes_, v_width(), out);
  }

  /// What the tiled attention kernel reads for KV head `kv_head` of `layer` (key tiles only).
  [[nodiscard]] kernels::AttnKv view(std::size_t layer, std::size_t kv_head) const {
    if (!opt_.key_tiles) throw ConfigError("KV cache: the tiled attention needs keys in tiles");
    return kernels::AttnKv{.k = key_tile(layer, 0, kv_head), .k_tile_stride = heads_ * head_tile_bytes(), .k_type = opt_.k,
                           .v = v_[layer].data() + kv_head * row_bytes(opt_.v, vd_), .v_row_stride = v_row_bytes_,
                           .v_type = opt_.v, .head_dim = hd_, .value_dim = vd_};
  }

  /// A copy of the first `n_pos` positions, for restoring a shared prefix later.
  struct Snapshot {
    std::size_t n_pos = 0;
    KvOptions options;
    std::vector<std::byte> data;
  };
  [[nodiscard]] Snapshot snapshot(std::size_t n_pos) const {
    if (n_pos > capacity_) throw ConfigError("KV cache: snapshot of " + std::to_string(n_pos) + " positions exceeds the capacity");
    Snapshot s{n_pos, opt_, {}};
    const std::size_t kb = k_prefix_bytes(n_pos), vb = n_pos * v_row_bytes_;
    s.data.reserve(num_layers() * (kb + vb));
    for (std::size_t l = 0; l < num_layers(); ++l) {
      s.data.insert(s.data.end(), k_[l].begin(), k_[l].begin() + static_cast<std::ptrdiff_t>(kb));
      s.data.insert(s.data.end(), v_[l].begin(), v_[l].begin() + static_cast<std::ptrdiff_t>(vb));
    }
    return s;
  }
  void restore(const Snapshot& s) {
    if (s.n_pos > capacity_) throw ConfigError("KV cache: snapshot of " + std::to_string(s.n_pos) + " positions does not fit");
    if (s.options.k != opt_.k || s.options.v != opt_.v || s.options.key_tiles != opt_.key_tiles)
      throw ConfigError("KV cache: the snapshot was taken from a cache of another type or layout");
    const std::size_t kb = k_prefix_bytes(s.n_pos), vb = s.n_pos * v_row_bytes_;
    if (s.data.size() != num_layers() * (kb + vb)) throw ConfigError("KV cache: the snapshot does not match this model");
    const std::byte* p = s.data.data();
    for (std::size_t l = 0; l < num_layers(); ++l) {
      std::memcpy(k_[l].data(), p, kb);
      p += kb;
      std::memcpy(v_[l].data(), p, vb);
      p += vb;
    }
  }

 private:
  static void check_options(const ModelConfig& c, const KvOptions& o) {
    if (!o.key_tiles && o.k != KvType::F32)
      throw ConfigError("KV cache: keys stored as rows (the exact mode) must be f32, not " + std::string(kv_type_name(o.k)));
    if (!o.key_tiles && o.v != KvType::F32)
      throw ConfigError("KV cache: the exact mode's attention reads f32 values, not " + std::string(kv_type_name(o.v)));
    if (o.k == KvType::Q8_0 && c.head_dim % 32)
      throw ConfigError("KV cache: q8_0 keys need a head size that is a multiple of 32 (this model's is " +
                        std::to_string(c.head_dim) + ")");
    if (o.v == KvType::Q8_0 && c.value_dim % 32)
      throw ConfigError("KV cache: q8_0 values need a value head size that is a multiple of 32 (this model's is " +
                        std::to_string(c.value_dim) + ")");
  }
  static std::size_t row_bytes(KvType t, std::size_t n) {
    switch (t) {
      case KvType::F32: return n * 4;
      case KvType::F16: return n * 2;
      case KvType::Q8_0: return n / 32 * sizeof(BlockQ8_0);
    }
    return 0;
  }
  static std::size_t head_tile_bytes(KvType t, std::size_t hd) {
    return t == KvType::Q8_0 ? hd * kTile + hd / 32 * kTile * 2 : row_bytes(t, hd) * kTile;
  }
  [[nodiscard]] std::size_t head_tile_bytes() const { return head_tile_bytes(opt_.k, hd_); }
  static std::size_t k_bytes(const ModelConfig& c, std::size_t capacity, const KvOptions& o) {
    if (!o.key_tiles) return capacity * row_bytes(o.k, c.num_kv_heads * c.head_dim);
    return (capacity + kTile - 1) / kTile * c.num_kv_heads * head_tile_bytes(o.k, c.head_dim);
  }
  [[nodiscard]] std::size_t k_prefix_bytes(std::size_t n_pos) const {
    return opt_.key_tiles ? (n_pos + kTile - 1) / kTile * heads_ * head_tile_bytes() : n_pos * k_row_bytes_;
  }
  void check_range(std::size_t pos, std::size_t n) const {
    if (pos > capacity_ || n > capacity_ - pos)
      throw ConfigError("KV cache: positions [" + std::to_string(pos) + ", " + std::to_string(pos + n) +
                        ") are outside the capacity of " + std::to_string(capacity_));
  }
  void require_f32_rows() const {
    if (opt_.key_tiles || opt_.k != KvType::F32 || opt_.v != KvType::F32)
      throw ConfigError("KV cache: F32 rows were requested from a cache stored otherwise");
  }
  [[nodiscard]] std::byte* key_tile(std::size_t layer, std::size_t tile, std::size_t head) const {
    return const_cast<std::byte*>(k_[layer].data()) + (tile * heads_ + head) * head_tile_bytes();
  }

  static void store_row(KvType t, const float* x, std::size_t n, std::byte* dst) {
    switch (t) {
      case KvType::F32: std::memcpy(dst, x, n * 4); break;
      case KvType::F16:
        for (std::size_t i = 0; i < n; ++i) {
          const f16 h = f32_to_f16(x[i]);
          std::memcpy(dst + 2 * i, &h, 2);
        }
        break;
      case KvType::Q8_0: QuantTraits<Q8_0>::quantize_ref(x, reinterpret_cast<BlockQ8_0*>(dst), n); break;
    }
  }
  static void load_row(KvType t, const std::byte* src, std::size_t n, float* out) {
    switch (t) {
      case KvType::F32: std::memcpy(out, src, n * 4); break;
      case KvType::F16:
        for (std::size_t i = 0; i < n; ++i) {
          f16 h;
          std::memcpy(&h, src + 2 * i, 2);
          out[i] = f16_to_f32(h);
        }
        break;
      case KvType::Q8_0: QuantTraits<Q8_0>::dequantize_ref(reinterpret_cast<const BlockQ8_0*>(src), out, n); break;
    }
  }

  void store_key(std::size_t layer, std::size_t pos, const float* k) {
    if (!opt_.key_tiles) return store_row(opt_.k, k, k_width(), k_[layer].data() + pos * k_row_bytes_);
    const std::size_t j = pos % kTile;
    for (std::size_t h = 0; h < heads_; ++h) {
      std::byte* tile = key_tile(layer, pos / kTile, h);
      const float* x = k + h * hd_;
      switch (opt_.k) {
        case KvType::F32:
          for (std::size_t i = 0; i < hd_; ++i) std::memcpy(tile + (i * kTile + j) * 4, x + i, 4);
          break;
        case KvType::F16:
          for (std::size_t i = 0; i < hd_; ++i) {
            const f16 v = f32_to_f16(x[i]);
            std::memcpy(tile + (i * kTile + j) * 2, &v, 2);
          }
          break;
        case KvType::Q8_0: {
          // Q8_0 per 32 dimensions: d = max|x| / 127, q = round(x / d), as QuantTraits<Q8_0> does.
          auto* qs = reinterpret_cast<int8_t*>(tile);
          std::byte* scales = tile + hd_ * kTile;
          for (std::size_t b = 0; b < hd_ / 32; ++b) {
            float amax = 0;
            for (std::size_t i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[32 * b + i]));
            const float d = amax / 127, id = d ? 1.0f / d : 0.0f;
            for (std::size_t i = 0; i < 32; ++i)
              qs[(32 * b + i) * kTile + j] = static_cast<int8_t>(std::lround(x[32 * b + i] * id));
            const f16 dh = f32_to_f16(d);
            std::memcpy(scales + (b * kTile + j) * 2, &dh, 2);
          }
          break;
        }
      }
    }
  }
  std::size_t capacity_ = 0, heads_ = 0, hd_ = 0, vd_ = 0;
  KvOptions opt_;
  std::size_t k_layer_bytes_ = 0, k_row_bytes_ = 0, v_row_bytes_ = 0;
  std::vector<std::vector<std::byte>> k_, v_;
};

}  // namespace llmforge
