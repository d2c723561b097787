// SPDX-License-Identifier: MIT
// The vocabulary shared by every tokenizer model: pieces, scores, token types, special ids, merges.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <llmforge/core/error.hpp>

namespace llmforge::tokenizer {

/// Token types as GGUF's `tokenizer.ggml.token_type` stores them (SentencePiece's piece types).
enum class TokenType : uint8_t {
  Undefined = 0,
  Normal = 1,
  Unknown = 2,
  Control = 3,
  UserDefined = 4,
  Unused = 5,
  Byte = 6,
};

/// The tokenization algorithm of a vocabulary.
enum class ModelKind : uint8_t {
  Spm,        ///< SentencePiece BPE over code points with byte fallback (GGUF "llama")
  Bpe,        ///< byte-level BPE with ranked merges (GGUF "gpt2")
  WordPiece,  ///< BERT WordPiece (GGUF "bert")
  Unigram,    ///< SentencePiece Unigram (GGUF "t5")
};

/// Transparent string hash so maps keyed by std::string can be searched with a string_view.
struct StringHash {
  using is_transparent = void;
  [[nodiscard]] std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

/// A string-keyed hash map searchable by string_view without allocating.
template <class V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

/// Encodes each piece with `encode_piece(piece, out)`, appending to `out`. Long texts repeat words, so
/// with more than 64 pieces the ids of each distinct short piece are remembered for this call only
/// (a per-call cache keeps `encode` thread-safe without locks) and copied on a repeat.
template <class Pieces, class EncodePiece>
void encode_pieces_cached(const Pieces& pieces, std::vector<int32_t>& out, EncodePiece&& encode_piece) {
  const bool use_cache = pieces.size() > 64;
  StringMap<std::pair<std::size_t, std::size_t>> cache;  // piece -> [begin, end) in `out`
  for (std::string_view piece : pieces) {
    if (use_cache) {
      if (auto it = cache.find(piece); it != cache.end()) {
        for (std::size_t i = it->second.first; i < it->second.second; ++i) {
          const int32_t id = out[i];
          out.push_back(id);
        }
        continue;
      }
    }
    const std::size_t begin = out.size();
    encode_piece(piece, out);
    if (use_cache && piece.size() <= 64) cache.emplace(std::string(piece), std::make_pair(begin, out.size()));
  }
}

/// Name of a tokenizer algorithm ("SPM", "BPE", "WordPiece", "Unigram").
[[nodiscard]] constexpr std::string_view model_kind_name(ModelKind k) noexcept {
  switch (k) {
    case ModelKind::Spm: return "SPM";
    case ModelKind::Bpe: return "BPE";
    case ModelKind::WordPiece: return "WordPiece";
    case ModelKind::Unigram: return "Unigram";
  }
  return "unknown";
}

/// Unicode normalization a tokenizer applies to its input before anything else.
enum class Normalization : uint8_t { None, NFC, NFD, NFKC, NFKD };

/// Special token ids of a vocabulary; -1 when the vocabulary has none.
struct SpecialIds {
  int32_t bos = -1, eos = -1, unk = -1, pad = -1, sep = -1, cls = -1, mask = -1, eot = -1, eom = -1;
};

/// Everything a tokenizer knows about its vocabulary. Built by the loaders, shared (immutable)
/// by `Tokenizer` copies.
struct Vocab {
  ModelKind kind = ModelKind::Spm;
  std::string model_name;  ///< as the source names it ("llama", "gpt2", "bert", "BPE", ...)
  std::string pre;         ///< pre-tokenizer name ("default", "llama3", ...), empty if none
  std::string source;      ///< file name for error messages

  std::vector<std::string> tokens;  ///< piece text as stored (SPM with U+2581, byte-level BPE mapped)
  std::vector<float> scores;        ///< SPM / Unigram scores (empty means all zero)
  std::vector<TokenType> types;
  std::vector<uint8_t> lstrip, rstrip;  ///< special tokens that swallow neighbouring whitespace
  StringMap<int32_t> token_to_id;
  /// BPE merge ranks keyed by "left right" (the two pieces separated by one space).
  StringMap<int32_t> merge_ranks;

  SpecialIds special;
  bool add_bos = false;
  bool add_eos = false;
  bool add_space_prefix = false;  ///< SPM / Unigram: prepend a space to the text (the "dummy prefix")
  bool remove_extra_whitespaces = false;  ///< Unigram: collapse runs of spaces (SentencePiece normalizer)
  bool escape_whitespace = true;  ///< SPM / Unigram: spaces become U+2581 before lookup
  bool byte_fallback = true;      ///< SPM: unknown characters become <0xXX> byte tokens
  bool ignore_merges = false;     ///< BPE: a word that is itself a token is not split (Llama 3)
  bool byte_level = true;         ///< BPE: bytes are mapped to printable code points (GPT-2); false for
                                  ///< SentencePiece-style BPE from tokenizer.json (merges over code points)
  bool byte_level_prefix_space = false;  ///< byte-level BPE: prepend a space unless the text starts with one (HF add_prefix_space)
  bool merge_by_token_rank = false;  ///< BPE: a pair's priority is the id of the merged token (tiktoken)
  Normalization normalization = Normalization::None;  ///< Unicode normalization applied to input text
  bool clean_spaces = false;      ///< decode: HF clean_up_tokenization (WordPiece: " !" -> "!")
  bool lowercase = false;         ///< WordPiece: lowercase (and strip accents) before splitting
  bool treat_whitespace_as_suffix = false;  ///< SentencePiece: the space marker goes after words
  std::string precompiled_charsmap;  ///< SentencePiece normalization rules (double-array trie + replacements)
  std::string continuing_prefix = "##";  ///< WordPiece: marks pieces inside a word
  std::vector<int32_t> eog;  ///< end-of-generation ids (eos, eot, eom and well-known end-of-turn tokens)

  [[nodiscard]] std::size_t size() const noexcept { return tokens.size(); }
  [[nodiscard]] int32_t find(std::string_view text) const {
    auto it = token_to_id.find(text);
    return it == token_to_id.end() ? -1 : it->second;
  }
  [[nodiscard]] TokenType type(int32_t id) const noexcept {
    return static_cast<std::size_t>(id) < types.size() ? types[static_cast<std::size_t>(id)] : TokenType::Normal;
  }
  [[nodiscard]] float score(int32_t id) const noexcept {
    return static_cast<std::size_t>(id) < scores.size() ? scores[static_cast<std::size_t>(id)] : 0.0f;
  }
  [[nodiscard]] bool is_special(int32_t id) const noexcept {
    const TokenType t = type(id);
    return t == TokenType::Control || t == TokenType::Unknown || t == TokenType::UserDefined;
  }

  /// Rebuilds `token_to_id` from `tokens` (the first occurrence of a duplicated piece wins, as in
  /// llama.cpp) and sizes the per-token arrays.
  void index() {
    token_to_id.clear();
    token_to_id.reserve(tokens.size() * 2);
    for (std::size_t i = 0; i < tokens.size(); ++i)
      if (!tokens[i].empty()) token_to_id.try_emplace(tokens[i], static_cast<int32_t>(i));
    if (types.size() < tokens.size()) types.resize(tokens.size(), TokenType::Normal);
    lstrip.resize(tokens.size(), 0);
    rstrip.resize(tokens.size(), 0);
  }

  /// Adds the well-known end-of-turn tokens and the eos/eot/eom ids to `eog`.
  void collect_eog() {
    static constexpr std::string_view kEndTexts[] = {
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>", "<EOT>", "_<EOT>",
        "<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>", "<|eom_id|>", "<|return|>", "<|call|>"};
    auto add = [&](int32_t id) {
      if (id < 0 || static_cast<std::size_t>(id) >= tokens.size()) return;
      for (int32_t e : eog)
        if (e == id) return;
      eog.push_back(id);
    };
    add(special.eos);
    add(special.eot);
    add(special.eom);
    for (std::string_view t : kEndTexts) {
      const int32_t id = find(t);
      if (id >= 0 && (type(id) == TokenType::Control || type(id) == TokenType::UserDefined)) add(id);
    }
  }

  /// Checks that every special id is inside the vocabulary. @throws TokenizerError otherwise.
  void validate() const {
    if (tokens.empty()) throw TokenizerError(where() + "the vocabulary is empty");
    const auto check = [&](int32_t id, const char* name) {
      if (id < -1 || id >= static_cast<int64_t>(tokens.size()))
        throw TokenizerError(where() + name + " token id " + std::to_string(id) + " is outside the vocabulary of " +
                             std::to_string(tokens.size()) + " tokens");
    };
    check(special.bos, "BOS");
    check(special.eos, "EOS");
    check(special.unk, "UNK");
    check(special.pad, "PAD");
    check(special.sep, "SEP");
    check(special.cls, "CLS");
    check(special.mask, "MASK");
    check(special.eot, "EOT");
    check(special.eom, "EOM");
  }

  [[nodiscard]] std::string where() const { return source.empty() ? std::string() : source + ": "; }
};

}  // namespace llmforge::tokenizer
