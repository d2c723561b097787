// SPDX-License-Identifier: MIT
// Causal multi-head attention with grouped key/value heads (MHA, GQA, MQA), sliding windows and soft-capping.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <optional>
#include <span>
#include <vector>

#include <llmforge/backend/thread_pool.hpp>
#include <llmforge/kernels/dispatch.hpp>
#include <llmforge/kv/kv_cache.hpp>
#include <llmforge/nn/batch.hpp>
#include <llmforge/nn/concepts.hpp>
#include <llmforge/nn/config.hpp>
#include <llmforge/nn/rms_norm.hpp>
#include <llmforge/nn/tensor_names.hpp>
#include <llmforge/nn/weight.hpp>
#include <llmforge/nn/workspace.hpp>

namespace llmforge::nn {

/// What an attention block needs from the caller for one pass over `n_tokens` rows: by default
/// consecutive positions `pos0 ...` of the sequence in `kv`; with `segments`, the rows of several
/// sequences (each with its own cache and positions), which share every matrix product.
struct AttnContext {
  std::size_t layer;
  std::size_t pos0;      ///< position of the first token of the batch (without segments)
  std::size_t n_tokens;  ///< rows of the pass
  KvCache& kv;           ///< the cache (without segments)
  Workspace& ws;
  ThreadPool& pool;
  std::span<const AttnSegment> segments = {};  ///< several sequences' rows, in row order

  /// The segments of this pass (one for the single-sequence form).
  template <class Fn>
  void for_each_segment(Fn&& fn) const {
    if (segments.empty()) {
      fn(AttnSegment{&kv, pos0, 0, n_tokens});
      return;
    }
    for (const auto& seg : segments) fn(seg);
  }
  /// The single-sequence context of one segment.
  [[nodiscard]] AttnContext segment(const AttnSegment& seg) const { return AttnContext{layer, seg.pos0, seg.n, *seg.kv, ws, pool}; }
};

namespace detail {
/// Adds a bias vector to each of `rows` rows.
inline void add_bias(float* y, const Tensor<F32, Cpu>* bias, std::size_t rows, std::size_t width) {
  if (!bias) return;
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t i = 0; i < width; ++i) y[r * width + i] += bias->data()[i];
}
}  // namespace detail

/// attend() in llama.cpp's operation order, over F32 rows of keys and values (the exact mode's cache).
/// Parallel over (token, head).
inline void attend_exact(const ModelConfig& c, const AttnContext& ctx, const float* q, float* out) {
  const std::size_t H = c.num_heads, hd = c.head_dim, vd = c.value_dim, group = c.num_heads / c.num_kv_heads;
  const std::size_t window = c.layers[ctx.layer].sliding_window;
  const float scale = c.attn_scale > 0 ? c.attn_scale : 1.0f / std::sqrt(static_cast<float>(hd));
  const float cap = c.attn_softcap, inv_cap = cap > 0 ? 1.0f / cap : 0.0f;
  // Batched prompts sum the values in 16 position lanes, single tokens in the dot-product order
  // (as llama.cpp's matrix and vector paths do; see kernels/nn_reference.hpp).
  const std::size_t lanes = ctx.n_tokens > 1 ? 16 : 64;
  const std::size_t scores_len = (ctx.kv.capacity() + 15) / 16 * 16;
  const std::size_t scratch = scores_len + 64 * vd + hd;
  ctx.ws.reserve_threads(ctx.pool.size(), scratch);  // sized once: no growth as the sequence grows
  ctx.pool.parallel_for(ctx.n_tokens * H, [&](std::size_t b, std::size_t e, std::size_t thread) {
    float* scores = ctx.ws.thread_scratch(thread, scratch);
    float* acc = scores + scores_len;
    float* q_scaled = acc + 64 * vd;
    for (std::size_t item = b; item < e; ++item) {
      const std::size_t t = item / H, h = item % H, kvh = h / group;
      const std::size_t pos = ctx.pos0 + t;
      const std::size_t start = (window > 0 && pos + 1 > window) ? pos + 1 - window : 0;
      const float* qh = q + t * H * hd + h * hd;
      float score_scale = scale;
      if (c.scale_queries) {  // Gemma: the queries carry the scale
        for (std::size_t i = 0; i < hd; ++i) q_scaled[i] = qh[i] * scale;
        qh = q_scaled;
        score_scale = 1.0f;
      }
      // Scores for every cached position up to `pos`; positions outside a sliding window are masked.
      std::fill(scores, scores + start, -std::numeric_limits<float>::infinity());
      const std::size_t k_stride = c.num_kv_heads * hd, v_stride = c.num_kv_heads * vd;
      kernels::attn_scores_f32(qh, ctx.kv.k_rows_f32(ctx.layer, start) + kvh * hd, k_stride, hd, pos + 1 - start, score_scale,
                               scores + start);
      if (cap > 0)  // soft-capping as llama.cpp orders it: scale by 1/cap, tanh, scale by cap
        for (std::size_t j = start; j <= pos; ++j) scores[j] = std::tanh(scores[j] * inv_cap) * cap;
      kernels::softmax_f32(scores, scores, pos + 1);
      kernels::attn_values_f32(scores, ctx.kv.v_rows_f32(ctx.layer, 0) + kvh * vd, v_stride, pos + 1, vd, lanes, acc,
                               out + t * H * vd + h * vd);
    }
  });
}

/// attend() with the tiled online-softmax kernel over a cache with key tiles (kernels::attn_tiled).
/// Work items are (token block, KV head): the query heads of a group, for enough consecutive tokens to
/// fill 8 rows, share every key and value load. When there are fewer items than twice the threads
/// (decode), each item's positions are also split into ranges whose partial softmax states are merged.
inline void attend_tiled(const ModelConfig& c, const AttnContext& ctx, const float* q, float* out) {
  const std::size_t H = c.num_heads, KVH = c.num_kv_heads, hd = c.head_dim, vd = c.value_dim, G = H / KVH;
  const std::size_t T = ctx.n_tokens, window = c.layers[ctx.layer].sliding_window;
  const float scale = c.attn_scale > 0 ? c.attn_scale : 1.0f / std::sqrt(static_cast<float>(hd));
  const std::size_t tpi = std::min(T, (8 + G - 1) / G), rows = tpi * G;  // tokens and query rows per item
  const std::size_t items = (T + tpi - 1) / tpi * KVH;
  const std::size_t threads = ctx.pool.size(), span = ctx.pos0 + T;
  std::size_t splits = 1;
  if (items < 2 * threads) splits = std::clamp<std::size_t>((2 * threads + items - 1) / items, 1, std::max<std::size_t>(1, span / 256));
  const std::size_t state = rows * (vd + 2);  // o, m, l of one item (or one split of it)
  float* partial = splits > 1 ? ctx.ws.get(Workspace::Up, items * splits * state) : nullptr;  // Up: free until the FFN
  const std::size_t q_floats = (rows * hd + 1) / 2 * 2;  // keeps the position arrays after it 8-byte aligned
  const std::size_t scratch = q_floats + 2 * rows * sizeof(std::size_t) / sizeof(float) + state;
  ctx.ws.reserve_threads(threads, scratch);
  const float ninf = -std::numeric_limits<float>::infinity();
  ctx.pool.parallel_for(items * splits, [&](std::size_t b, std::size_t e, std::size_t thread) {
    float* qs = ctx.ws.thread_scratch(thread, scratch);
    auto* begin = reinterpret_cast<std::size_t*>(qs + q_floats);
    std::size_t* end = begin + rows;
    float* own = reinterpret_cast<float*>(end + rows);
    for (std::size_t w = b; w < e; ++w) {
      const std::size_t item = w / splits, split = w % splits, kvh = item % KVH, t0 = item / KVH * tpi;
      const std::size_t nt = std::min(tpi, T - t0), n = nt * G;
      for (std::size_t tt = 0; tt < nt; ++tt) {
        const std::size_t pos = ctx.pos0 + t0 + tt;
        for (std::size_t g = 0; g < G; ++g) {
          const std::size_t r = tt * G + g;
          const float* src = q + (t0 + tt) * H * hd + (kvh * G + g) * hd;
          for (std::size_t i = 0; i < hd; ++i) qs[r * hd + i] = src[i] * scale;
          begin[r] = (window > 0 && pos + 1 > window) ? pos + 1 - window : 0;
          end[r] = pos + 1;
        }
      }
      // This split's positions: a share of [first begin, last end), cut at tile boundaries.
      const std::size_t lo = begin[0] / KvCache::kTile * KvCache::kTile, hi = end[n - 1];
      const std::size_t tiles = (hi - lo + KvCache::kTile - 1) / KvCache::kTile;
      const std::size_t p0 = lo + tiles * split / splits * KvCache::kTile, p1 = std::min(hi, lo + tiles * (split + 1) / splits * KvCache::kTile);
      float* st = partial ? partial + w * state : own;
      float *o = st, *m = st + rows * vd, *l = m + rows;
      std::fill(o, o + n * vd, 0.0f);
      std::fill(m, m + n, ninf);
      std::fill(l, l + n, 0.0f);
      const kernels::AttnQueries aq{.q = qs, .n = n, .begin = begin, .end = end, .softcap = c.attn_softcap};
      if (p0 < p1) kernels::attn_tiled(ctx.kv.view(ctx.layer, kvh), aq, p0, p1, m, l, o);
      if (partial) continue;
      for (std::size_t r = 0; r < n; ++r) {
        float* dst = out + (t0 + r / G) * H * vd + (kvh * G + r % G) * vd;
        const float inv = 1.0f / l[r];
        for (std::size_t i = 0; i < vd; ++i) dst[i] = o[r * vd + i] * inv;
      }
    }
  });
  if (!partial) return;
  // Merge the splits of each item: rescale every partial state to the common maximum.
  for (std::size_t item = 0; item < items; ++item) {
    const std::size_t kvh = item % KVH, t0 = item / KVH * tpi, n = std::min(tpi, T - t0) * G;
    for (std::size_t r = 0; r < n; ++r) {
      float mx = ninf;
      for (std::size_t sp = 0; sp < splits; ++sp) mx = std::max(mx, partial[(item * splits + sp) * state + rows * vd + r]);
      float* dst = out + (t0 + r / G) * H * vd + (kvh * G + r % G) * vd;
      std::fill(dst, dst + vd, 0.0f);
      float sum = 0;
      for (std::size_t sp = 0; sp < splits; ++sp) {
        const float* st = partial + (item * splits + sp) * state;
        const float m = st[rows * vd + r], l = st[rows * vd + rows + r];
        if (m == ninf) continue;
        const float f = std::exp(m - mx);
        sum += l * f;
        for (std::size_t i = 0; i < vd; ++i) dst[i] += st[r * vd + i] * f;
      }
      for (std::size_t i = 0; i < vd; ++i) dst[i] /= sum;
    }
  }
}

/// Scaled dot-product attention over the KV cache for already projected and rotated queries.
/// `q`: [n_tokens, num_heads * head_dim]; keys/values for positions `<= pos0 + t` are in the cache;
/// writes `out`: [n_tokens, num_heads * value_dim].
inline void attend(const ModelConfig& c, const AttnContext& ctx, const float* q, float* out) {
  if (ctx.kv.options().key_tiles) attend_tiled(c, ctx, q, out); else attend_exact(c, ctx, q, out);
}

/// Attention with Q, K, V projections (separate, or fused into one `attn_qkv` matrix as GPT-2 and
/// Phi-3 store them), optional biases and optional per-head Q/K RMSNorm (Qwen3, Gemma 3).
/// @tparam Pos the positional policy applied to queries and keys (e.g. `RoPE<RopeStyle::Normal>`).
template <class Pos>
struct GroupedQueryAttention {
  static_assert(PositionalPolicy<Pos>, "GroupedQueryAttention<Pos>: Pos must provide angles(pos, cs) and "
                                       "rotate(x, heads, head_dim, cs) - see nn/rope.hpp");
  std::optional<AnyWeight> wq, wk, wv, wqkv;
  AnyWeight wo;
  std::optional<Tensor<F32, Cpu>> bq, bk, bv, bqkv, bo;
  std::optional<RMSNorm> q_norm, k_norm;
  Pos pos_enc;

  static GroupedQueryAttention load(const WeightLoader& l, std::size_t layer, const ModelConfig& c) {
    const std::size_t d = c.model_dim, q_w = c.num_heads * c.head_dim, k_w = c.num_kv_heads * c.head_dim,
                      v_w = c.num_kv_heads * c.value_dim, o_in = c.num_heads * c.value_dim;
    GroupedQueryAttention a{.wo = l.matrix(Role::AttnOutput, layer, d, o_in), .pos_enc = Pos::load(l, layer, c)};
    if (l.has(Role::AttnQKV, layer)) {
      a.wqkv = l.matrix(Role::AttnQKV, layer, q_w + k_w + v_w, d);
      a.bqkv = l.optional_vector(Role::AttnQKVBias, layer, q_w + k_w + v_w);
    } else {
      a.wq = l.matrix(Role::AttnQ, layer, q_w, d);
      a.wk = l.matrix(Role::AttnK, layer, k_w, d);
      a.wv = l.matrix(Role::AttnV, layer, v_w, d);
      a.bq = l.optional_vector(Role::AttnQBias, layer, q_w);
      a.bk = l.optional_vector(Role::AttnKBias, layer, k_w);
      a.bv = l.optional_vector(Role::AttnVBias, layer, v_w);
    }
    a.bo = l.optional_vector(Role::AttnOutputBias, layer, d);
    a.q_norm = RMSNorm::load_optional(l, Role::AttnQNorm, layer, c.head_dim, c);
    a.k_norm = RMSNorm::load_optional(l, Role::AttnKNorm, layer, c.head_dim, c);
    return a;
  }

  /// The activation type of the Q/K/V products (nothing for float weights): DecoderLayer then fuses the
  /// preceding norm with the quantization of its output (see normalize_for_matmul).
  [[nodiscard]] std::optional<GgmlType> input_activation_type() const {
    return nn::input_activation_type(wqkv ? *wqkv : *wq);
  }

  /// Context shift: moves positions `[keep + discard, end)` of `layer` in `kv` down by `discard`,
  /// rotating each key back by `discard` positions (RoPE angles add up, so a key rotated for position
  /// p, then by -d, is the key for p - d). Values move unchanged.
  void shift_cache(const ModelConfig& c, KvCache& kv, std::size_t layer, std::size_t keep, std::size_t discard,
                   std::size_t end) const {
    std::vector<float> k(c.num_kv_heads * c.head_dim), v(c.num_kv_heads * c.value_dim), cs(c.rope_dim + 2);
    pos_enc.angles(discard, cs.data());
    for (std::size_t i = 1; i < c.rope_dim; i += 2) cs[i] = -cs[i];  // (cos d, -sin d): the inverse rotation
    for (std::size_t p = keep + discard; p < end; ++p) {
      kv.load_k(layer, p, k.data());
      kv.load_v(layer, p, v.data());
      pos_enc.rotate(k.data(), c.num_kv_heads, c.head_dim, cs.data());
      kv.store(layer, p - discard, 1, k.data(), v.data());
    }
  }

  /// `out[t] = Wo · attention(x[t])` for the batch in `ctx`; also appends the batch's keys/values to the cache.
  void forward(const ModelConfig& c, const AttnContext& ctx, const float* x, float* out) const {
    const std::size_t T = ctx.n_tokens, d = c.model_dim;
    const std::size_t q_w = c.num_heads * c.head_dim, k_w = c.num_kv_heads * c.head_dim, v_w = c.num_kv_heads * c.value_dim;
    float* q = ctx.ws.get(Workspace::Query, T * q_w);
    float* att = ctx.ws.get(Workspace::AttnOut, T * c.num_heads * c.value_dim);
    float* k = ctx.ws.get(Workspace::Key, T * k_w);
    float* v = ctx.ws.get(Workspace::Value, T * v_w);
    if (wqkv) {
      const std::size_t w = q_w + k_w + v_w;
      float* qkv = ctx.ws.get(Workspace::Gate, T * w);  // Gate: free until the FFN
      matmul(*wqkv, x, d, T, qkv, w, ctx.pool);
      detail::add_bias(qkv, bqkv ? &*bqkv : nullptr, T, w);
      for (std::size_t t = 0; t < T; ++t) {
        const float* row = qkv + t * w;
        std::copy(row, row + q_w, q + t * q_w);
        std::copy(row + q_w, row + q_w + k_w, k + t * k_w);
        std::copy(row + q_w + k_w, row + w, v + t * v_w);
      }
    } else {
      const MatmulOutput qkv[] = {{&*wq, q, q_w}, {&*wk, k, k_w}, {&*wv, v, v_w}};
      matmul_group(qkv, x, d, T, ctx.pool);
      detail::add_bias(q, bq ? &*bq : nullptr, T, q_w);
      detail::add_bias(k, bk ? &*bk : nullptr, T, k_w);
      detail::add_bias(v, bv ? &*bv : nullptr, T, v_w);
    }
    if (q_norm) q_norm->forward(q, q, T * c.num_heads);
    if (k_norm) k_norm->forward(k, k, T * c.num_kv_heads);
    float* cs = ctx.ws.get(Workspace::Extra, c.rope_dim + 2);
    const std::size_t att_w = c.num_heads * c.value_dim;
    ctx.for_each_segment([&](const AttnSegment& seg) {
      for (std::size_t t = seg.row0; t < seg.row0 + seg.n; ++t) {
        pos_enc.angles(seg.pos0 + t - seg.row0, cs);
        pos_enc.rotate(q + t * q_w, c.num_heads, c.head_dim, cs);
        pos_enc.rotate(k + t * k_w, c.num_kv_heads, c.head_dim, cs);
      }
      seg.kv->store(ctx.layer, seg.pos0, seg.n, k + seg.row0 * k_w, v + seg.row0 * v_w);
      attend(c, ctx.segment(seg), q + seg.row0 * q_w, att + seg.row0 * att_w);
    });
    matmul(wo, att, c.num_heads * c.value_dim, T, out, d, ctx.pool);
    detail::add_bias(out, bo ? &*bo : nullptr, T, d);
  }
};

}  // namespace llmforge::nn
