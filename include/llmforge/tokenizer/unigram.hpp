// SPDX-License-Identifier: MIT
// SentencePiece normalizer (precompiled charsmap, whitespace rules) and Unigram (Viterbi) encoding.
#pragma once

#include <algorithm>
#include <cfloat>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <llmforge/core/error.hpp>
#include <llmforge/tokenizer/utf8.hpp>
#include <llmforge/tokenizer/vocab.hpp>

namespace llmforge::tokenizer {

/// SentencePiece's normalizer: replaces input prefixes by the rules of a precompiled charsmap (a
/// XOR-compressed double-array trie over bytes plus NUL-terminated replacement strings), then applies
/// the dummy prefix, whitespace collapsing and U+2581 escaping.
class SpNormalizer {
 public:
  /// @throws TokenizerError if the charsmap is malformed.
  explicit SpNormalizer(const Vocab& v) : vocab_(v) {
    const std::string& cm = v.precompiled_charsmap;
    if (!cm.empty()) {
      if (cm.size() < 4) throw TokenizerError(v.where() + "precompiled charsmap is shorter than its 4-byte header");
      uint32_t blob = 0;
      std::memcpy(&blob, cm.data(), 4);
      if (blob % 4 != 0 || static_cast<std::size_t>(blob) + 4 > cm.size())
        throw TokenizerError(v.where() + "precompiled charsmap declares a " + std::to_string(blob) +
                             "-byte trie but holds " + std::to_string(cm.size() - 4) + " bytes");
      trie_.resize(blob / 4);
      std::memcpy(trie_.data(), cm.data() + 4, blob);
      replacements_ = std::string_view(cm).substr(4 + blob);
    }
    for (std::size_t i = 0; i < v.size(); ++i)
      if (v.types[i] == TokenType::UserDefined) max_user_len_ = std::max(max_user_len_, v.tokens[i].size());
  }

  /// True if this normalizer changes anything beyond the dummy prefix and space escaping.
  [[nodiscard]] bool active() const noexcept { return !trie_.empty() || vocab_.remove_extra_whitespaces; }

  /// Normalizes `text`; `prefix` says whether the dummy prefix applies (start of text or after a special token).
  /// @throws TokenizerError if the charsmap trie points outside itself.
  [[nodiscard]] std::string normalize(std::string_view text, bool prefix) const {
    std::string out;
    out.reserve(text.size() * 3 / 2 + 3);
    const std::string_view space = vocab_.escape_whitespace ? "\xE2\x96\x81" : " ";
    const bool prepend = prefix && vocab_.add_space_prefix && !vocab_.treat_whitespace_as_suffix;
    const bool append = prefix && vocab_.add_space_prefix && vocab_.treat_whitespace_as_suffix;
    const bool merge = vocab_.remove_extra_whitespaces;
    bool prepended = false, in_word = false;
    for (std::size_t pos = 0; pos < text.size();) {
      std::size_t consumed = 0;
      const std::string_view rep = normalize_prefix(text, pos, consumed);
      for (char c : rep) {
        if (c != ' ') {
          if (!in_word) {
            in_word = true;
            // The dummy prefix goes before the first word; with collapsing, one space before every later word.
            if ((prepend && !prepended) || (merge && !out.empty())) {
              out += space;
              prepended = true;
            }
          }
          out += c;
        } else {
          in_word = false;
          if (!merge) out += space;
        }
      }
      pos += consumed;
    }
    if (append) out += space;
    return out;
  }

 private:
  // The longest rule (or user-defined token) matching at `pos`; unmatched valid UTF-8 is kept,
  // invalid bytes become U+FFFD.
  std::string_view normalize_prefix(std::string_view s, std::size_t pos, std::size_t& consumed) const {
    for (std::size_t n = std::min(max_user_len_, s.size() - pos); n > 0; --n) {
      const int32_t id = vocab_.find(s.substr(pos, n));
      if (id >= 0 && vocab_.type(id) == TokenType::UserDefined) {
        consumed = n;
        return s.substr(pos, n);
      }
    }
    if (!trie_.empty()) {
      std::size_t best_len = 0;
      uint32_t best_off = 0;
      uint32_t node = base(0);
      for (std::size_t i = pos; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c == 0) break;
        node ^= c;
        if (lcheck(node) != c) break;
        const bool leaf = (at(node) >> 8) & 1;
        node ^= base(node);
        if (leaf) {
          best_len = i - pos + 1;
          best_off = at(node) & 0x7FFFFFFFu;
        }
      }
      if (best_len > 0) {
        if (best_off >= replacements_.size())
          throw TokenizerError(vocab_.where() + "precompiled charsmap replacement offset " + std::to_string(best_off) +
                               " is outside its " + std::to_string(replacements_.size()) + "-byte table");
        const std::string_view rest = replacements_.substr(best_off);
        consumed = best_len;
        return rest.substr(0, std::min(rest.find('\0'), rest.size()));
      }
    }
    const std::size_t n = utf8::valid_sequence_length(s, pos);
    if (n == 0) {
      consumed = 1;
      return utf8::kReplacement;
    }
    consumed = n;
    return s.substr(pos, n);
  }

  [[nodiscard]] uint32_t at(uint32_t i) const {
    if (i >= trie_.size())
      throw TokenizerError(vocab_.where() + "precompiled charsmap trie index " + std::to_string(i) + " is out of range");
    return trie_[i];
  }
  [[nodiscard]] uint32_t base(uint32_t i) const {
    const uint32_t u = at(i);
    return (u >> 10) << ((u & (1u << 9)) >> 6);
  }
  [[nodiscard]] uint32_t lcheck(uint32_t i) const { return at(i) & ((1u << 31) | 0xFFu); }

  const Vocab& vocab_;
  std::vector<uint32_t> trie_;
  std::string_view replacements_;
  std::size_t max_user_len_ = 0;
};

/// SentencePiece Unigram: the segmentation of the normalized text with the highest total piece score
/// (Viterbi over code point boundaries); a code point no piece covers becomes UNK with a penalty, and
/// runs of UNK collapse into one.
class UnigramEncoder {
 public:
  explicit UnigramEncoder(const Vocab& v) : vocab_(v), norm_(v) {
    float min_score = FLT_MAX;
    for (std::size_t i = 0; i < v.size(); ++i) {
      const TokenType t = v.types[i];
      if (t == TokenType::Normal) min_score = std::min(min_score, v.score(static_cast<int32_t>(i)));
      if (t == TokenType::Normal || t == TokenType::UserDefined || t == TokenType::Unused)
        max_len_ = std::max(max_len_, v.tokens[i].size());
    }
    unk_score_ = (min_score == FLT_MAX ? 0.0 : static_cast<double>(min_score)) - 10.0;
  }

  /// Appends the ids of `text`; `prefix` says whether the dummy prefix applies.
  void encode(std::string_view text, std::vector<int32_t>& out, bool prefix = true) const {
    const std::string s = norm_.normalize(text, prefix);
    const std::size_t n = s.size();
    if (n == 0) return;
    struct Best {
      int32_t id;
      std::size_t from;
      double score;
    };
    std::vector<Best> best(n + 1, {vocab_.special.unk, 0, -DBL_MAX});
    best[0] = {vocab_.special.unk, 0, 0.0};
    for (std::size_t i = 0; i < n;) {
      const std::size_t cp = std::min(utf8::sequence_length(static_cast<unsigned char>(s[i])), n - i);
      if (best[i].score == -DBL_MAX) {  // unreachable (cannot happen: every code point has a path)
        i += cp;
        continue;
      }
      bool single = false;
      for (std::size_t len = 1; len <= max_len_ && i + len <= n; ++len) {
        const int32_t id = vocab_.find(std::string_view(s).substr(i, len));
        if (id < 0) continue;
        const TokenType t = vocab_.type(id);
        if (t != TokenType::Normal && t != TokenType::UserDefined && t != TokenType::Unused) continue;
        if (len == cp) single = true;
        const double sc = best[i].score + (t == TokenType::UserDefined ? 0.0 : static_cast<double>(vocab_.score(id)));
        if (sc > best[i + len].score) best[i + len] = {id, i, sc};
      }
      if (!single) {
        const double sc = best[i].score + unk_score_;
        if (sc > best[i + cp].score) best[i + cp] = {vocab_.special.unk, i, sc};
      }
      i += cp;
    }
    const std::size_t first = out.size();
    bool prev_unk = false;
    for (std::size_t at = n;;) {
      const Best& b = best[at];
      const bool is_unk = b.id == vocab_.special.unk;
      if (!(prev_unk && is_unk)) out.push_back(b.id);
      prev_unk = is_unk;
      if (b.from == 0) break;
      at = b.from;
    }
    std::reverse(out.begin() + static_cast<std::ptrdiff_t>(first), out.end());
  }

  [[nodiscard]] const SpNormalizer& normalizer() const noexcept { return norm_; }

 private:
  const Vocab& vocab_;
  SpNormalizer norm_;
  std::size_t max_len_ = 1;
  double unk_score_ = -10.0;
};

}  // namespace llmforge::tokenizer
