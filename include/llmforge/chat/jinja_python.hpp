// SPDX-License-Identifier: MIT
// Python behaviour the Jinja engine must reproduce byte for byte: str methods (strip, split, title,
// ...), code-point indexing of UTF-8 text, HTML escaping and json.dumps.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include <llmforge/chat/jinja_value.hpp>
#include <llmforge/tokenizer/utf8.hpp>

namespace llmforge::jinja::py {

/// Byte offsets of the code points of UTF-8 `s`, plus `s.size()` at the end.
inline std::vector<std::size_t> code_points(std::string_view s) {
  std::vector<std::size_t> off;
  off.reserve(s.size() + 1);
  for (std::size_t i = 0; i < s.size(); ++i)
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) off.push_back(i);
  off.push_back(s.size());
  return off;
}
inline std::size_t length(std::string_view s) { return code_points(s).size() - 1; }

/// Python's default whitespace set for strip() and split() (ASCII part).
inline bool is_py_space(char c) { return std::string_view(" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f").find(c) != std::string_view::npos; }

/// str.strip / lstrip / rstrip with an optional set of characters (code points).
inline std::string strip(std::string_view s, const Value& chars, bool left, bool right) {
  std::vector<std::string> set;
  const bool custom = chars.is_string();
  if (custom) {
    const auto cp = code_points(chars.str());
    for (std::size_t i = 0; i + 1 < cp.size(); ++i) set.push_back(chars.str().substr(cp[i], cp[i + 1] - cp[i]));
  }
  const auto cp = code_points(s);
  auto strippable = [&](std::size_t k) {
    std::string_view ch = s.substr(cp[k], cp[k + 1] - cp[k]);
    if (!custom) return ch.size() == 1 && is_py_space(ch[0]);
    return std::find(set.begin(), set.end(), ch) != set.end();
  };
  std::size_t b = 0, e = cp.size() - 1;
  if (left)
    while (b < e && strippable(b)) ++b;
  if (right)
    while (e > b && strippable(e - 1)) --e;
  return std::string(s.substr(cp[b], cp[e] - cp[b]));
}

/// str.split(sep=None, maxsplit=-1).
inline std::vector<std::string> split(std::string_view s, const Value& sep, int64_t maxsplit) {
  std::vector<std::string> out;
  if (!sep.is_string()) {
    std::size_t i = 0;
    while (true) {
      while (i < s.size() && is_py_space(s[i])) ++i;
      if (i >= s.size()) break;
      if (maxsplit >= 0 && static_cast<int64_t>(out.size()) == maxsplit) {
        std::size_t e = s.size();
        while (e > i && is_py_space(s[e - 1])) --e;
        out.emplace_back(s.substr(i, e - i));
        break;
      }
      std::size_t j = i;
      while (j < s.size() && !is_py_space(s[j])) ++j;
      out.emplace_back(s.substr(i, j - i));
      i = j;
    }
    return out;
  }
  const std::string& d = sep.str();
  if (d.empty()) throw TemplateError("split(): empty separator");
  std::size_t i = 0;
  while (true) {
    const std::size_t j = s.find(d, i);
    if (j == std::string_view::npos || (maxsplit >= 0 && static_cast<int64_t>(out.size()) == maxsplit)) {
      out.emplace_back(s.substr(i));
      return out;
    }
    out.emplace_back(s.substr(i, j - i));
    i = j + d.size();
  }
}

/// str.replace(old, new, count=-1).
inline std::string replace(std::string_view s, std::string_view from, std::string_view to, int64_t count) {
  std::string out;
  if (from.empty()) {  // Python inserts `to` between every code point
    const auto cp = code_points(s);
    for (std::size_t k = 0; k + 1 < cp.size(); ++k) {
      if (count < 0 || static_cast<int64_t>(k) < count) out += to;
      out += s.substr(cp[k], cp[k + 1] - cp[k]);
    }
    if (count < 0 || static_cast<int64_t>(cp.size() - 1) < count) out += to;
    return out;
  }
  std::size_t i = 0;
  int64_t n = 0;
  while (count < 0 || n < count) {
    const std::size_t j = s.find(from, i);
    if (j == std::string_view::npos) break;
    out += s.substr(i, j - i);
    out += to;
    i = j + from.size();
    ++n;
  }
  out += s.substr(i);
  return out;
}

inline bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
inline char upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c; }
inline char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }
/// str.upper / str.lower (ASCII letters; other text is kept as is).
inline std::string upper(std::string s) {
  for (char& c : s) c = upper(c);
  return s;
}
inline std::string lower(std::string s) {
  for (char& c : s) c = lower(c);
  return s;
}
/// str.capitalize: the first character upper case, the rest lower case.
inline std::string capitalize(std::string s) {
  s = lower(std::move(s));
  if (!s.empty()) s[0] = upper(s[0]);
  return s;
}
/// str.title: upper case after every non-letter, lower case elsewhere.
inline std::string title(std::string s) {
  bool prev_cased = false;
  for (char& c : s) {
    const bool alpha = is_alpha(c);
    c = alpha ? (prev_cased ? lower(c) : upper(c)) : c;
    prev_cased = alpha;
  }
  return s;
}
/// Jinja's `title` filter: words start after whitespace, '-', '(', '{', '[' or '<'.
inline std::string title_words(std::string s) {
  bool start = true;
  for (char& c : s) {
    const bool sep = is_py_space(c) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<';
    if (sep) {
      start = true;
      continue;
    }
    c = start ? upper(c) : lower(c);
    start = false;
  }
  return s;
}

/// markupsafe.escape: & < > " ' as HTML entities.
inline std::string html_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

/// json.dumps options as HF's `tojson` filter passes them.
struct JsonOptions {
  bool ensure_ascii = false;
  bool indent_set = false;
  std::string indent;  ///< used when indent_set
  std::string item_sep = ", ";
  std::string key_sep = ": ";
  bool sort_keys = false;
};

inline void json_string(std::string& out, std::string_view s, bool ensure_ascii) {
  out += '"';
  for (std::size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"': out += "\\\""; continue;
      case '\\': out += "\\\\"; continue;
      case '\n': out += "\\n"; continue;
      case '\r': out += "\\r"; continue;
      case '\t': out += "\\t"; continue;
      case '\b': out += "\\b"; continue;
      case '\f': out += "\\f"; continue;
      default: break;
    }
    char buf[16];
    if (c < 0x20 || (ensure_ascii && c == 0x7f)) {
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else if (c >= 0x80 && ensure_ascii) {
      // One code point as \uXXXX (a surrogate pair above U+FFFF), like Python's json.dumps.
      char32_t cp = tokenizer::utf8::decode(s, i);
      --i;
      if (cp >= 0x10000) {
        cp -= 0x10000;
        std::snprintf(buf, sizeof buf, "\\u%04x\\u%04x", static_cast<unsigned>(0xD800 + (cp >> 10)), static_cast<unsigned>(0xDC00 + (cp & 0x3FF)));
      } else {
        std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(cp));
      }
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
}

inline std::string json_key(const Value& k) {
  switch (k.type()) {
    case Value::Type::String: return k.str();
    case Value::Type::Bool: return k.as_bool() ? "true" : "false";
    case Value::Type::None: return "null";
    case Value::Type::Int: return std::to_string(k.as_int());
    case Value::Type::Float: return float_repr(k.as_double());
    default: throw TemplateError("tojson: keys must be str, int, float, bool or None, not " + k.type_name());
  }
}

/// Python's json.dumps(v, ...). @throws TemplateError for undefined values and functions.
inline void dump_json(std::string& out, const Value& v, const JsonOptions& o, int level = 0) {
  check_value_depth(level);
  auto newline = [&](int lvl) {
    out += '\n';
    for (int k = 0; k < lvl; ++k) out += o.indent;
  };
  switch (v.type()) {
    case Value::Type::None: out += "null"; return;
    case Value::Type::Bool: out += v.as_bool() ? "true" : "false"; return;
    case Value::Type::Int: out += std::to_string(v.as_int()); return;
    case Value::Type::Float: {
      const double d = v.as_double();
      out += std::isnan(d) ? "NaN" : std::isinf(d) ? (d < 0 ? "-Infinity" : "Infinity") : float_repr(d);
      return;
    }
    case Value::Type::String: json_string(out, v.str(), o.ensure_ascii); return;
    case Value::Type::List: {
      const auto& items = v.items();
      if (items.empty()) {
        out += "[]";
        return;
      }
      out += '[';
      for (std::size_t i = 0; i < items.size(); ++i) {
        if (i) out += o.item_sep;
        if (o.indent_set) newline(level + 1);
        dump_json(out, items[i], o, level + 1);
      }
      if (o.indent_set) newline(level);
      out += ']';
      return;
    }
    case Value::Type::Dict: {
      std::vector<std::pair<std::string, const Value*>> kv;
      for (const auto& [k, val] : v.dict_ptr()->items) kv.emplace_back(json_key(k), &val);
      if (o.sort_keys) std::stable_sort(kv.begin(), kv.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      if (kv.empty()) {
        out += "{}";
        return;
      }
      out += '{';
      for (std::size_t i = 0; i < kv.size(); ++i) {
        if (i) out += o.item_sep;
        if (o.indent_set) newline(level + 1);
        json_string(out, kv[i].first, o.ensure_ascii);
        out += o.key_sep;
        dump_json(out, *kv[i].second, o, level + 1);
      }
      if (o.indent_set) newline(level);
      out += '}';
      return;
    }
    case Value::Type::Undefined: throw TemplateError("tojson: Object of type Undefined is not JSON serializable");
    case Value::Type::Function: throw TemplateError("tojson: Object of type function is not JSON serializable");
  }
}

/// Python's `a[start:stop:step]` index arithmetic for a sequence of length `n`; returns the indices.
inline std::vector<std::size_t> slice_indices(int64_t n, const Value& start, const Value& stop, const Value& step) {
  const int64_t st = step.is_none() || step.is_undefined() ? 1 : step.as_int();
  if (st == 0) throw TemplateError("slice step cannot be zero");
  auto clamp = [&](const Value& v, int64_t dflt) {
    if (v.is_none() || v.is_undefined()) return dflt;
    int64_t x = v.as_int();
    if (x < 0) x += n;
    if (st > 0) return std::clamp<int64_t>(x, 0, n);
    return std::clamp<int64_t>(x, -1, n - 1);
  };
  const int64_t b = clamp(start, st > 0 ? 0 : n - 1);
  const int64_t e = clamp(stop, st > 0 ? n : -1);
  std::vector<std::size_t> idx;
  for (int64_t i = b; st > 0 ? i < e : i > e;) {
    idx.push_back(static_cast<std::size_t>(i));
    if (st > 0 ? e - i <= st : i - e <= -st) break;  // the next step would pass the end (or overflow)
    i += st;
  }
  return idx;
}

}  // namespace llmforge::jinja::py
