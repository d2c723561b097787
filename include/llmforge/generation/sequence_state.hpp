// SPDX-License-Identifier: MIT
// A sequence's saved state (its tokens and their keys and values) in memory and on disk: the prefix
// cache's snapshot, restore and fork, and `/save` / `/load` of `llmforge chat`.
//
// File layout (little-endian), version 1:
//   "LMFSTATE" | u32 version | u32 header bytes (after this field, up to the tokens) |
//   u64 model fingerprint | u8 key type | u8 value type | u8 key tiles | u8 0 | u64 positions |
//   u64 token count | i32 tokens[count] | u64 data bytes | data | u64 FNV-1a-64 of everything before.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <llmforge/core/error.hpp>
#include <llmforge/generation/generator.hpp>
#include <llmforge/io/atomic_file.hpp>
#include <llmforge/kv/kv_cache.hpp>
#include <llmforge/models/model.hpp>

namespace llmforge {

/// The tokens of a sequence and the keys and values the session holds for them.
struct SequenceState {
  std::vector<int32_t> tokens;
  KvCache::Snapshot kv;
};

namespace detail {
inline constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ull, kFnvPrime = 0x100000001b3ull;
inline uint64_t fnv1a(const void* data, std::size_t n, uint64_t h = kFnvOffset) noexcept {
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * kFnvPrime;
  return h;
}
}  // namespace detail

/// A number that changes when anything the keys and values depend on changes: the architecture,
/// every size and hyper-parameter, the weights' type (through their byte count) and the mode.
[[nodiscard]] inline uint64_t model_fingerprint(const Model& m) {
  const auto& c = m.config();
  std::string s = c.arch + '\n' + c.name + '\n';
  for (std::size_t v : {c.model_dim, c.num_layers, c.num_heads, c.num_kv_heads, c.head_dim, c.value_dim, c.ffn_dim,
                        c.vocab_size, c.context_len, c.rope_dim, m.weight_bytes(), std::size_t{m.exact()}})
    s += std::to_string(v) + ',';
  for (float v : {c.norm_eps, c.attn_scale, c.attn_softcap, c.final_softcap, c.embed_scale}) s += std::to_string(v) + ',';
  for (const auto& l : c.layers) s += std::to_string(l.sliding_window) + '/' + std::to_string(l.rope_base) + ';';
  return detail::fnv1a(s.data(), s.size());
}

/// The generator's current sequence (what a later generate() call could continue or reuse).
[[nodiscard]] inline SequenceState save_state(const Generator& g) {
  const auto tokens = g.cached_tokens();
  return SequenceState{{tokens.begin(), tokens.end()}, g.session().kv.snapshot(tokens.size())};
}

/// Makes `g` hold `s`: the next generate() whose prompt starts with `s.tokens` processes only the rest.
/// @throws ConfigError if the state does not fit the generator's cache (size, type or layout).
inline void restore_state(Generator& g, const SequenceState& s) {
  if (s.tokens.size() != s.kv.n_pos) throw ConfigError("sequence state: token count and cached positions differ");
  auto& session = g.session();
  if (s.tokens.size() >= session.kv.capacity())
    throw ConfigError("sequence state: " + std::to_string(s.tokens.size()) + " tokens do not fit a context of " +
                      std::to_string(session.kv.capacity()));
  g.reset();
  session.kv.restore(s.kv);
  session.pos = s.tokens.size();
  g.assume_cached(s.tokens);
}

namespace detail {
class StateWriter {
 public:
  void bytes(const void* p, std::size_t n) { buf_.append(static_cast<const char*>(p), n); }
  template <class T>
  void pod(T v) { bytes(&v, sizeof v); }
  std::string& buffer() { return buf_; }

 private:
  std::string buf_;
};

class StateReader {
 public:
  StateReader(std::string_view data, std::string path) : d_(data), path_(std::move(path)) {}
  void bytes(void* out, std::size_t n) {
    if (n > d_.size() - at_) fail("truncated (needs " + std::to_string(at_ + n) + " bytes, has " + std::to_string(d_.size()) + ")");
    std::memcpy(out, d_.data() + at_, n);
    at_ += n;
  }
  template <class T>
  T pod() {
    T v{};
    bytes(&v, sizeof v);
    return v;
  }
  [[nodiscard]] std::size_t offset() const noexcept { return at_; }
  [[noreturn]] void fail(const std::string& what) const { throw FormatError(path_ + ": sequence state file: " + what); }

 private:
  std::string_view d_;
  std::string path_;
  std::size_t at_ = 0;
};
inline constexpr char kStateMagic[8] = {'L', 'M', 'F', 'S', 'T', 'A', 'T', 'E'};
inline constexpr uint32_t kStateVersion = 1;
}  // namespace detail

/// Writes `s` for model `m` to `path` (through a temporary file renamed into place). @throws IoError.
inline void save_state_file(const std::filesystem::path& path, const Model& m, const SequenceState& s) {
  detail::StateWriter w;
  w.bytes(detail::kStateMagic, sizeof detail::kStateMagic);
  w.pod(detail::kStateVersion);
  w.pod(uint32_t{8 + 4 + 8});
  w.pod(model_fingerprint(m));
  w.pod(static_cast<uint8_t>(s.kv.options.k));
  w.pod(static_cast<uint8_t>(s.kv.options.v));
  w.pod(static_cast<uint8_t>(s.kv.options.key_tiles));
  w.pod(uint8_t{0});
  w.pod(static_cast<uint64_t>(s.kv.n_pos));
  w.pod(static_cast<uint64_t>(s.tokens.size()));
  w.bytes(s.tokens.data(), s.tokens.size() * sizeof(int32_t));
  w.pod(static_cast<uint64_t>(s.kv.data.size()));
  w.bytes(s.kv.data.data(), s.kv.data.size());
  w.pod(detail::fnv1a(w.buffer().data(), w.buffer().size()));
  io::write_file_atomically(path, w.buffer());
}

/// Reads a state written by save_state_file for the same model.
/// @throws IoError if unreadable; FormatError if corrupt, truncated or of another version;
///         ConfigError if it was saved from a different model.
[[nodiscard]] inline SequenceState load_state_file(const std::filesystem::path& path, const Model& m) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(path.string() + ": cannot open file");
  const std::string data((std::istreambuf_iterator<char>(in)), {});
  detail::StateReader r(data, path.string());
  char magic[8];
  r.bytes(magic, sizeof magic);
  if (std::memcmp(magic, detail::kStateMagic, sizeof magic) != 0) r.fail("not a sequence state file (bad magic)");
  const auto version = r.pod<uint32_t>();
  if (version != detail::kStateVersion)
    r.fail("version " + std::to_string(version) + " is not supported (this build reads version " +
           std::to_string(detail::kStateVersion) + ")");
  if (data.size() < 8 + 8) r.fail("truncated");
  uint64_t stored_sum;
  std::memcpy(&stored_sum, data.data() + data.size() - 8, 8);
  if (detail::fnv1a(data.data(), data.size() - 8) != stored_sum) r.fail("checksum mismatch (the file is damaged)");
  if (r.pod<uint32_t>() != 8 + 4 + 8) r.fail("unexpected header size");
  if (r.pod<uint64_t>() != model_fingerprint(m))
    throw ConfigError(path.string() + ": the sequence state was saved from a different model (or load options)");
  SequenceState s;
  const auto k = r.pod<uint8_t>(), v = r.pod<uint8_t>(), tiles = r.pod<uint8_t>();
  (void)r.pod<uint8_t>();
  if (k > 2 || v > 2 || tiles > 1) r.fail("unknown cache type");
  s.kv.options = KvOptions{static_cast<KvType>(k), static_cast<KvType>(v), tiles == 1};
  s.kv.n_pos = r.pod<uint64_t>();
  const auto count = r.pod<uint64_t>();
  if (count != s.kv.n_pos || count > m.config().context_len) r.fail("token count " + std::to_string(count) + " is out of range");
  s.tokens.resize(count);
  r.bytes(s.tokens.data(), count * sizeof(int32_t));
  for (int32_t id : s.tokens)
    if (id < 0 || static_cast<std::size_t>(id) >= m.config().vocab_size) r.fail("token id " + std::to_string(id) + " is out of range");
  const auto bytes = r.pod<uint64_t>();
  if (bytes > data.size() - r.offset()) r.fail("truncated key/value data");
  s.kv.data.resize(bytes);
  r.bytes(s.kv.data.data(), bytes);
  if (r.offset() + 8 != data.size()) r.fail("unexpected bytes after the key/value data");
  return s;
}

}  // namespace llmforge
