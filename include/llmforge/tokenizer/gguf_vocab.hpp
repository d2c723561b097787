// SPDX-License-Identifier: MIT
// Builds a Vocab from GGUF `tokenizer.ggml.*` metadata, with llama.cpp's per-model defaults.
#pragma once

#include <cctype>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <llmforge/core/error.hpp>
#include <llmforge/io/metadata.hpp>
#include <llmforge/tokenizer/pre_tokenizer.hpp>
#include <llmforge/tokenizer/vocab.hpp>

namespace llmforge::tokenizer {

/// Tokenizer model names accepted in `tokenizer.ggml.model`.
inline constexpr std::string_view kSupportedGgufModels = "llama (SentencePiece BPE), gpt2 (byte-level BPE), bert (WordPiece), t5 (Unigram)";

namespace detail {

/// Reads a special token id; GGUF writers use 0xFFFFFFFF (or -1) for "none".
inline int32_t read_special_id(const io::Metadata& md, std::string_view key, int32_t fallback, std::size_t n_tokens) {
  const io::Value* v = md.find(key);
  if (!v) return fallback;
  auto i = io::Metadata::as_int(*v);
  if (!i) throw TokenizerError(md.source() + ": metadata key '" + std::string(key) + "' must be an integer token id");
  if (*i == 0xFFFFFFFFll || *i < 0) return -1;
  if (*i >= static_cast<int64_t>(n_tokens))
    throw TokenizerError(md.source() + ": metadata key '" + std::string(key) + "' is " + std::to_string(*i) +
                         ", outside the vocabulary of " + std::to_string(n_tokens) + " tokens");
  return static_cast<int32_t>(*i);
}

/// `tokenizer.ggml.model` -> ModelKind. @throws TokenizerError for unknown names.
inline ModelKind gguf_model_kind(const std::string& name, const std::string& where) {
  if (name == "llama") return ModelKind::Spm;
  if (name == "gpt2") return ModelKind::Bpe;
  if (name == "bert") return ModelKind::WordPiece;
  if (name == "t5") return ModelKind::Unigram;
  throw TokenizerError(where + "unknown tokenizer model '" + name + "' (tokenizer.ggml.model); supported: " +
                       std::string(kSupportedGgufModels));
}

/// Tokens, scores and token types, with their lengths cross-checked.
inline void read_gguf_token_arrays(const io::Metadata& md, Vocab& v, const std::string& where) {
  if (!md.contains("tokenizer.ggml.tokens")) throw TokenizerError(where + "metadata key 'tokenizer.ggml.tokens' is missing");
  v.tokens = md.get_string_array("tokenizer.ggml.tokens");
  const std::size_t n = v.tokens.size();
  if (n == 0) throw TokenizerError(where + "'tokenizer.ggml.tokens' is empty");
  if (n > static_cast<std::size_t>(INT32_MAX)) throw TokenizerError(where + "'tokenizer.ggml.tokens' has too many entries");
  const auto check_len = [&](const char* key, std::size_t got) {
    if (got != n)
      throw TokenizerError(where + "'" + key + "' has " + std::to_string(got) + " entries, expected " + std::to_string(n) +
                           " (one per token)");
  };
  if (md.contains("tokenizer.ggml.scores")) {
    const auto s = md.get_number_array("tokenizer.ggml.scores");
    check_len("tokenizer.ggml.scores", s.size());
    v.scores.assign(s.begin(), s.end());
  }
  if (md.contains("tokenizer.ggml.token_type")) {
    const auto t = md.get_int_array("tokenizer.ggml.token_type");
    check_len("tokenizer.ggml.token_type", t.size());
    v.types.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      if (t[i] < 0 || t[i] > 6)
        throw TokenizerError(where + "'tokenizer.ggml.token_type' entry " + std::to_string(i) + " is " +
                             std::to_string(t[i]) + ", expected 0..6");
      v.types[i] = static_cast<TokenType>(t[i]);
    }
  }
}

/// Special ids and flags: llama.cpp's defaults per model, then the optional keys.
inline void read_gguf_specials(const io::Metadata& md, Vocab& v) {
  SpecialIds d;
  switch (v.kind) {
    case ModelKind::Spm:
      d.bos = 1, d.eos = 2, d.unk = 0;
      v.add_bos = true, v.add_space_prefix = true;
      break;
    case ModelKind::Bpe:
      d.bos = 11, d.eos = 11;
      break;
    case ModelKind::WordPiece:
      d.bos = 101, d.unk = 100, d.sep = 102, d.pad = 0, d.mask = 103;
      v.add_bos = true, v.add_eos = true;
      break;
    case ModelKind::Unigram:
      d.eos = 1, d.unk = 2, d.pad = 0;
      v.add_eos = true, v.add_space_prefix = true;
      break;
  }
  const std::size_t n = v.tokens.size();
  const auto dflt = [&](int32_t id) { return id >= 0 && static_cast<std::size_t>(id) < n ? id : -1; };
  v.special.bos = read_special_id(md, "tokenizer.ggml.bos_token_id", dflt(d.bos), n);
  v.special.eos = read_special_id(md, "tokenizer.ggml.eos_token_id", dflt(d.eos), n);
  v.special.unk = read_special_id(md, "tokenizer.ggml.unknown_token_id", dflt(d.unk), n);
  v.special.sep = read_special_id(md, "tokenizer.ggml.seperator_token_id", dflt(d.sep), n);  // sic: GGUF's spelling
  v.special.sep = read_special_id(md, "tokenizer.ggml.separator_token_id", v.special.sep, n);
  v.special.pad = read_special_id(md, "tokenizer.ggml.padding_token_id", dflt(d.pad), n);
  v.special.cls = read_special_id(md, "tokenizer.ggml.cls_token_id", dflt(d.cls), n);
  v.special.mask = read_special_id(md, "tokenizer.ggml.mask_token_id", dflt(d.mask), n);
  v.special.eot = read_special_id(md, "tokenizer.ggml.eot_token_id", -1, n);
  v.special.eom = read_special_id(md, "tokenizer.ggml.eom_token_id", -1, n);
}

/// Byte-level BPE: the named pre-tokenizer and the ranked merges.
inline void read_gguf_bpe(const io::Metadata& md, Vocab& v, const std::string& where) {
  // llama.cpp falls back to "default" only when the key is absent (files older than the key).
  v.pre = md.get_string("tokenizer.ggml.pre", "default");
  const PreTokenizerInfo* info = find_pre_tokenizer(v.pre);
  if (!info)
    throw TokenizerError(where + "unknown pre-tokenizer '" + v.pre + "' (tokenizer.ggml.pre); supported: " +
                         supported_pre_tokenizers());
  v.ignore_merges = info->ignore_merges;
  v.byte_fallback = false;
  v.add_bos = info->add_bos;
  if (!md.contains("tokenizer.ggml.merges"))
    throw TokenizerError(where + "byte-level BPE vocabulary has no 'tokenizer.ggml.merges'");
  const auto merges = md.get_string_array("tokenizer.ggml.merges");
  v.merge_ranks.reserve(merges.size() * 2);
  for (std::size_t i = 0; i < merges.size(); ++i) {
    if (merges[i].find(' ', 1) == std::string::npos)
      throw TokenizerError(where + "'tokenizer.ggml.merges' entry " + std::to_string(i) + " ('" + merges[i] +
                           "') is not two pieces separated by a space");
    v.merge_ranks.try_emplace(merges[i], static_cast<int32_t>(i));
  }
}

/// Phi-3 vocabularies: special tokens swallow the whitespace that follows them (llama.cpp sets the
/// same attribute by model name).
inline void apply_gguf_name_attributes(const io::Metadata& md, Vocab& v) {
  std::string name = md.get_string("general.name", "");
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (name.find("phi-3") == std::string::npos && name.find("phi3") == std::string::npos) return;
  for (std::size_t i = 0; i < v.size(); ++i)
    if (v.is_special(static_cast<int32_t>(i)) && v.tokens[i] != "<unk>" && v.tokens[i] != "<s>" &&
        v.tokens[i] != "<|endoftext|>")
      v.rstrip[i] = 1;
}

}  // namespace detail

/// Reads the vocabulary stored in GGUF metadata (`tokenizer.ggml.model`, `.pre`, `.tokens`, `.scores`,
/// `.token_type`, `.merges`, special ids, `add_bos_token`/`add_eos_token`/`add_space_prefix`).
/// @throws TokenizerError naming an unknown model or pre-tokenizer (and listing the supported ones),
///         a missing token list, or arrays whose lengths disagree.
[[nodiscard]] inline Vocab vocab_from_gguf(const io::Metadata& md) {
  Vocab v;
  v.source = md.source();
  const std::string where = md.source().empty() ? std::string() : md.source() + ": ";
  if (!md.contains("tokenizer.ggml.model"))
    throw TokenizerError(where + "has no tokenizer (metadata key 'tokenizer.ggml.model' is missing)");
  v.model_name = md.get_string("tokenizer.ggml.model");
  v.kind = detail::gguf_model_kind(v.model_name, where);
  detail::read_gguf_token_arrays(md, v, where);
  v.index();
  detail::read_gguf_specials(md, v);
  if (v.kind == ModelKind::Bpe) detail::read_gguf_bpe(md, v, where);
  else v.pre = md.get_string("tokenizer.ggml.pre", "default");
  v.add_space_prefix = md.get_bool("tokenizer.ggml.add_space_prefix", v.add_space_prefix);
  v.remove_extra_whitespaces = md.get_bool("tokenizer.ggml.remove_extra_whitespaces", v.remove_extra_whitespaces);
  v.add_bos = md.get_bool("tokenizer.ggml.add_bos_token", v.add_bos);
  v.add_eos = md.get_bool("tokenizer.ggml.add_eos_token", v.add_eos);
  if (v.kind == ModelKind::Unigram && md.contains("tokenizer.ggml.precompiled_charsmap")) {
    const auto bytes = md.get_int_array("tokenizer.ggml.precompiled_charsmap");
    v.precompiled_charsmap.reserve(bytes.size());
    for (int64_t b : bytes) v.precompiled_charsmap += static_cast<char>(static_cast<uint8_t>(b));
  }
  if (v.kind == ModelKind::WordPiece) {
    v.add_eos = md.get_bool("tokenizer.ggml.add_sep_token", v.add_eos);
    v.lowercase = true;
    v.clean_spaces = true;
  }
  detail::apply_gguf_name_attributes(md, v);
  v.collect_eog();
  v.validate();
  return v;
}

}  // namespace llmforge::tokenizer
