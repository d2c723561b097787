// SPDX-License-Identifier: MIT
// Splitting input text at special and added tokens before the model's algorithm sees it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <vector>

#include <llmforge/tokenizer/vocab.hpp>

namespace llmforge::tokenizer {

/// A piece of input: either plain text for the model's algorithm or an already known token.
struct Fragment {
  int32_t token = -1;     ///< the special token, or -1 for text
  std::string_view text;  ///< the text (empty for tokens)
};

/// The special tokens that are searched for in input text, longest first (llama.cpp's
/// `cache_special_tokens`): control, unknown and user-defined ("added") tokens.
[[nodiscard]] inline std::vector<int32_t> special_token_order(const Vocab& v) {
  std::vector<int32_t> ids;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const auto id = static_cast<int32_t>(i);
    if (v.is_special(id) && !v.tokens[i].empty()) ids.push_back(id);
  }
  std::stable_sort(ids.begin(), ids.end(), [&](int32_t a, int32_t b) {
    return v.tokens[static_cast<std::size_t>(a)].size() > v.tokens[static_cast<std::size_t>(b)].size();
  });
  return ids;
}

/// Splits `text` at occurrences of special tokens. User-defined tokens are always recognised (as in
/// Hugging Face tokenizers, where added tokens are split off first); control and unknown tokens only
/// when `parse_special` is set. Tokens marked lstrip/rstrip swallow adjacent ASCII whitespace.
[[nodiscard]] inline std::vector<Fragment> partition_special(const Vocab& v, const std::vector<int32_t>& order,
                                                             std::string_view text, bool parse_special) {
  std::vector<Fragment> frags;
  if (text.empty()) return frags;
  frags.push_back({-1, text});
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; };
  std::vector<Fragment> next;
  for (const int32_t id : order) {
    const TokenType t = v.type(id);
    if (!parse_special && (t == TokenType::Control || t == TokenType::Unknown)) continue;
    const std::string_view tok = v.tokens[static_cast<std::size_t>(id)];
    const bool lstrip = v.lstrip[static_cast<std::size_t>(id)] != 0;
    const bool rstrip = v.rstrip[static_cast<std::size_t>(id)] != 0;
    bool any = false;
    next.clear();
    for (const Fragment& f : frags) {
      if (f.token >= 0) {
        next.push_back(f);
        continue;
      }
      std::string_view rest = f.text;
      for (;;) {
        const std::size_t m = rest.find(tok);
        if (m == std::string_view::npos) {
          if (!rest.empty()) next.push_back({-1, rest});
          break;
        }
        any = true;
        std::string_view left = rest.substr(0, m);
        if (lstrip)
          while (!left.empty() && is_space(left.back())) left.remove_suffix(1);
        if (!left.empty()) next.push_back({-1, left});
        next.push_back({id, {}});
        rest = rest.substr(m + tok.size());
        if (rstrip)
          while (!rest.empty() && is_space(rest.front())) rest.remove_prefix(1);
      }
    }
    if (any) frags.swap(next);
  }
  return frags;
}

}  // namespace llmforge::tokenizer
