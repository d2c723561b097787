// SPDX-License-Identifier: MIT
// jinja::lex(): splits template source into text and tag tokens, applying Jinja2's whitespace control
// (`-`/`+` markers, trim_blocks, lstrip_blocks, the dropped final newline) as its lexer does.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <llmforge/core/error.hpp>
#include <llmforge/tokenizer/utf8.hpp>

namespace llmforge::jinja {

/// Environment options that change how source is read (HF's apply_chat_template turns both on).
struct LexOptions {
  bool trim_blocks = true;            ///< drop the first newline after a block or comment tag
  bool lstrip_blocks = true;          ///< drop spaces and tabs before a block or comment tag on its line
  bool keep_trailing_newline = false; ///< Jinja2's default drops one newline at the end of the source
};

enum class TokenKind { Text, VarBegin, VarEnd, BlockBegin, BlockEnd, Name, String, Int, Float, Op, End };

struct Token {
  TokenKind kind;
  std::string text;  ///< text, name, decoded string literal, number or operator
  std::size_t pos;   ///< offset into the normalized source
};

/// Source with newlines normalized to "\n", for turning offsets into line:column.
struct Source {
  std::string text;
  std::string name = "template";

  /// "name:line:column" for an offset.
  [[nodiscard]] std::string where(std::size_t pos) const {
    std::size_t line = 1, col = 1;
    for (std::size_t i = 0; i < pos && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    return name + ":" + std::to_string(line) + ":" + std::to_string(col);
  }
  [[noreturn]] void fail(std::size_t pos, const std::string& msg) const { throw TemplateError(where(pos) + ": " + msg); }
};

namespace detail {

inline bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
inline bool is_name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || static_cast<unsigned char>(c) >= 0x80;
}
inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

/// Decodes the body of a string literal with Python's escapes (\n, \t, \\, \', \xNN, \uNNNN, ...);
/// unknown escapes keep their backslash, as Python's unicode-escape codec does.
inline std::string unescape(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out += s[i];
      continue;
    }
    const char c = s[++i];
    auto hex = [&](std::size_t n) -> bool {
      uint32_t cp = 0;
      for (std::size_t k = 1; k <= n; ++k) {
        if (i + k >= s.size()) return false;
        const char h = s[i + k];
        cp <<= 4;
        if (h >= '0' && h <= '9') cp |= static_cast<uint32_t>(h - '0');
        else if (h >= 'a' && h <= 'f') cp |= static_cast<uint32_t>(h - 'a' + 10);
        else if (h >= 'A' && h <= 'F') cp |= static_cast<uint32_t>(h - 'A' + 10);
        else return false;
      }
      tokenizer::utf8::append(out, cp);
      i += n;
      return true;
    };
    switch (c) {
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case '\\': out += '\\'; break;
      case '\'': out += '\''; break;
      case '"': out += '"'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'v': out += '\v'; break;
      case 'a': out += '\a'; break;
      case '\n': break;
      case 'x':
        if (!hex(2)) out += "\\x";
        break;
      case 'u':
        if (!hex(4)) out += "\\u";
        break;
      case 'U':
        if (!hex(8)) out += "\\U";
        break;
      default:
        if (c >= '0' && c <= '7') {
          uint32_t cp = 0;
          std::size_t k = 0;
          while (k < 3 && i < s.size() && s[i] >= '0' && s[i] <= '7') cp = cp * 8 + static_cast<uint32_t>(s[i++] - '0'), ++k;
          --i;
          tokenizer::utf8::append(out, cp);
        } else {
          out += '\\';
          out += c;
        }
    }
  }
  return out;
}

}  // namespace detail

/// Newline-normalizes `text` ("\r\n" and "\r" become "\n") and drops one final newline unless asked not to.
inline Source normalize_source(std::string_view text, std::string name, const LexOptions& opt) {
  Source src;
  src.name = std::move(name);
  src.text.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r') {
      src.text += '\n';
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else {
      src.text += text[i];
    }
  }
  if (!opt.keep_trailing_newline && !src.text.empty() && src.text.back() == '\n') src.text.pop_back();
  return src;
}

/// Tokenizes a normalized source. @throws TemplateError (with line:column) on unterminated tags,
/// strings or comments and on characters that start no token.
inline std::vector<Token> lex(const Source& src, const LexOptions& opt = {}) {
  const std::string& s = src.text;
  std::vector<Token> out;
  std::size_t pos = 0;
  bool line_starting = true;
  while (pos <= s.size()) {
    // Next tag opener.
    std::size_t t = pos;
    while (true) {
      t = s.find('{', t);
      if (t == std::string::npos || t + 1 >= s.size()) {
        t = std::string::npos;
        break;
      }
      if (s[t + 1] == '{' || s[t + 1] == '%' || s[t + 1] == '#') break;
      ++t;
    }
    std::string text = s.substr(pos, t == std::string::npos ? std::string::npos : t - pos);
    if (t == std::string::npos) {
      if (!text.empty()) out.push_back({TokenKind::Text, std::move(text), pos});
      break;
    }
    const char opener = s[t + 1];
    const char sign = t + 2 < s.size() ? s[t + 2] : '\0';
    if (sign == '-') {
      std::size_t e = text.size();
      while (e > 0 && detail::is_space(text[e - 1])) --e;
      text.resize(e);
    } else if (sign != '+' && opt.lstrip_blocks && opener != '{') {
      const std::size_t l = text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1;
      if (l > 0 || line_starting) {
        bool ws = l < text.size();
        for (std::size_t i = l; i < text.size(); ++i) ws = ws && detail::is_space(text[i]);
        if (ws) text.resize(l);
      }
    }
    if (!text.empty()) out.push_back({TokenKind::Text, std::move(text), pos});
    std::size_t p = t + 2 + ((sign == '-' || sign == '+') ? 1 : 0);

    // After a closing marker: '-' eats all whitespace, trim_blocks one newline (block and comment tags).
    auto close = [&](std::size_t after, char close_sign, bool block_like) {
      std::size_t q = after;
      if (close_sign == '-') {
        while (q < s.size() && detail::is_space(s[q])) ++q;
      } else if (close_sign != '+' && block_like && opt.trim_blocks && q < s.size() && s[q] == '\n') {
        ++q;
      }
      line_starting = q > 0 && s[q - 1] == '\n';
      return q;
    };

    if (opener == '#') {
      const std::size_t e = s.find("#}", p);
      if (e == std::string::npos) src.fail(t, "unterminated comment (missing '#}')");
      const char cs = e > p && (s[e - 1] == '-' || s[e - 1] == '+') ? s[e - 1] : '\0';
      pos = close(e + 2, cs, true);
      continue;
    }
    const bool block = opener == '%';
    const std::size_t tag_begin = out.size();
    out.push_back({block ? TokenKind::BlockBegin : TokenKind::VarBegin, "", t});
    const char closer = block ? '%' : '}';
    bool closed = false;
    while (p < s.size()) {
      const char c = s[p];
      if (detail::is_space(c)) {
        ++p;
        continue;
      }
      // Closing marker, optionally preceded by '-' or '+'.
      if ((c == '-' || c == '+') && p + 2 < s.size() && s[p + 1] == closer && s[p + 2] == '}') {
        out.push_back({block ? TokenKind::BlockEnd : TokenKind::VarEnd, "", p});
        pos = close(p + 3, c, block);
        closed = true;
        break;
      }
      if (c == closer && p + 1 < s.size() && s[p + 1] == '}') {
        out.push_back({block ? TokenKind::BlockEnd : TokenKind::VarEnd, "", p});
        pos = close(p + 2, '\0', block);
        closed = true;
        break;
      }
      if (c == '\'' || c == '"') {
        std::size_t q = p + 1;
        while (q < s.size() && s[q] != c) q += s[q] == '\\' ? 2 : 1;
        if (q >= s.size()) src.fail(p, "unterminated string literal");
        out.push_back({TokenKind::String, detail::unescape(std::string_view(s).substr(p + 1, q - p - 1)), p});
        p = q + 1;
        continue;
      }
      if (detail::is_digit(c)) {
        std::size_t q = p;
        auto digits = [&] {
          while (q < s.size() && (detail::is_digit(s[q]) || (s[q] == '_' && q + 1 < s.size() && detail::is_digit(s[q + 1])))) ++q;
        };
        digits();
        bool is_float = false;
        if (q + 1 < s.size() && s[q] == '.' && detail::is_digit(s[q + 1])) {
          is_float = true;
          ++q;
          digits();
        }
        if (q < s.size() && (s[q] == 'e' || s[q] == 'E')) {
          std::size_t r = q + 1;
          if (r < s.size() && (s[r] == '+' || s[r] == '-')) ++r;
          if (r < s.size() && detail::is_digit(s[r])) {
            is_float = true;
            q = r;
            digits();
          }
        }
        std::string num;
        for (std::size_t i = p; i < q; ++i)
          if (s[i] != '_') num += s[i];
        out.push_back({is_float ? TokenKind::Float : TokenKind::Int, num, p});
        p = q;
        continue;
      }
      if (detail::is_name_start(c)) {
        std::size_t q = p;
        while (q < s.size() && (detail::is_name_start(s[q]) || detail::is_digit(s[q]))) ++q;
        out.push_back({TokenKind::Name, s.substr(p, q - p), p});
        p = q;
        continue;
      }
      static constexpr std::string_view kOps2[] = {"//", "**", "==", "!=", "<=", ">="};
      std::string op;
      for (auto o : kOps2)
        if (s.compare(p, 2, o) == 0) op = o;
      if (op.empty() && std::string_view("+-*/%~<>=()[]{},.:|").find(c) != std::string_view::npos) op = std::string(1, c);
      if (op.empty()) src.fail(p, std::string("unexpected character '") + c + "' inside a tag");
      out.push_back({TokenKind::Op, op, p});
      p += op.size();
    }
    if (!closed) src.fail(t, block ? "unterminated block tag (missing '%}')" : "unterminated expression (missing '}}')");

    // {% raw %} ... {% endraw %}: the body is text, untouched.
    if (block && out.size() == tag_begin + 3 && out[tag_begin + 1].kind == TokenKind::Name && out[tag_begin + 1].text == "raw") {
      out.resize(tag_begin);
      std::size_t q = pos;
      while (true) {
        const std::size_t b = s.find("{%", q);
        if (b == std::string::npos) src.fail(t, "unterminated raw block (missing '{% endraw %}')");
        std::size_t r = b + 2;
        const char bs = r < s.size() ? s[r] : '\0';
        if (bs == '-' || bs == '+') ++r;
        while (r < s.size() && detail::is_space(s[r])) ++r;
        if (s.compare(r, 6, "endraw") != 0) {
          q = b + 2;
          continue;
        }
        r += 6;
        while (r < s.size() && detail::is_space(s[r])) ++r;
        char es = '\0';
        if (r < s.size() && (s[r] == '-' || s[r] == '+')) es = s[r++];
        if (s.compare(r, 2, "%}") != 0) src.fail(b, "malformed '{% endraw %}'");
        std::string body = s.substr(pos, b - pos);
        if (bs == '-') {
          while (!body.empty() && detail::is_space(body.back())) body.pop_back();
        }
        if (!body.empty()) out.push_back({TokenKind::Text, std::move(body), pos});
        pos = close(r + 2, es, true);
        break;
      }
    }
  }
  out.push_back({TokenKind::End, "", s.size()});
  return out;
}

}  // namespace llmforge::jinja
