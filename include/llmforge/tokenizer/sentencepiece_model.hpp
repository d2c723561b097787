// SPDX-License-Identifier: MIT
// Loading SentencePiece `.model` files by reading the ModelProto protobuf wire format directly.
#pragma once

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>

#include <llmforge/core/error.hpp>
#include <llmforge/tokenizer/hf_tokenizer.hpp>
#include <llmforge/tokenizer/tokenizer.hpp>
#include <llmforge/tokenizer/vocab.hpp>

namespace llmforge::tokenizer {

namespace detail {

/// A bounds-checked reader of protobuf wire format.
class ProtoReader {
 public:
  ProtoReader(std::string_view data, std::string source, uint64_t base = 0)
      : data_(data), src_(std::move(source)), base_(base) {}

  struct Field {
    uint32_t number = 0;
    uint32_t wire = 0;
    uint64_t varint = 0;     // wire 0 (and the raw bits of wire 1/5)
    std::string_view bytes;  // wire 2
    uint64_t offset = 0;     // where the field's value starts, for nested readers and messages
  };

  [[nodiscard]] bool done() const noexcept { return pos_ >= data_.size(); }

  /// The next field. @throws FormatError on truncated or malformed input.
  Field next() {
    Field f;
    const uint64_t key = read_varint();
    f.number = static_cast<uint32_t>(key >> 3);
    f.wire = static_cast<uint32_t>(key & 7);
    if (f.number == 0) fail("field number 0");
    f.offset = base_ + pos_;
    switch (f.wire) {
      case 0:
        f.varint = read_varint();
        break;
      case 1:
        need(8);
        std::memcpy(&f.varint, data_.data() + pos_, 8);
        pos_ += 8;
        break;
      case 5: {
        need(4);
        uint32_t v;
        std::memcpy(&v, data_.data() + pos_, 4);
        f.varint = v;
        pos_ += 4;
        break;
      }
      case 2: {
        const uint64_t n = read_varint();
        f.offset = base_ + pos_;
        need(n);
        f.bytes = data_.substr(pos_, static_cast<std::size_t>(n));
        pos_ += static_cast<std::size_t>(n);
        break;
      }
      default:
        fail("unsupported wire type " + std::to_string(f.wire) + " for field " + std::to_string(f.number));
    }
    return f;
  }

  [[noreturn]] void fail(const std::string& what) const {
    char buf[32];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(base_ + pos_));
    throw FormatError(src_ + ": invalid SentencePiece model at offset " + buf + ": " + what);
  }
  [[nodiscard]] const std::string& source() const noexcept { return src_; }

  static float as_float(const Field& f) {
    const auto bits = static_cast<uint32_t>(f.varint);
    float v;
    std::memcpy(&v, &bits, 4);
    return v;
  }

 private:
  void need(uint64_t n) const {
    if (n > data_.size() - pos_) fail("length " + std::to_string(n) + " runs past the end of the data");
  }
  uint64_t read_varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      need(1);
      const auto c = static_cast<unsigned char>(data_[pos_++]);
      v |= static_cast<uint64_t>(c & 0x7F) << shift;
      if (c < 0x80) return v;
    }
    fail("varint longer than 10 bytes");
  }

  std::string_view data_;
  std::string src_;
  uint64_t base_;
  std::size_t pos_ = 0;
};

}  // namespace detail

/// A tokenizer from the bytes of a SentencePiece ModelProto (`tokenizer.model`): pieces with scores
/// and types, the trainer's model type (BPE -> SPM merging by score, UNIGRAM -> Viterbi), byte fallback,
/// unk/bos/eos/pad ids and the normalizer (dummy prefix, whitespace handling, precompiled charsmap).
/// @throws FormatError for malformed protobuf data; TokenizerError for WORD/CHAR models.
[[nodiscard]] inline Tokenizer tokenizer_from_sentencepiece(std::string_view data,
                                                            const std::string& source = "tokenizer.model") {
  Vocab v;
  v.source = source;
  v.model_name = "sentencepiece";
  v.add_space_prefix = true;
  v.remove_extra_whitespaces = true;
  v.escape_whitespace = true;
  v.byte_fallback = false;
  int64_t model_type = 1;  // UNIGRAM is the proto default
  int64_t unk = 0, bos = 1, eos = 2, pad = -1;
  detail::ProtoReader top(data, source);
  while (!top.done()) {
    const auto f = top.next();
    if (f.number == 1 && f.wire == 2) {  // SentencePiece piece
      detail::ProtoReader pr(f.bytes, source, f.offset);
      std::string piece;
      float score = 0.0f;
      int64_t type = 1;
      while (!pr.done()) {
        const auto g = pr.next();
        if (g.number == 1 && g.wire == 2) piece.assign(g.bytes);
        else if (g.number == 2 && g.wire == 5) score = detail::ProtoReader::as_float(g);
        else if (g.number == 3 && g.wire == 0) type = static_cast<int64_t>(g.varint);
      }
      if (type < 1 || type > 6) pr.fail("piece '" + piece + "' has unknown type " + std::to_string(type));
      v.tokens.push_back(std::move(piece));
      v.scores.push_back(score);
      v.types.push_back(static_cast<TokenType>(type));
    } else if (f.number == 2 && f.wire == 2) {  // TrainerSpec
      detail::ProtoReader tr(f.bytes, source, f.offset);
      while (!tr.done()) {
        const auto g = tr.next();
        if (g.wire != 0) continue;
        const auto sv = static_cast<int64_t>(g.varint);  // negative ids arrive as 64-bit two's complement
        switch (g.number) {
          case 3: model_type = sv; break;
          case 24: v.treat_whitespace_as_suffix = g.varint != 0; break;
          case 35: v.byte_fallback = g.varint != 0; break;
          case 40: unk = sv; break;
          case 41: bos = sv; break;
          case 42: eos = sv; break;
          case 43: pad = sv; break;
          default: break;
        }
      }
    } else if (f.number == 3 && f.wire == 2) {  // NormalizerSpec
      detail::ProtoReader nr(f.bytes, source, f.offset);
      while (!nr.done()) {
        const auto g = nr.next();
        if (g.number == 2 && g.wire == 2) v.precompiled_charsmap.assign(g.bytes);
        else if (g.number == 3 && g.wire == 0) v.add_space_prefix = g.varint != 0;
        else if (g.number == 4 && g.wire == 0) v.remove_extra_whitespaces = g.varint != 0;
        else if (g.number == 5 && g.wire == 0) v.escape_whitespace = g.varint != 0;
      }
    }
  }
  if (v.tokens.empty()) throw FormatError(source + ": the SentencePiece model has no pieces");
  if (model_type == 2) {
    v.kind = ModelKind::Spm;
  } else if (model_type == 1) {
    v.kind = ModelKind::Unigram;
  } else {
    throw TokenizerError(source + ": SentencePiece model type " + std::to_string(model_type) +
                         (model_type == 3 ? " (WORD)" : model_type == 4 ? " (CHAR)" : "") +
                         " is not supported; supported: 1 (UNIGRAM), 2 (BPE)");
  }
  const auto id = [&](int64_t x) -> int32_t {
    return x >= 0 && static_cast<uint64_t>(x) < v.tokens.size() ? static_cast<int32_t>(x) : -1;
  };
  v.special.unk = id(unk);
  v.special.bos = id(bos);
  v.special.eos = id(eos);
  v.special.pad = id(pad);
  // LLaMA-style BPE models start with BOS; T5-style Unigram models end with EOS.
  v.add_bos = v.kind == ModelKind::Spm && v.special.bos >= 0;
  v.add_eos = v.kind == ModelKind::Unigram && v.special.eos >= 0;
  v.index();
  v.collect_eog();
  return Tokenizer(std::move(v));
}

/// Loads a SentencePiece `.model` file. @throws IoError, FormatError or TokenizerError.
[[nodiscard]] inline Tokenizer load_sentencepiece(const std::filesystem::path& p) {
  return tokenizer_from_sentencepiece(detail::read_text_file(p), p.string());
}

}  // namespace llmforge::tokenizer
