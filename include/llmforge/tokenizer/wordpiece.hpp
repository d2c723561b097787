// SPDX-License-Identifier: MIT
// WordPiece (BERT): normalize, split at whitespace/punctuation/CJK, then greedy longest-match pieces.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <llmforge/tokenizer/unicode.hpp>
#include <llmforge/tokenizer/utf8.hpp>
#include <llmforge/tokenizer/vocab.hpp>

namespace llmforge::tokenizer {

/// BERT WordPiece as llama.cpp's `llm_tokenizer_wpm` runs it over a GGUF vocabulary in "phantom
/// space" form (word-initial pieces start with U+2581, continuation pieces are bare; loaders convert
/// HF "##" vocabularies to this form). Text is NFD-decomposed with accents dropped, lowercased,
/// split at whitespace, punctuation, ASCII symbols and CJK ideographs; each word becomes the longest
/// matching pieces left to right, or UNK if some position matches nothing.
class WordPieceEncoder {
 public:
  explicit WordPieceEncoder(const Vocab& v) : vocab_(v) {
    for (const auto& t : v.tokens) max_len_ = std::max(max_len_, t.size());
  }

  /// Appends the ids of `text` (valid UTF-8).
  void encode(std::string_view text, std::vector<int32_t>& out) const {
    for (const std::string& word : split_words(text)) {
      const std::string w = "\xE2\x96\x81" + word;
      const std::size_t first = out.size();
      const std::size_t n = w.size();
      bool ok = true;
      for (std::size_t i = 0; i < n && ok;) {
        ok = false;
        for (std::size_t j = std::min(n, i + max_len_); j > i; --j) {
          const int32_t id = vocab_.find(std::string_view(w).substr(i, j - i));
          if (id >= 0) {
            out.push_back(id);
            i = j;
            ok = true;
            break;
          }
        }
      }
      if (!ok) {
        out.resize(first);
        if (vocab_.special.unk >= 0) out.push_back(vocab_.special.unk);
      }
    }
  }

  /// BERT pre-processing: the words of `text`.
  [[nodiscard]] std::vector<std::string> split_words(std::string_view text) const {
    std::vector<std::string> words(1);
    const auto cps = unicode::nfd(unicode::code_points(text));
    for (const char32_t c : cps) {
      if (unicode::is_whitespace(c)) {
        if (!words.back().empty()) words.emplace_back();
        continue;
      }
      if (c == 0 || c == 0xFFFD || unicode::is_control(c)) continue;
      if (vocab_.lowercase && unicode::is_nonspacing_mark(c)) continue;  // accents stripped after NFD
      const char32_t lc = vocab_.lowercase ? unicode::to_lower(c) : c;
      if (unicode::is_punctuation(c) || (c < 0x7F && unicode::is_symbol(c)) || is_cjk(c)) {
        if (!words.back().empty()) words.emplace_back();
        utf8::append(words.back(), lc);
        words.emplace_back();
      } else {
        utf8::append(words.back(), lc);
      }
    }
    if (words.back().empty()) words.pop_back();
    return words;
  }

  /// CJK ideograph blocks as BERT (and HF tokenizers) define them.
  [[nodiscard]] static constexpr bool is_cjk(char32_t c) noexcept {
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
  }

 private:
  const Vocab& vocab_;
  std::size_t max_len_ = 1;
};

}  // namespace llmforge::tokenizer
