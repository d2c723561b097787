// SPDX-License-Identifier: MIT
// UTF-8 helpers for the tokenizers: sequence lengths, code point decode/encode, validity, repair.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace llmforge::tokenizer::utf8 {

/// The replacement character U+FFFD, encoded.
inline constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

/// Length of the UTF-8 sequence that starts with `lead` as its first byte says (1 for
/// continuation or invalid bytes, so that a scan always advances).
[[nodiscard]] constexpr std::size_t sequence_length(unsigned char lead) noexcept {
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0) return 2;
  if ((lead & 0xF0) == 0xE0) return 3;
  if ((lead & 0xF8) == 0xF0) return 4;
  return 1;
}

/// Length of the valid UTF-8 sequence at `s[pos]`, or 0 if the bytes there are not one
/// (overlong forms, surrogates, code points above U+10FFFF and truncated sequences are invalid).
[[nodiscard]] constexpr std::size_t valid_sequence_length(std::string_view s, std::size_t pos) noexcept {
  const auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[pos + i]); };
  const std::size_t rem = s.size() - pos;
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  if (c < 0xC2) return 0;
  if (c < 0xE0) return rem >= 2 && (b(1) & 0xC0) == 0x80 ? 2 : 0;
  if (c < 0xF0) {
    if (rem < 3 || (b(1) & 0xC0) != 0x80 || (b(2) & 0xC0) != 0x80) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;   // overlong
    if (c == 0xED && b(1) >= 0xA0) return 0;  // surrogate
    return 3;
  }
  if (c < 0xF5) {
    if (rem < 4 || (b(1) & 0xC0) != 0x80 || (b(2) & 0xC0) != 0x80 || (b(3) & 0xC0) != 0x80) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;   // overlong
    if (c == 0xF4 && b(1) >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

/// Decodes the code point at `s[pos]` and advances `pos`; an invalid byte yields U+FFFD and
/// advances by one byte.
[[nodiscard]] constexpr char32_t decode(std::string_view s, std::size_t& pos) noexcept {
  const std::size_t n = valid_sequence_length(s, pos);
  const auto b = [&](std::size_t i) { return static_cast<char32_t>(static_cast<unsigned char>(s[pos + i])); };
  char32_t cp = 0xFFFD;
  switch (n) {
    case 1: cp = b(0); break;
    case 2: cp = ((b(0) & 0x1F) << 6) | (b(1) & 0x3F); break;
    case 3: cp = ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F); break;
    case 4: cp = ((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F); break;
    default: break;
  }
  pos += n == 0 ? 1 : n;
  return cp;
}

/// Appends the UTF-8 encoding of `cp` to `out` (invalid code points become U+FFFD).
inline void append(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    if (cp >= 0xD800 && cp < 0xE000) {
      out += kReplacement;
      return;
    }
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x110000) {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += kReplacement;
  }
}

/// The UTF-8 encoding of one code point.
[[nodiscard]] inline std::string encode(char32_t cp) {
  std::string s;
  append(s, cp);
  return s;
}

/// True if `s` is entirely valid UTF-8.
[[nodiscard]] constexpr bool is_valid(std::string_view s) noexcept {
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = valid_sequence_length(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

/// Number of bytes at the end of `s` that form the start of a valid but incomplete UTF-8
/// sequence (0 if `s` ends on a boundary). Streaming decoders hold these bytes back.
[[nodiscard]] constexpr std::size_t incomplete_tail(std::string_view s) noexcept {
  // A sequence is at most 4 bytes, so look at the last 3 bytes for a lead byte.
  for (std::size_t k = 1; k <= 3 && k <= s.size(); ++k) {
    const auto c = static_cast<unsigned char>(s[s.size() - k]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: keep looking for the lead
    const std::size_t need = sequence_length(c);
    if (need <= k || c < 0xC2 || c > 0xF4) return 0;
    // Check that the bytes present so far could still become a valid sequence.
    const unsigned char b1 = k >= 2 ? static_cast<unsigned char>(s[s.size() - k + 1]) : 0;
    if (k >= 2) {
      if ((c == 0xE0 && b1 < 0xA0) || (c == 0xED && b1 >= 0xA0) || (c == 0xF0 && b1 < 0x90) || (c == 0xF4 && b1 >= 0x90))
        return 0;
    }
    return k;
  }
  return 0;
}

/// Replaces every invalid byte of `s` by U+FFFD (one replacement per invalid byte, as
/// llama.cpp and Python's `errors="replace"` would for a lone byte).
[[nodiscard]] inline std::string repair(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = valid_sequence_length(s, i);
    if (n == 0) {
      out += kReplacement;
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

}  // namespace llmforge::tokenizer::utf8
