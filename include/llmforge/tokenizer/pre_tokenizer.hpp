// SPDX-License-Identifier: MIT
// Named regex pre-tokenizers (GGUF `tokenizer.ggml.pre`) run with PCRE2 in UTF + Unicode-property mode.
#pragma once

#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif
#include <pcre2.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <llmforge/core/error.hpp>

namespace llmforge::tokenizer {

namespace regex {

inline constexpr const char* kGpt2 = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))";
inline constexpr const char* kLlama3 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
inline constexpr const char* kQwen2 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
inline constexpr const char* kCjk = "[\u4e00-\u9fa5\u0800-\u4e00\uac00-\ud7ff]+";
inline constexpr const char* kDeepseekLlmLetters =
    "\\s?[A-Za-z\u00b5\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u01ba\u01bc-\u01bf\u01c4-\u0293\u0295-\u02af\u0370-\u0373"
    "\u0376\u0377\u037b-\u037d\u037f\u0386\u0388-\u038a\u038c\u038e-\u03a1\u03a3-\u03f5\u03f7-\u0481\u048a-\u052f"
    "\u0531-\u0556\u10a0-\u10c5\u13a0-\u13f5\u13f8-\u13fd\u1c90-\u1cba\u1cbd-\u1cbf\u1d00-\u1d2b\u1d6b-\u1d77"
    "\u1d79-\u1d9a\u1e00-\u1f15\u1f18-\u1f1d\u1f20-\u1f45\u1f48-\u1f4d\u1f50-\u1f57\u1f59\u1f5b\u1f5d\u1f5f-\u1f7d"
    "\u1f80-\u1fb4\u1fb6-\u1fbc\u1fbe\u1fc2-\u1fc4\u1fc6-\u1fcc\u1fd0-\u1fd3\u1fd6-\u1fdb\u1fe0-\u1fec\u1ff2-\u1ff4"
    "\u1ff6-\u1ffc\u2102\u2107\u210a-\u2113\u2115\u2119-\u211d\u2124\u2126\u2128\u212a-\u212d\u212f-\u2134\u2139"
    "\u213c-\u213f\u2145-\u2149\u214e\u2183\u2184\u2c00-\u2c7b\u2c7e-\u2ce4\u2ceb-\u2cee\u2cf2\u2cf3\ua640-\ua66d"
    "\ua680-\ua69b\ua722-\ua76f\ua771-\ua787\ua78b-\ua78e\uab70-\uabbf\ufb00-\ufb06\ufb13-\ufb17\uff21-\uff3a"
    "\uff41-\uff5a\U00010400-\U0001044f\U000104b0-\U000104d3\U000104d8-\U000104fb\U00010c80-\U00010cb2"
    "\U00010cc0-\U00010cf2\U000118a0-\U000118df\U0001e900-\U0001e943]+";

}  // namespace regex

/// A named pre-tokenizer: the regexes applied one after another (each splits the pieces the previous
/// one produced, keeping the unmatched gaps as pieces) plus the vocabulary flags llama.cpp ties to it.
struct PreTokenizerInfo {
  std::vector<std::string_view> names;
  std::vector<std::string> regexes;
  bool ignore_merges = false;
  bool add_bos = false;
};

/// The pre-tokenizers this build knows, by GGUF `tokenizer.ggml.pre` name (llama.cpp's list).
[[nodiscard]] inline const std::vector<PreTokenizerInfo>& pre_tokenizers() {
  static const std::vector<PreTokenizerInfo> table = {
      {{"default"},
       {R"([\p{P}\$\+<=>\^~\|]+)", regex::kGpt2, R"(\p{N}+)", "[0-9][0-9][0-9]"}},
      {{"gpt-2", "gpt2", "gpt-neox", "mpt", "olmo", "jais", "trillion", "phi-2", "jina-es", "jina-de", "gigachat",
        "jina-v1-en", "jina-v2-es", "jina-v2-de", "a.x-4.0", "mellum", "granite-docling"},
       {regex::kGpt2}},
      {{"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2"},
       {regex::kLlama3},
       true,
       true},
      {{"dbrx", "smaug-bpe", "chatglm-bpe", "glm4"}, {regex::kLlama3}},
      {{"qwen2", "deepseek-r1-qwen", "stablelm2", "megrez", "hunyuan", "grok-2"}, {regex::kQwen2}},
      {{"deepseek-llm"},
       {"[\r\n]", regex::kDeepseekLlmLetters,
        "\\s?[!-/:-~\uff01-\uff0f\uff1a-\uff5e\u2018-\u201f\u3000-\u3002]+", R"(\s+$)", regex::kCjk, R"(\p{N}+)"}},
      {{"deepseek-v3", "hunyuan-dense"},
       {R"(\p{N}{1,3})", "[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+",
        R"([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"}},
      {{"deepseek-coder"}, {"[\r\n]", R"(\s?\p{L}+)", R"(\s?\p{P}+)", regex::kCjk, R"(\p{N})"}},
      {{"falcon"}, {R"([\p{P}\$\+<=>\^~\|`]+)", regex::kGpt2, "[0-9][0-9][0-9]"}},
      {{"starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b"}, {R"(\p{N})", regex::kGpt2}},
      {{"poro-chat", "bloom", "gpt3-finnish"}, {" ?[^(\\s|.,!?\u2026\u3002\uff0c\u3001\u0964\u06d4\u060c)]+"}},
      {{"viking"}, {" ?[^(\\s|.,!?\u2026\u3002\uff0c\u3001\u0964\u06d4\u060c)]+", R"(\p{N})"}},
      {{"tekken"},
       {R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)"},
       true,
       true},
      {{"gpt-4o", "llama4", "minimax-m2"},
       {R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)"}},
      {{"seed-coder"},
       {R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+|\s+(?!\S)|\s+)"}},
  };
  return table;
}

/// The pre-tokenizer called `name`, or null.
[[nodiscard]] inline const PreTokenizerInfo* find_pre_tokenizer(std::string_view name) {
  for (const auto& p : pre_tokenizers())
    for (std::string_view n : p.names)
      if (n == name) return &p;
  return nullptr;
}

/// Comma-separated list of every known pre-tokenizer name (for error messages).
[[nodiscard]] inline std::string supported_pre_tokenizers() {
  std::string s;
  for (const auto& p : pre_tokenizers())
    for (std::string_view n : p.names) {
      if (!s.empty()) s += ", ";
      s += n;
    }
  return s;
}

/// One compiled PCRE2 pattern (UTF, Unicode properties, JIT when available). Thread-safe to share:
/// each match call allocates its own match data.
class Regex {
 public:
  /// Compiles `pattern`. @throws TokenizerError with PCRE2's message and offset if it does not compile.
  explicit Regex(std::string pattern) : pattern_(std::move(pattern)) {
    int err = 0;
    PCRE2_SIZE off = 0;
    pcre2_code* c = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern_.data()), pattern_.size(),
                                  PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY, &err, &off, nullptr);
    if (!c) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(err, msg, sizeof msg);
      throw TokenizerError("pre-tokenizer regex '" + pattern_ + "' does not compile at offset " + std::to_string(off) +
                           ": " + reinterpret_cast<const char*>(msg));
    }
    code_.reset(c, pcre2_code_free);
    jit_ = pcre2_jit_compile(c, PCRE2_JIT_COMPLETE) == 0;
  }

  /// Splits each piece of `pieces` at this regex's matches; the gaps between matches stay pieces.
  /// The text must be valid UTF-8. @throws TokenizerError if PCRE2 reports a matching error.
  void split(std::vector<std::string_view>& pieces) const {
    std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> md(
        pcre2_match_data_create_from_pattern(code_.get(), nullptr), pcre2_match_data_free);
    std::vector<std::string_view> out;
    out.reserve(pieces.size() * 2);
    for (std::string_view piece : pieces) {
      const auto* subject = reinterpret_cast<PCRE2_SPTR>(piece.data());
      std::size_t pos = 0, gap = 0;
      while (pos <= piece.size()) {
        int rc = jit_ ? pcre2_jit_match(code_.get(), subject, piece.size(), pos, 0, md.get(), nullptr)
                      : pcre2_match(code_.get(), subject, piece.size(), pos, PCRE2_NO_UTF_CHECK, md.get(), nullptr);
        if (rc == PCRE2_ERROR_JIT_STACKLIMIT)  // very long runs: the interpreter keeps its state on the heap
          rc = pcre2_match(code_.get(), subject, piece.size(), pos, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, md.get(), nullptr);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
          PCRE2_UCHAR msg[256];
          pcre2_get_error_message(rc, msg, sizeof msg);
          throw TokenizerError(std::string("pre-tokenizer regex failed: ") + reinterpret_cast<const char*>(msg));
        }
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md.get());
        const std::size_t s = ov[0], e = ov[1];
        if (e == s) {  // empty match: step over one code point
          pos = s + 1;
          while (pos < piece.size() && (static_cast<unsigned char>(piece[pos]) & 0xC0) == 0x80) ++pos;
          continue;
        }
        if (s > gap) out.push_back(piece.substr(gap, s - gap));
        out.push_back(piece.substr(s, e - s));
        gap = pos = e;
      }
      if (gap < piece.size()) out.push_back(piece.substr(gap));
    }
    pieces.swap(out);
  }

  [[nodiscard]] const std::string& pattern() const noexcept { return pattern_; }

 private:
  std::string pattern_;
  std::shared_ptr<pcre2_code> code_;
  bool jit_ = false;
};

/// A sequence of regex splits.
class PreTokenizer {
 public:
  PreTokenizer() = default;
  /// @throws TokenizerError if a pattern does not compile.
  explicit PreTokenizer(const std::vector<std::string>& patterns) {
    for (const auto& p : patterns) regexes_.emplace_back(p);
  }
  /// The pieces of `text` (valid UTF-8), in order; they concatenate to `text`.
  [[nodiscard]] std::vector<std::string_view> split(std::string_view text) const {
    std::vector<std::string_view> pieces;
    if (text.empty()) return pieces;
    pieces.push_back(text);
    for (const auto& r : regexes_) r.split(pieces);
    return pieces;
  }
  [[nodiscard]] bool empty() const noexcept { return regexes_.empty(); }

 private:
  std::vector<Regex> regexes_;
};

}  // namespace llmforge::tokenizer
