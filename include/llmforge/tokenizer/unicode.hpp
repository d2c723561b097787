// SPDX-License-Identifier: MIT
// Unicode properties and normalization for the tokenizers, from ICU (categories, NFD, case mapping).
#pragma once

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include <string>
#include <string_view>
#include <vector>

#include <llmforge/core/error.hpp>
#include <llmforge/tokenizer/utf8.hpp>

namespace llmforge::tokenizer::unicode {

/// The general-category groups the tokenizers ask about.
[[nodiscard]] inline bool is_whitespace(char32_t c) noexcept { return u_isUWhiteSpace(static_cast<UChar32>(c)); }
[[nodiscard]] inline bool is_punctuation(char32_t c) noexcept { return u_ispunct(static_cast<UChar32>(c)); }
[[nodiscard]] inline bool is_symbol(char32_t c) noexcept {
  const auto m = U_GET_GC_MASK(static_cast<UChar32>(c));
  return (m & U_GC_S_MASK) != 0;
}
/// Control, format, surrogate, private-use and unassigned code points (category C).
[[nodiscard]] inline bool is_control(char32_t c) noexcept {
  const auto m = U_GET_GC_MASK(static_cast<UChar32>(c));
  return (m & U_GC_C_MASK) != 0;
}
[[nodiscard]] inline bool is_mark(char32_t c) noexcept {
  const auto m = U_GET_GC_MASK(static_cast<UChar32>(c));
  return (m & U_GC_M_MASK) != 0;
}
/// Nonspacing marks (Mn), which BERT's accent stripping removes after NFD.
[[nodiscard]] inline bool is_nonspacing_mark(char32_t c) noexcept {
  return u_charType(static_cast<UChar32>(c)) == U_NON_SPACING_MARK;
}
/// Simple (one-to-one) lowercase mapping.
[[nodiscard]] inline char32_t to_lower(char32_t c) noexcept {
  return static_cast<char32_t>(u_tolower(static_cast<UChar32>(c)));
}

/// Code points of UTF-8 text (invalid bytes become U+FFFD).
[[nodiscard]] inline std::vector<char32_t> code_points(std::string_view s) {
  std::vector<char32_t> out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) out.push_back(utf8::decode(s, i));
  return out;
}

/// Canonical decomposition (NFD) of a code point sequence. @throws TokenizerError if ICU fails.
[[nodiscard]] inline std::vector<char32_t> nfd(const std::vector<char32_t>& cps) {
  UErrorCode err = U_ZERO_ERROR;
  const UNormalizer2* n = unorm2_getNFDInstance(&err);
  if (U_FAILURE(err)) throw TokenizerError(std::string("ICU NFD normalizer unavailable: ") + u_errorName(err));
  std::vector<char32_t> out;
  out.reserve(cps.size());
  UChar buf[32];
  for (char32_t c : cps) {
    if (c < 0xC0) {  // nothing below U+00C0 decomposes
      out.push_back(c);
      continue;
    }
    err = U_ZERO_ERROR;
    const int32_t len = unorm2_getDecomposition(n, static_cast<UChar32>(c), buf, 32, &err);
    if (len < 0 || U_FAILURE(err)) {
      out.push_back(c);
      continue;
    }
    for (int32_t i = 0; i < len;) {
      UChar32 d;
      U16_NEXT(buf, i, len, d);
      out.push_back(static_cast<char32_t>(d));
    }
  }
  return out;
}

/// `text` in Unicode normalization form `form` (NFC, NFD, NFKC or NFKD). Invalid UTF-8 becomes U+FFFD.
/// @throws TokenizerError if ICU reports an error.
[[nodiscard]] inline std::string normalize(std::string_view text, const char* form) {
  UErrorCode err = U_ZERO_ERROR;
  const bool k = form[2] == 'K';
  const bool c = form[k ? 3 : 2] == 'C';
  const UNormalizer2* n = k ? (c ? unorm2_getNFKCInstance(&err) : unorm2_getNFKDInstance(&err))
                            : (c ? unorm2_getNFCInstance(&err) : unorm2_getNFDInstance(&err));
  if (U_FAILURE(err)) throw TokenizerError(std::string("ICU normalizer ") + form + " unavailable: " + u_errorName(err));
  // UTF-8 -> UTF-16 (ICU's native form), normalize, back to UTF-8.
  std::vector<UChar> in(text.size() + 1), out;
  int32_t len = 0;
  err = U_ZERO_ERROR;
  u_strFromUTF8WithSub(in.data(), static_cast<int32_t>(in.size()), &len, text.data(), static_cast<int32_t>(text.size()),
                       0xFFFD, nullptr, &err);
  if (U_FAILURE(err)) throw TokenizerError(std::string("cannot convert text to UTF-16: ") + u_errorName(err));
  if (unorm2_isNormalized(n, in.data(), len, &err) && U_SUCCESS(err) && utf8::is_valid(text)) return std::string(text);
  err = U_ZERO_ERROR;
  out.resize(static_cast<std::size_t>(len) * 3 + 16);
  const int32_t olen = unorm2_normalize(n, in.data(), len, out.data(), static_cast<int32_t>(out.size()), &err);
  if (U_FAILURE(err)) throw TokenizerError(std::string("ICU ") + form + " normalization failed: " + u_errorName(err));
  std::string res(static_cast<std::size_t>(olen) * 3 + 4, '\0');
  int32_t rlen = 0;
  err = U_ZERO_ERROR;
  u_strToUTF8(res.data(), static_cast<int32_t>(res.size()), &rlen, out.data(), olen, &err);
  if (U_FAILURE(err)) throw TokenizerError(std::string("cannot convert text to UTF-8: ") + u_errorName(err));
  res.resize(static_cast<std::size_t>(rlen));
  return res;
}

}  // namespace llmforge::tokenizer::unicode
