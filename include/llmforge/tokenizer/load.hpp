// SPDX-License-Identifier: MIT
// load_tokenizer(): opens a tokenizer from any supported file (GGUF, tokenizer.json, HF folder, ...).
#pragma once

#include <filesystem>
#include <fstream>
#include <string>

#include <llmforge/core/error.hpp>
#include <llmforge/io/gguf_reader.hpp>
#include <llmforge/tokenizer/hf_tokenizer.hpp>
#include <llmforge/tokenizer/sentencepiece_model.hpp>
#include <llmforge/tokenizer/tiktoken.hpp>
#include <llmforge/tokenizer/tokenizer.hpp>

namespace llmforge::tokenizer {

/// The file formats `load_tokenizer` recognises (for error messages).
inline constexpr std::string_view kSupportedTokenizerFiles =
    "GGUF (vocabulary-only is fine), Hugging Face tokenizer.json or a folder holding it, vocab.json + merges.txt "
    "(or encoder.json + vocab.bpe), SentencePiece .model, tiktoken ranks file";

/// Loads the tokenizer stored in or described by `p`, recognised by content: a GGUF file (its
/// `tokenizer.ggml.*` metadata), a Hugging Face `tokenizer.json` (with the `tokenizer_config.json`
/// beside it) or a folder holding one, a GPT-2 `vocab.json`/`encoder.json` with its merges file, a
/// SentencePiece `.model` protobuf, or a tiktoken ranks file (Llama 3 conventions).
/// @throws IoError if the file cannot be read; FormatError if it is malformed; TokenizerError if it
///         holds no tokenizer or an unsupported one (the message lists what is supported).
[[nodiscard]] inline Tokenizer load_tokenizer(const std::filesystem::path& p) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(p, ec)) throw IoError(p.string() + ": no such file or folder");
  if (fs::is_directory(p, ec)) {
    if (fs::exists(p / "tokenizer.json")) return load_hf_tokenizer(p);
    if (fs::exists(p / "tokenizer.model")) return load_tokenizer(p / "tokenizer.model");
    if (fs::exists(p / "vocab.json") && fs::exists(p / "merges.txt")) return load_gpt2_bpe(p / "vocab.json", p / "merges.txt");
    if (fs::exists(p / "encoder.json") && fs::exists(p / "vocab.bpe")) return load_gpt2_bpe(p / "encoder.json", p / "vocab.bpe");
    throw TokenizerError(p.string() +
                         ": folder holds none of tokenizer.json, tokenizer.model, vocab.json + merges.txt, encoder.json + vocab.bpe");
  }
  char head[4] = {};
  {
    std::ifstream in(p, std::ios::binary);
    if (!in) throw IoError(p.string() + ": cannot open for reading");
    in.read(head, 4);
  }
  if (std::string_view(head, 4) == "GGUF") {
    auto g = io::GgufFile::open(p);
    return Tokenizer::from_gguf(g.metadata());
  }
  const std::string text = detail::read_text_file(p);
  const std::size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '{') {
    const auto j = detail::parse_json(text, p.string());
    if (j.is_object() && j.contains("model")) {
      const auto cfg = p.parent_path() / "tokenizer_config.json";
      return tokenizer_from_hf_json(text, fs::exists(cfg) ? detail::read_text_file(cfg) : std::string(), p.string());
    }
    for (const char* merges : {"merges.txt", "vocab.bpe"})
      if (fs::exists(p.parent_path() / merges)) return load_gpt2_bpe(p, p.parent_path() / merges);
    throw TokenizerError(p.string() + ": JSON file is neither a tokenizer.json (no \"model\") nor a GPT-2 vocabulary with "
                                      "merges.txt / vocab.bpe beside it");
  }
  if (detail::looks_like_tiktoken(text)) return tokenizer_from_tiktoken(text, {}, p.string());
  if (!text.empty() && text[0] == '\x0A') return tokenizer_from_sentencepiece(text, p.string());
  throw TokenizerError(p.string() + ": not a recognised tokenizer file; supported: " + std::string(kSupportedTokenizerFiles));
}

}  // namespace llmforge::tokenizer
