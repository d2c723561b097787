// SPDX-License-Identifier: MIT
// Byte-level BPE (GPT-2 style): bytes mapped to printable code points, then ranked merges per word.
#pragma once

#include <array>
#include <cstdint>
#include <cstdio>
#include <queue>
#include <string>
#include <string_view>
#include <vector>

#include <llmforge/tokenizer/pre_tokenizer.hpp>
#include <llmforge/tokenizer/spm.hpp>
#include <llmforge/tokenizer/utf8.hpp>
#include <llmforge/tokenizer/vocab.hpp>

namespace llmforge::tokenizer {

/// GPT-2's reversible map between bytes and printable code points: printable Latin-1 bytes map to
/// themselves, the other 68 bytes to U+0100 onwards in byte order.
class ByteUnicode {
 public:
  ByteUnicode() {
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      const char32_t cp = printable ? static_cast<char32_t>(b) : next++;
      to_cp_[static_cast<std::size_t>(b)] = cp;
      encoded_[static_cast<std::size_t>(b)] = utf8::encode(cp);
    }
  }
  /// The mapped UTF-8 text of one byte.
  [[nodiscard]] const std::string& encode(unsigned char b) const noexcept { return encoded_[b]; }
  /// Maps every byte of `bytes` and appends the result to `out`.
  void encode(std::string_view bytes, std::string& out) const {
    for (unsigned char b : bytes) out += encoded_[b];
  }
  /// The byte a mapped code point stands for, or -1 if it is not one of the 256.
  [[nodiscard]] int decode(char32_t cp) const noexcept {
    if (cp < 256) {
      const auto b = static_cast<std::size_t>(cp);
      return to_cp_[b] == cp ? static_cast<int>(b) : -1;
    }
    for (std::size_t b = 0; b < 256; ++b)
      if (to_cp_[b] == cp) return static_cast<int>(b);
    return -1;
  }
  /// Maps mapped text back to bytes; code points outside the map are copied as UTF-8.
  [[nodiscard]] std::string decode(std::string_view text) const {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
      const std::size_t start = i;
      const char32_t cp = utf8::decode(text, i);
      const int b = decode(cp);
      if (b >= 0) out += static_cast<char>(b);
      else out.append(text.substr(start, i - start));
    }
    return out;
  }

  /// The process-wide instance.
  [[nodiscard]] static const ByteUnicode& get() {
    static const ByteUnicode m;
    return m;
  }

 private:
  std::array<char32_t, 256> to_cp_{};
  std::array<std::string, 256> encoded_;
};

/// Byte-level BPE over a vocabulary with merge ranks (llama.cpp's `llm_tokenizer_bpe`, HF's BPE model
/// with a ByteLevel pre-tokenizer, tiktoken): each pre-tokenized word is byte-mapped, split into
/// mapped code points, and the adjacent pair with the lowest merge rank is merged first (ties: leftmost).
class BpeEncoder {
 public:
  BpeEncoder(const Vocab& v, PreTokenizer pre) : vocab_(v), pre_(std::move(pre)) {
    for (int b = 0; b < 256; ++b) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "<0x%02X>", b);
      byte_ids_[b] = vocab_.find(buf);
    }
    split_ = !v.byte_level && v.escape_whitespace && pieces_begin_at_spaces(v);
  }

  /// Appends the ids of `text` (valid UTF-8, already normalized).
  void encode(std::string_view text, std::vector<int32_t>& out) const {
    std::vector<std::string_view> words = pre_.split(text);
    if (split_) {  // SentencePiece-style: also cut before each "▁word"
      std::vector<std::string_view> chunks;
      for (std::string_view w : words)
        for (std::string_view c : split_before_spaces(w)) chunks.push_back(c);
      words.swap(chunks);
    }
    const ByteUnicode& bu = ByteUnicode::get();
    std::string mapped;
    encode_pieces_cached(words, out, [&](std::string_view w, std::vector<int32_t>& ids) {
      if (vocab_.byte_level) {
        mapped.clear();
        bu.encode(w, mapped);
        encode_word(mapped, ids);
      } else {
        encode_word(w, ids);
      }
    });
  }

  /// Appends the ids of one already byte-mapped word.
  void encode_word(std::string_view word, std::vector<int32_t>& out) const {
    if (word.empty()) return;
    if (vocab_.ignore_merges) {
      const int32_t id = vocab_.find(word);
      if (id >= 0) {
        out.push_back(id);
        return;
      }
    }
    std::vector<Symbol> symbols;
    symbols.reserve(word.size());
    for (std::size_t pos = 0; pos < word.size();) {
      std::size_t n = utf8::sequence_length(static_cast<unsigned char>(word[pos]));
      if (n > word.size() - pos) n = word.size() - pos;
      const int idx = static_cast<int>(symbols.size());
      symbols.push_back({idx - 1, idx + 1, pos, n});
      pos += n;
    }
    symbols.back().next = -1;
    if (symbols.size() > 1) merge(word, symbols);
    for (int i = 0; i != -1; i = symbols[static_cast<std::size_t>(i)].next) {
      const Symbol& s = symbols[static_cast<std::size_t>(i)];
      const std::string_view piece = word.substr(s.start, s.n);
      const int32_t id = vocab_.find(piece);
      if (id >= 0) {
        out.push_back(id);
        continue;
      }
      if (vocab_.byte_fallback && !vocab_.byte_level) {
        // SentencePiece-style BPE: unknown pieces become <0xXX> byte tokens.
        bool all = true;
        for (unsigned char c : piece) all = all && byte_ids_[c] >= 0;
        if (all) {
          for (unsigned char c : piece) out.push_back(byte_ids_[c]);
          continue;
        }
      }
      // Not a token (a vocabulary without all 256 byte symbols): fall back to single bytes of the
      // mapped text, then to UNK.
      bool any = false;
      for (std::size_t k = 0; k < piece.size(); ++k) {
        const int32_t bid = vocab_.find(piece.substr(k, 1));
        if (bid >= 0) out.push_back(bid), any = true;
      }
      if (!any && vocab_.special.unk >= 0) out.push_back(vocab_.special.unk);
    }
  }

 private:
  struct Symbol {
    int prev, next;
    std::size_t start, n;
  };
  struct Bigram {
    int left, right;
    int32_t rank;
    std::size_t size;
    // Lowest rank first; among equal ranks the leftmost pair.
    bool operator<(const Bigram& o) const noexcept { return rank > o.rank || (rank == o.rank && left > o.left); }
  };

  void merge(std::string_view word, std::vector<Symbol>& symbols) const {
    std::priority_queue<Bigram> queue;
    std::string key;
    const auto try_add = [&](int left, int right) {
      if (left < 0 || right < 0) return;
      const Symbol& l = symbols[static_cast<std::size_t>(left)];
      const Symbol& r = symbols[static_cast<std::size_t>(right)];
      if (vocab_.merge_by_token_rank) {
        // tiktoken: the pair whose concatenation has the lowest rank (= token id) merges first.
        const int32_t id = vocab_.find(word.substr(l.start, l.n + r.n));
        if (id >= 0 && vocab_.type(id) == TokenType::Normal) queue.push({left, right, id, l.n + r.n});
        return;
      }
      key.assign(word.substr(l.start, l.n));
      key += ' ';
      key.append(word.substr(r.start, r.n));
      auto it = vocab_.merge_ranks.find(key);
      if (it == vocab_.merge_ranks.end()) return;
      queue.push({left, right, it->second, l.n + r.n});
    };
    for (int i = 1; i < static_cast<int>(symbols.size()); ++i) try_add(i - 1, i);
    while (!queue.empty()) {
      const Bigram b = queue.top();
      queue.pop();
      Symbol& l = symbols[static_cast<std::size_t>(b.left)];
      Symbol& r = symbols[static_cast<std::size_t>(b.right)];
      if (l.n == 0 || r.n == 0 || l.next != b.right || l.n + r.n != b.size) continue;
      l.n += r.n;
      r.n = 0;
      l.next = r.next;
      if (r.next >= 0) symbols[static_cast<std::size_t>(r.next)].prev = b.left;
      try_add(l.prev, b.left);
      try_add(b.left, l.next);
    }
  }

  const Vocab& vocab_;
  PreTokenizer pre_;
  int32_t byte_ids_[256];
  bool split_ = false;  // SentencePiece-style vocabularies: cut before "▁word" (see pieces_begin_at_spaces)
};

}  // namespace llmforge::tokenizer
