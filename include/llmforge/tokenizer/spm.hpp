// SPDX-License-Identifier: MIT
// SentencePiece BPE: score-ordered merging of adjacent pieces over code points, with byte fallback.
#pragma once

#include <cstdint>
#include <cstdio>
#include <queue>
#include <string>
#include <string_view>
#include <vector>

#include <llmforge/tokenizer/utf8.hpp>
#include <llmforge/tokenizer/vocab.hpp>

namespace llmforge::tokenizer {

/// True if no piece of `v` has U+2581 after a character other than U+2581 (SentencePiece trained
/// with split_by_whitespace, as LLaMA's). Then no merge can cross the start of a "▁word", and text
/// can be cut there before merging, which keeps the merge queues short.
[[nodiscard]] inline bool pieces_begin_at_spaces(const Vocab& v) {
  static constexpr std::string_view kSpace = "\xE2\x96\x81";
  for (const auto& t : v.tokens) {
    for (std::size_t at = t.find(kSpace, 1); at != std::string::npos; at = t.find(kSpace, at + 1))
      if (at < kSpace.size() || t.compare(at - kSpace.size(), kSpace.size(), kSpace) != 0) return false;
  }
  return true;
}

/// Cuts `text` before every U+2581 that follows another character, at the same code point boundaries
/// the merging uses (lead-byte lengths clipped to the text), so invalid UTF-8 splits identically.
[[nodiscard]] inline std::vector<std::string_view> split_before_spaces(std::string_view text) {
  static constexpr std::string_view kSpace = "\xE2\x96\x81";
  std::vector<std::string_view> chunks;
  std::size_t start = 0;
  bool prev_space = true;
  for (std::size_t pos = 0; pos < text.size();) {
    std::size_t n = utf8::sequence_length(static_cast<unsigned char>(text[pos]));
    if (n > text.size() - pos) n = text.size() - pos;
    const bool space = n == 3 && text.compare(pos, 3, kSpace) == 0;
    if (space && !prev_space && pos > start) {
      chunks.push_back(text.substr(start, pos - start));
      start = pos;
    }
    prev_space = space;
    pos += n;
  }
  if (start < text.size()) chunks.push_back(text.substr(start));
  return chunks;
}

/// SentencePiece BPE over a vocabulary with scores (llama.cpp's `llm_tokenizer_spm`, llama2.c's
/// `encode`): the text is split into code points, then the adjacent pair whose concatenation is
/// the highest-scoring token is merged first (ties: leftmost), until no pair is a token. Pieces
/// that are not tokens fall back to `<0xXX>` byte tokens (or UNK).
class SpmEncoder {
 public:
  explicit SpmEncoder(const Vocab& v) : vocab_(v) {
    for (int b = 0; b < 256; ++b) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "<0x%02X>", b);
      int32_t id = vocab_.find(buf);
      if (id < 0) id = vocab_.find(std::string(1, static_cast<char>(b)));
      byte_ids_[b] = id;
    }
    split_ = pieces_begin_at_spaces(v);
  }

  /// Appends the ids of `text` (already whitespace-escaped and prefixed as the vocabulary wants).
  void encode(std::string_view text, std::vector<int32_t>& out) const {
    if (!split_) return encode_chunk(text, out);
    const auto chunks = split_before_spaces(text);
    encode_pieces_cached(chunks, out, [this](std::string_view chunk, std::vector<int32_t>& ids) { encode_chunk(chunk, ids); });
  }

 private:
  void encode_chunk(std::string_view text, std::vector<int32_t>& out) const {
    if (text.empty()) return;
    std::vector<Symbol> symbols;  // one per code point, linked as merges happen
    std::priority_queue<Bigram> queue;
    symbols.reserve(text.size());
    for (std::size_t pos = 0; pos < text.size();) {
      // Code point boundaries by the lead byte, clipped to the text (as SentencePiece does).
      std::size_t n = utf8::sequence_length(static_cast<unsigned char>(text[pos]));
      if (n > text.size() - pos) n = text.size() - pos;
      const int idx = static_cast<int>(symbols.size());
      symbols.push_back({idx - 1, idx + 1, text.data() + pos, n});
      pos += n;
    }
    symbols.back().next = -1;

    const auto try_add = [&](int left, int right) {
      if (left < 0 || right < 0) return;
      const Symbol& l = symbols[static_cast<std::size_t>(left)];
      const Symbol& r = symbols[static_cast<std::size_t>(right)];
      const std::string_view joined(l.text, l.n + r.n);  // neighbours are contiguous in the text
      const int32_t id = mergeable(joined);
      if (id >= 0) queue.push({left, right, vocab_.score(id), joined.size()});
    };
    for (int i = 1; i < static_cast<int>(symbols.size()); ++i) try_add(i - 1, i);

    while (!queue.empty()) {
      const Bigram b = queue.top();
      queue.pop();
      Symbol& l = symbols[static_cast<std::size_t>(b.left)];
      Symbol& r = symbols[static_cast<std::size_t>(b.right)];
      // Skip pairs that an earlier merge already consumed or changed.
      if (l.n == 0 || r.n == 0 || l.n + r.n != b.size) continue;
      l.n += r.n;
      r.n = 0;
      l.next = r.next;
      if (r.next >= 0) symbols[static_cast<std::size_t>(r.next)].prev = b.left;
      try_add(l.prev, b.left);
      try_add(b.left, l.next);
    }

    for (int i = 0; i != -1; i = symbols[static_cast<std::size_t>(i)].next) {
      const Symbol& s = symbols[static_cast<std::size_t>(i)];
      const std::string_view piece(s.text, s.n);
      const int32_t id = mergeable(piece);
      if (id >= 0) {
        out.push_back(id);
        continue;
      }
      for (unsigned char c : piece) {
        const int32_t bid = vocab_.byte_fallback ? byte_ids_[c] : -1;
        out.push_back(bid >= 0 ? bid : vocab_.special.unk);
        if (bid < 0) break;  // one UNK for the whole piece, as SentencePiece does without byte fallback
      }
    }
  }


  // Control, unknown and unused pieces never come out of plain text (SentencePiece matches
  // them only as special tokens).
  [[nodiscard]] int32_t mergeable(std::string_view piece) const {
    const int32_t id = vocab_.find(piece);
    if (id < 0) return -1;
    const TokenType t = vocab_.type(id);
    return t == TokenType::Control || t == TokenType::Unknown || t == TokenType::Unused ? -1 : id;
  }

  struct Symbol {
    int prev, next;
    const char* text;
    std::size_t n;
  };
  struct Bigram {
    int left, right;
    float score;
    std::size_t size;
    // Highest score first; among equal scores the leftmost pair.
    bool operator<(const Bigram& o) const noexcept { return score < o.score || (score == o.score && left > o.left); }
  };

  const Vocab& vocab_;
  int32_t byte_ids_[256];
  bool split_ = false;
};

}  // namespace llmforge::tokenizer
