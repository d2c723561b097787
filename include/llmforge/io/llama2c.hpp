// SPDX-License-Identifier: MIT
// llama2.c checkpoints (karpathy/llama2.c run.c: the legacy headerless-magic version 0 and the
// float32 version 1 "ak42" export) and llama2.c tokenizer.bin files, opened as GGUF-shaped files
// of architecture "llama" (the weights are already in GGUF's layout, so they stay zero-copy).
#pragma once

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <llmforge/core/checked.hpp>
#include <llmforge/core/error.hpp>
#include <llmforge/io/gguf_reader.hpp>
#include <llmforge/io/mapped_file.hpp>
#include <llmforge/io/metadata.hpp>

namespace llmforge::io {

/// Magic of a version-1+ llama2.c export ("ak42" little-endian).
inline constexpr uint32_t kLlama2cMagic = 0x616b3432;

/// Whether the file at `path` starts like a llama2.c checkpoint: the "ak42" magic, or a legacy
/// header of seven plausible int32 sizes.
[[nodiscard]] inline bool looks_like_llama2c(const std::filesystem::path& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  int32_t h[7] = {};
  const std::size_t n = std::fread(h, 4, 7, f);
  std::fclose(f);
  if (n != 7) return false;
  if (static_cast<uint32_t>(h[0]) == kLlama2cMagic) return true;
  const int64_t vocab = h[5] < 0 ? -static_cast<int64_t>(h[5]) : h[5];
  return h[0] > 0 && h[0] <= 65536 && h[1] > 0 && h[2] > 0 && h[2] <= 1024 && h[3] > 0 && h[4] > 0 && h[4] <= h[3] &&
         h[0] % h[3] == 0 && vocab > 0 && h[6] > 0;
}

/// Adds a llama2.c tokenizer file (uint32 max_token_length, then per token: float32 score, int32
/// byte length, bytes) to `md` as GGUF "llama" (SentencePiece) tokenizer metadata: spaces become
/// U+2581, "\n<s>\n" / "\n</s>\n" become <s> / </s>, <0xXX> pieces are byte tokens.
/// @throws IoError; FormatError naming the file and the token where the file is malformed.
inline void add_llama2c_tokenizer(const std::filesystem::path& path, std::size_t vocab_size, Metadata& md) {
  const auto file = MappedFile::open(path);
  const std::string where = file->path() + ": invalid llama2.c tokenizer: ";
  const auto* p = reinterpret_cast<const unsigned char*>(file->data());
  const std::size_t size = file->size();
  std::size_t pos = 4;
  if (size < 4) throw FormatError(where + "shorter than its 4-byte header");
  auto tokens = std::make_shared<ArrayValue>(), scores = std::make_shared<ArrayValue>(), types = std::make_shared<ArrayValue>();
  tokens->element_type = ValueType::String;
  scores->element_type = ValueType::F32;
  types->element_type = ValueType::I32;
  for (std::size_t i = 0; i < vocab_size; ++i) {
    if (size - pos < 8) throw FormatError(where + "token " + std::to_string(i) + " of " + std::to_string(vocab_size) + " is truncated");
    float score;
    int32_t len;
    std::memcpy(&score, p + pos, 4);
    std::memcpy(&len, p + pos + 4, 4);
    pos += 8;
    if (len < 0 || static_cast<std::size_t>(len) > size - pos)
      throw FormatError(where + "token " + std::to_string(i) + " has length " + std::to_string(len) + ", past the end of the file");
    std::string piece(reinterpret_cast<const char*>(p + pos), static_cast<std::size_t>(len));
    pos += static_cast<std::size_t>(len);
    int32_t type = 1;  // normal
    if (i == 0) {
      type = 2;  // unknown
    } else if (piece == "\n<s>\n" || piece == "\n</s>\n") {
      piece = piece == "\n<s>\n" ? "<s>" : "</s>";
      type = 3;  // control
    } else if (piece.size() == 6 && piece.rfind("<0x", 0) == 0 && piece[5] == '>') {
      type = 6;  // byte
    } else {
      std::string out;
      for (char c : piece) out += c == ' ' ? std::string("\xE2\x96\x81") : std::string(1, c);
      piece = std::move(out);
    }
    tokens->items.emplace_back(std::move(piece));
    scores->items.emplace_back(score);
    types->items.emplace_back(type);
  }
  if (pos != size)
    throw FormatError(where + "holds " + std::to_string(size - pos) + " bytes after the " + std::to_string(vocab_size) +
                      " tokens the model needs (a tokenizer of another vocabulary size?)");
  md.set("tokenizer.ggml.model", std::string("llama"));
  md.set("tokenizer.ggml.tokens", std::shared_ptr<const ArrayValue>(tokens));
  md.set("tokenizer.ggml.scores", std::shared_ptr<const ArrayValue>(scores));
  md.set("tokenizer.ggml.token_type", std::shared_ptr<const ArrayValue>(types));
  md.set("tokenizer.ggml.unknown_token_id", uint32_t{0});
  md.set("tokenizer.ggml.bos_token_id", uint32_t{1});
  md.set("tokenizer.ggml.eos_token_id", uint32_t{2});
  md.set("tokenizer.ggml.add_bos_token", true);
  md.set("tokenizer.ggml.add_eos_token", false);
}

/// Whether `path` looks like a llama2.c tokenizer file (not a GGUF, JSON or SentencePiece file).
[[nodiscard]] inline bool looks_like_llama2c_tokenizer(const std::filesystem::path& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  unsigned char h[12] = {};
  const std::size_t n = std::fread(h, 1, sizeof h, f);
  std::fclose(f);
  if (n < 12) return false;
  uint32_t max_len;
  int32_t len;
  std::memcpy(&max_len, h, 4);
  std::memcpy(&len, h + 8, 4);
  return max_len > 0 && max_len < 4096 && len >= 0 && static_cast<uint32_t>(len) <= max_len;
}

/// Opens a llama2.c checkpoint as a GGUF-shaped file of architecture "llama". `tokenizer`, if not
/// empty, is a llama2.c tokenizer file whose vocabulary goes into the metadata; otherwise
/// `tok<vocab>.bin` or `tokenizer.bin` beside the checkpoint is used if its size fits.
/// @throws IoError; FormatError naming the file and what is wrong (implausible header, truncated data).
[[nodiscard]] inline GgufFile open_llama2c(const std::filesystem::path& path, const std::filesystem::path& tokenizer = {}) {
  const auto file = MappedFile::open(path);
  const std::string where = file->path() + ": invalid llama2.c checkpoint: ";
  const std::size_t size = file->size();
  auto* base = file->data();
  int32_t h[7];
  std::size_t header = 28;
  bool shared = true;
  uint32_t magic = 0;
  if (size >= 4) std::memcpy(&magic, base, 4);
  if (magic == kLlama2cMagic) {
    if (size < 256) throw FormatError(where + "the version-1 header is truncated");
    int32_t version;
    std::memcpy(&version, base + 4, 4);
    if (version != 1)
      throw UnsupportedError(file->path() + ": llama2.c export version " + std::to_string(version) +
                             " is not supported (version 0 and the float32 version 1 are)");
    std::memcpy(h, base + 8, 28);
    shared = base[36] != std::byte{0};
    header = 256;
  } else {
    if (size < 28) throw FormatError(where + "shorter than its 28-byte header");
    std::memcpy(h, base, 28);
    shared = h[5] > 0;
  }
  // A negative vocab_size in the legacy header means an unshared classifier (int64: -INT32_MIN is fine).
  const int64_t dim = h[0], hidden = h[1], layers = h[2], heads = h[3], kv_heads = h[4], seq = h[6];
  const int64_t vocab = h[5] < 0 ? -static_cast<int64_t>(h[5]) : h[5];
  auto bad = [&](const std::string& what) { throw FormatError(where + what); };
  if (dim <= 0 || dim > 65536) bad("dim " + std::to_string(dim) + " is out of range");
  if (hidden <= 0 || hidden > 1 << 20) bad("hidden_dim " + std::to_string(hidden) + " is out of range");
  if (layers <= 0 || layers > 1024) bad("n_layers " + std::to_string(layers) + " is out of range");
  if (heads <= 0 || dim % heads != 0) bad("n_heads " + std::to_string(heads) + " does not divide dim " + std::to_string(dim));
  if (kv_heads <= 0 || heads % kv_heads != 0) bad("n_kv_heads " + std::to_string(kv_heads) + " does not divide n_heads " + std::to_string(heads));
  if (vocab <= 0 || vocab > 1 << 24) bad("vocab_size " + std::to_string(vocab) + " is out of range");
  if (seq <= 0 || seq > 1 << 24) bad("seq_len " + std::to_string(seq) + " is out of range");
  const std::size_t head_size = static_cast<std::size_t>(dim / heads), kv_dim = head_size * static_cast<std::size_t>(kv_heads);
  const auto d = static_cast<std::size_t>(dim), f = static_cast<std::size_t>(hidden), L = static_cast<std::size_t>(layers),
             V = static_cast<std::size_t>(vocab), S = static_cast<std::size_t>(seq);

  Metadata md(file->path());
  md.set("general.architecture", std::string("llama"));
  md.set("general.name", path.stem().string());
  md.set("llama.embedding_length", static_cast<uint32_t>(d));
  md.set("llama.feed_forward_length", static_cast<uint32_t>(f));
  md.set("llama.block_count", static_cast<uint32_t>(L));
  md.set("llama.attention.head_count", static_cast<uint32_t>(heads));
  md.set("llama.attention.head_count_kv", static_cast<uint32_t>(kv_heads));
  md.set("llama.context_length", static_cast<uint32_t>(S));
  md.set("llama.rope.dimension_count", static_cast<uint32_t>(head_size));
  md.set("llama.rope.freq_base", 10000.0f);
  md.set("llama.attention.layer_norm_rms_epsilon", 1e-5f);
  md.set("llama.vocab_size", static_cast<uint32_t>(V));

  std::vector<GgufTensorInfo> tensors;
  std::size_t pos = header;
  auto take = [&](std::string name, Shape shape) {
    const uint64_t bytes = numel(shape) * 4;
    if (bytes > size - std::min(pos, size)) bad("tensor '" + name + "' needs " + std::to_string(bytes) + " bytes at offset " +
                                                std::to_string(pos) + " but the file holds " + std::to_string(size) + " (truncated?)");
    GgufTensorInfo t;
    t.name = std::move(name);
    t.shape = std::move(shape);
    t.type = static_cast<uint32_t>(GgmlType::F32);
    t.offset = pos;
    t.size = bytes;
    t.ptr = base + pos;
    t.owner = file;
    pos += bytes;
    return t;
  };
  auto per_layer = [&](const char* gguf, Shape shape) {
    for (std::size_t l = 0; l < L; ++l) tensors.push_back(take("blk." + std::to_string(l) + "." + gguf + ".weight", shape));
  };
  if (header == 28) {  // version 0: embeddings, then each kind of weight for all layers
    tensors.push_back(take("token_embd.weight", Shape{V, d}));
    per_layer("attn_norm", Shape{d});
    per_layer("attn_q", Shape{d, d});
    per_layer("attn_k", Shape{kv_dim, d});
    per_layer("attn_v", Shape{kv_dim, d});
    per_layer("attn_output", Shape{d, d});
    per_layer("ffn_norm", Shape{d});
    per_layer("ffn_gate", Shape{f, d});
    per_layer("ffn_down", Shape{d, f});
    per_layer("ffn_up", Shape{f, d});
    tensors.push_back(take("output_norm.weight", Shape{d}));
    pos += S * head_size * 4;  // freq_cis_real and freq_cis_imag (seq_len x head_size/2 each)
    if (pos > size) bad("the RoPE tables after the weights are truncated");
  } else {  // version 1: norms first, then the embeddings and matrices
    per_layer("attn_norm", Shape{d});
    per_layer("ffn_norm", Shape{d});
    tensors.push_back(take("output_norm.weight", Shape{d}));
    tensors.push_back(take("token_embd.weight", Shape{V, d}));
    per_layer("attn_q", Shape{d, d});
    per_layer("attn_k", Shape{kv_dim, d});
    per_layer("attn_v", Shape{kv_dim, d});
    per_layer("attn_output", Shape{d, d});
    per_layer("ffn_gate", Shape{f, d});
    per_layer("ffn_down", Shape{d, f});
    per_layer("ffn_up", Shape{f, d});
  }
  if (!shared) tensors.push_back(take("output.weight", Shape{V, d}));

  std::filesystem::path tok = tokenizer;
  if (tok.empty()) {
    for (const auto& c : {path.parent_path() / ("tok" + std::to_string(V) + ".bin"), path.parent_path() / "tokenizer.bin"}) {
      std::error_code ec;
      if (std::filesystem::exists(c, ec) && looks_like_llama2c_tokenizer(c)) {
        try {
          Metadata probe;
          add_llama2c_tokenizer(c, V, probe);
          tok = c;
          break;
        } catch (const Error&) {  // another model's tokenizer: try the next candidate
        }
      }
    }
  }
  if (!tok.empty()) add_llama2c_tokenizer(tok, V, md);
  return GgufFile::assemble(file->path(), "llama2.c", std::move(md), std::move(tensors));
}

}  // namespace llmforge::io
