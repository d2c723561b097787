// SPDX-License-Identifier: MIT
// load_tokenizer(): opens a tokenizer from any supported file (GGUF, tokenizer.json, HF folder, ...).
#pragma once

#include <filesystem>
#include <string>

#include <llmforge/core/error.hpp>
#include <llmforge/io/gguf_reader.hpp>
#include <llmforge/tokenizer/tokenizer.hpp>

namespace llmforge::tokenizer {

/// Loads the tokenizer stored in or described by `p`: a GGUF file (a vocabulary-only one is fine).
/// @throws IoError if the file cannot be read; FormatError if it is malformed; TokenizerError if it
///         holds no tokenizer or an unsupported one.
[[nodiscard]] inline Tokenizer load_tokenizer(const std::filesystem::path& p) {
  if (!std::filesystem::exists(p)) throw IoError(p.string() + ": no such file or folder");
  auto g = io::GgufFile::open(p);
  return Tokenizer::from_gguf(g.metadata());
}

}  // namespace llmforge::tokenizer
