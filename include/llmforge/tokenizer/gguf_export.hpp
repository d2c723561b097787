// SPDX-License-Identifier: MIT
// A tokenizer's vocabulary written as GGUF `tokenizer.ggml.*` metadata (what `llmforge convert`
// stores when its input brings the tokenizer as a Hugging Face tokenizer.json).
#pragma once

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <llmforge/core/error.hpp>
#include <llmforge/io/metadata.hpp>
#include <llmforge/tokenizer/tokenizer.hpp>
#include <llmforge/tokenizer/vocab.hpp>

namespace llmforge::tokenizer {

/// Adds `v` to `md` as llama.cpp's tokenizer keys: byte-level BPE as model "gpt2" (tokens, types,
/// merges in rank order, the pre-tokenizer name `pre`), SentencePiece-style vocabularies (SPM, or
/// BPE over U+2581 pieces with byte fallback as Llama 2's tokenizer.json) as model "llama" with
/// scores (a BPE merge's score is minus its rank, so SentencePiece's highest-score-first merging
/// replays the BPE merge order), and the special ids and add-BOS/EOS flags.
/// @throws UnsupportedError for WordPiece / Unigram or a byte-level BPE without a known pre-tokenizer.
inline void add_gguf_tokenizer_metadata(const Vocab& v, io::Metadata& md, const std::string& pre = "") {
  auto strings = std::make_shared<io::ArrayValue>(), types = std::make_shared<io::ArrayValue>();
  strings->element_type = io::ValueType::String;
  types->element_type = io::ValueType::I32;
  for (std::size_t i = 0; i < v.tokens.size(); ++i) {
    strings->items.emplace_back(v.tokens[i].empty() ? "[PAD" + std::to_string(i) + "]" : v.tokens[i]);
    types->items.emplace_back(static_cast<int32_t>(v.type(static_cast<int32_t>(i)) == TokenType::Undefined ? TokenType::Normal
                                                                                                            : v.type(static_cast<int32_t>(i))));
  }
  const bool spm_like = v.kind == ModelKind::Spm || (v.kind == ModelKind::Bpe && !v.byte_level && v.byte_fallback);
  if (v.kind == ModelKind::Bpe && v.byte_level) {
    if (pre.empty()) throw UnsupportedError(v.source + ": cannot name the pre-tokenizer of this byte-level BPE tokenizer for GGUF");
    std::vector<std::pair<int32_t, std::string>> merges;
    merges.reserve(v.merge_ranks.size());
    for (const auto& [k, r] : v.merge_ranks) merges.emplace_back(r, k);
    std::sort(merges.begin(), merges.end());
    auto arr = std::make_shared<io::ArrayValue>();
    arr->element_type = io::ValueType::String;
    for (auto& [r, k] : merges) arr->items.emplace_back(std::move(k));
    md.set("tokenizer.ggml.model", std::string("gpt2"));
    md.set("tokenizer.ggml.pre", pre);
    md.set("tokenizer.ggml.tokens", std::shared_ptr<const io::ArrayValue>(strings));
    md.set("tokenizer.ggml.token_type", std::shared_ptr<const io::ArrayValue>(types));
    md.set("tokenizer.ggml.merges", std::shared_ptr<const io::ArrayValue>(arr));
  } else if (spm_like) {
    auto scores = std::make_shared<io::ArrayValue>();
    scores->element_type = io::ValueType::F32;
    if (v.kind == ModelKind::Spm) {
      for (std::size_t i = 0; i < v.tokens.size(); ++i) scores->items.emplace_back(v.score(static_cast<int32_t>(i)));
    } else {
      // The score of a piece is minus the rank of the merge that makes it; pieces no merge makes
      // (characters, bytes, specials) are never merge results, so their score is not used.
      std::vector<float> s(v.tokens.size(), 0.0f);
      std::vector<bool> made(v.tokens.size(), false);
      for (const auto& [k, r] : v.merge_ranks) {
        const auto sp = k.find(' ', 1);
        const int32_t id = v.find(k.substr(0, sp) + k.substr(sp + 1));
        if (id >= 0 && (!made[static_cast<std::size_t>(id)] || -static_cast<float>(r) > s[static_cast<std::size_t>(id)])) {
          s[static_cast<std::size_t>(id)] = -static_cast<float>(r);
          made[static_cast<std::size_t>(id)] = true;
        }
      }
      for (std::size_t i = 0; i < s.size(); ++i) {
        const auto t = v.type(static_cast<int32_t>(i));
        if (!made[i] && t == TokenType::Normal && v.tokens[i].size() > 1 && v.tokens[i] != "\xE2\x96\x81")
          s[i] = -1e9f;  // a multi-character piece no merge makes: BPE never produces it
        scores->items.emplace_back(s[i]);
      }
    }
    md.set("tokenizer.ggml.model", std::string("llama"));
    md.set("tokenizer.ggml.tokens", std::shared_ptr<const io::ArrayValue>(strings));
    md.set("tokenizer.ggml.scores", std::shared_ptr<const io::ArrayValue>(scores));
    md.set("tokenizer.ggml.token_type", std::shared_ptr<const io::ArrayValue>(types));
    md.set("tokenizer.ggml.add_space_prefix", v.add_space_prefix);
  } else {
    throw UnsupportedError(v.source + ": " + std::string(model_kind_name(v.kind)) +
                           " tokenizers cannot be written as GGUF metadata yet");
  }
  auto id = [&](const char* key, int32_t value) {
    if (value >= 0) md.set(std::string("tokenizer.ggml.") + key, static_cast<uint32_t>(value));
  };
  id("bos_token_id", v.special.bos);
  id("eos_token_id", v.special.eos);
  id("unknown_token_id", v.special.unk);
  id("padding_token_id", v.special.pad);
  id("eot_token_id", v.special.eot);
  md.set("tokenizer.ggml.add_bos_token", v.add_bos);
  md.set("tokenizer.ggml.add_eos_token", v.add_eos);
}

}  // namespace llmforge::tokenizer
