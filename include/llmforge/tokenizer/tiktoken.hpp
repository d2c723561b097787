// SPDX-License-Identifier: MIT
// Loading tiktoken BPE ranks files ("base64(token bytes) rank" per line), e.g. Llama 3's tokenizer.model.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <llmforge/core/error.hpp>
#include <llmforge/tokenizer/bpe.hpp>
#include <llmforge/tokenizer/hf_tokenizer.hpp>
#include <llmforge/tokenizer/tokenizer.hpp>

namespace llmforge::tokenizer {

/// How to complete a tiktoken ranks file, which holds neither the split pattern nor special tokens.
struct TiktokenOptions {
  /// Split regex; the default is the Llama 3 / cl100k pattern.
  std::string pattern =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  /// Special tokens appended after the ranks, in id order. Empty: Llama 3's 256 special tokens when
  /// the file has exactly 128000 ranks, none otherwise.
  std::vector<std::string> special_tokens;
  std::string bos_token = "<|begin_of_text|>";
  std::string eos_token = "<|end_of_text|>";
  bool add_bos = true;
};

/// Llama 3's special tokens (ids 128000..128255) as Meta's reference tokenizer names them.
[[nodiscard]] inline std::vector<std::string> llama3_special_tokens() {
  std::vector<std::string> s = {"<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
                                "<|reserved_special_token_1|>", "<|reserved_special_token_2|>",
                                "<|reserved_special_token_3|>", "<|start_header_id|>", "<|end_header_id|>",
                                "<|reserved_special_token_4|>", "<|eot_id|>"};
  for (int i = 5; i < 251; ++i) s.push_back("<|reserved_special_token_" + std::to_string(i) + "|>");
  return s;
}

namespace detail {

/// True if the first line of `text` looks like "base64 rank".
inline bool looks_like_tiktoken(std::string_view text) {
  const std::size_t nl = text.find('\n');
  const std::string_view line = text.substr(0, nl);
  const std::size_t sp = line.find(' ');
  if (sp == std::string_view::npos || sp == 0 || sp + 1 >= line.size()) return false;
  for (char c : line.substr(sp + 1))
    if ((c < '0' || c > '9') && c != '\r') return false;
  return base64_decode(line.substr(0, sp)).has_value();
}

}  // namespace detail

/// A tokenizer from the text of a tiktoken ranks file: byte-level BPE where the pair whose
/// concatenation has the lowest rank merges first, and a word that is itself a token is not split.
/// @throws FormatError naming the line of a malformed entry or a rank that is not its line's id.
[[nodiscard]] inline Tokenizer tokenizer_from_tiktoken(std::string_view text, TiktokenOptions opt = {},
                                                       const std::string& source = "tiktoken") {
  Vocab v;
  v.source = source;
  v.kind = ModelKind::Bpe;
  v.model_name = "tiktoken";
  v.pre = "tiktoken";
  v.byte_fallback = false;
  v.ignore_merges = true;
  v.merge_by_token_rank = true;
  const ByteUnicode& bu = ByteUnicode::get();
  std::size_t pos = 0, line_no = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    const std::size_t sp = line.find(' ');
    const auto bytes = sp == std::string_view::npos ? std::nullopt : detail::base64_decode(line.substr(0, sp));
    if (!bytes || bytes->empty())
      throw FormatError(source + ": line " + std::to_string(line_no) + " is not \"base64 rank\"");
    uint64_t rank = 0;
    const std::string_view num = line.substr(sp + 1);
    for (char c : num) {
      if (c < '0' || c > '9' || rank > INT32_MAX) throw FormatError(source + ": line " + std::to_string(line_no) + " has a bad rank");
      rank = rank * 10 + static_cast<uint64_t>(c - '0');
    }
    if (num.empty() || rank != v.tokens.size())
      throw FormatError(source + ": line " + std::to_string(line_no) + " has rank " + std::string(num) + ", expected " +
                        std::to_string(v.tokens.size()) + " (ranks must be consecutive from 0)");
    std::string mapped;
    bu.encode(*bytes, mapped);
    v.tokens.push_back(std::move(mapped));
  }
  if (v.tokens.empty()) throw FormatError(source + ": no ranks found");
  if (opt.special_tokens.empty() && v.tokens.size() == 128000) opt.special_tokens = llama3_special_tokens();
  v.types.assign(v.tokens.size(), TokenType::Normal);
  for (auto& s : opt.special_tokens) {
    v.tokens.push_back(s);
    v.types.push_back(TokenType::Control);
  }
  v.index();
  v.special.bos = v.find(opt.bos_token);
  v.special.eos = v.find(opt.eos_token);
  v.special.eot = v.find("<|eot_id|>");
  v.add_bos = opt.add_bos && v.special.bos >= 0;
  v.collect_eog();
  const std::vector<std::string> pre = {opt.pattern};
  return Tokenizer(std::move(v), &pre);
}

/// Loads a tiktoken ranks file. @throws IoError or FormatError.
[[nodiscard]] inline Tokenizer load_tiktoken(const std::filesystem::path& p, TiktokenOptions opt = {}) {
  return tokenizer_from_tiktoken(detail::read_text_file(p), std::move(opt), p.string());
}

}  // namespace llmforge::tokenizer
