// SPDX-License-Identifier: MIT
// Tokenizer: text <-> token ids for SPM, byte-level BPE, WordPiece and Unigram vocabularies.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <llmforge/core/error.hpp>
#include <llmforge/io/metadata.hpp>
#include <llmforge/tokenizer/bpe.hpp>
#include <llmforge/tokenizer/gguf_vocab.hpp>
#include <llmforge/tokenizer/pre_tokenizer.hpp>
#include <llmforge/tokenizer/special.hpp>
#include <llmforge/tokenizer/spm.hpp>
#include <llmforge/tokenizer/unicode.hpp>
#include <llmforge/tokenizer/unigram.hpp>
#include <llmforge/tokenizer/utf8.hpp>
#include <llmforge/tokenizer/vocab.hpp>
#include <llmforge/tokenizer/wordpiece.hpp>

namespace llmforge::tokenizer {

/// Options for `Tokenizer::encode`.
struct EncodeOptions {
  /// Add BOS/EOS as the vocabulary says (`tokenizer.ggml.add_bos_token` / `add_eos_token`; SPM
  /// default: BOS yes, EOS no).
  bool add_special = true;
  /// Recognise the text of control tokens (`<s>`, `<|im_start|>`, ...) in the input. Added
  /// (user-defined) tokens are always recognised, as in Hugging Face tokenizers and llama.cpp.
  bool parse_special = false;
};

/// Options for `Tokenizer::decode`.
struct DecodeOptions {
  /// Render control and unknown tokens as their text instead of dropping them.
  bool render_special = false;
  /// SPM/Unigram vocabularies with a dummy prefix: drop the leading space of the first piece, as
  /// SentencePiece and HF decode do.
  bool strip_leading_space = true;
  /// Replace invalid UTF-8 by U+FFFD (one per invalid byte); otherwise return the raw bytes.
  bool replace_invalid = true;
};

/// Converts between text and token ids. Cheap to copy (the vocabulary is shared and immutable) and
/// safe to use from several threads at once.
class Tokenizer {
 public:
  /// Builds a tokenizer from a vocabulary (see the loaders in `load.hpp`).
  /// @param pre pre-tokenizer regexes for byte-level BPE; when null, the named pre-tokenizer `vocab.pre`.
  /// @throws TokenizerError if the vocabulary is inconsistent or names an unknown pre-tokenizer.
  explicit Tokenizer(Vocab vocab, const std::vector<std::string>* pre = nullptr)
      : impl_(std::make_shared<const Impl>(std::move(vocab), pre)) {}

  /// The tokenizer stored in GGUF metadata (`tokenizer.ggml.*`).
  /// @throws TokenizerError naming an unknown tokenizer model or pre-tokenizer (and listing the
  ///         supported ones), or describing inconsistent vocabulary arrays.
  [[nodiscard]] static Tokenizer from_gguf(const io::Metadata& md) { return Tokenizer(vocab_from_gguf(md)); }

  /// Token ids of `text`. Any byte string is accepted; invalid UTF-8 is tokenized as llama.cpp does
  /// (byte fallback for SPM, U+FFFD for byte-level BPE).
  [[nodiscard]] std::vector<int32_t> encode(std::string_view text, const EncodeOptions& opt = {}) const {
    const Vocab& v = impl_->vocab;
    std::vector<int32_t> out;
    out.reserve(text.size() / 3 + 4);
    const bool add_bos = opt.add_special && v.add_bos && v.special.bos >= 0;
    // WordPiece closes with [SEP], the others with EOS.
    const int32_t eos = v.kind == ModelKind::WordPiece && v.special.sep >= 0 ? v.special.sep : v.special.eos;
    const bool add_eos = opt.add_special && v.add_eos && eos >= 0;
    if (add_bos) out.push_back(v.special.bos);

    std::string clean;  // text with invalid UTF-8 replaced (BPE, WordPiece, Unigram) and normalized
    if (v.normalization != Normalization::None) {
      static constexpr const char* kForms[] = {"", "NFC", "NFD", "NFKC", "NFKD"};
      clean = unicode::normalize(text, kForms[static_cast<int>(v.normalization)]);
      text = clean;
    } else if (v.kind != ModelKind::Spm && !utf8::is_valid(text)) {
      clean = utf8::repair(text);
      text = clean;
    }
    const auto frags = partition_special(v, impl_->special_order, text, opt.parse_special);
    bool prev_special = true;  // SPM: the dummy prefix goes before the first text and after special tokens
    std::string buf;
    for (const Fragment& f : frags) {
      if (f.token >= 0) {
        out.push_back(f.token);
        prev_special = true;
        continue;
      }
      encode_text(f.text, prev_special, out, buf);
      prev_special = false;
    }
    if (add_eos) out.push_back(eos);
    return out;
  }

  /// Text of a token sequence (like llama.cpp's detokenize and HF's decode with
  /// `skip_special_tokens=True`): control tokens are dropped, byte tokens become their bytes, the
  /// dummy-prefix space of the first piece is removed. @throws TokenizerError for an id outside the vocabulary.
  [[nodiscard]] std::string decode(std::span<const int32_t> ids, const DecodeOptions& opt = {}) const {
    std::string out;
    bool strip = opt.strip_leading_space && strips_leading_space(impl_->vocab);
    for (const int32_t id : ids) {
      std::string p = piece(id, opt.render_special);
      if (strip && !p.empty()) {
        if (p.front() == ' ') p.erase(0, 1);
        strip = false;
      }
      out += p;
    }
    if (impl_->vocab.clean_spaces) out = clean_up_spaces(out);
    return opt.replace_invalid ? utf8::repair(out) : out;
  }

  /// Hugging Face's `clean_up_tokenization`: removes the space before . ? ! , and English
  /// contractions (" n't", " 's", ...). Applied by `decode` for WordPiece vocabularies.
  [[nodiscard]] static std::string clean_up_spaces(std::string_view s) {
    static constexpr std::string_view kFrom[] = {" .", " ?", " !", " ,", " ' ", " n't", " 'm", " 's", " 've", " 're"};
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
      bool hit = false;
      if (s[i] == ' ')
        for (std::string_view f : kFrom)
          if (s.compare(i, f.size(), f) == 0) {
            out.append(f == " ' " ? std::string_view("'") : f.substr(1));
            i += f.size();
            hit = true;
            break;
          }
      if (!hit) out += s[i++];
    }
    return out;
  }

  /// The bytes token `id` contributes to decoded text (byte tokens give that byte, SPM's U+2581
  /// becomes a space, control tokens give nothing). @throws TokenizerError for an id outside the vocabulary.
  [[nodiscard]] std::string token_to_piece(int32_t id) const { return piece(id, false); }

  /// The bytes of token `id`; with `render_special`, control and unknown tokens give their text.
  /// @throws TokenizerError for an id outside the vocabulary.
  [[nodiscard]] std::string piece(int32_t id, bool render_special) const {
    const Vocab& v = impl_->vocab;
    check_id(id);
    const std::string& text = v.tokens[static_cast<std::size_t>(id)];
    switch (v.type(id)) {
      case TokenType::Control:
      case TokenType::Unknown:
        return render_special ? text : std::string();
      case TokenType::UserDefined:
        return text;
      case TokenType::Byte:
        if (auto b = parse_byte_token(text)) return std::string(1, static_cast<char>(*b));
        return text;
      case TokenType::Unused:
        return std::string();
      case TokenType::Normal:
      case TokenType::Undefined:
        break;
    }
    switch (v.kind) {
      case ModelKind::Bpe:
        if (!v.byte_level) return v.escape_whitespace ? unescape_spaces(text) : text;
        return ByteUnicode::get().decode(text);
      case ModelKind::WordPiece:
      case ModelKind::Spm:
      case ModelKind::Unigram:
        return v.escape_whitespace || v.kind == ModelKind::WordPiece ? unescape_spaces(text) : text;
    }
    return text;
  }

  /// The token's text exactly as the vocabulary stores it. @throws TokenizerError for a bad id.
  [[nodiscard]] const std::string& token_text(int32_t id) const {
    check_id(id);
    return impl_->vocab.tokens[static_cast<std::size_t>(id)];
  }
  /// The id of a token text, or -1.
  [[nodiscard]] int32_t token_id(std::string_view text) const { return impl_->vocab.find(text); }

  [[nodiscard]] int32_t bos_id() const noexcept { return impl_->vocab.special.bos; }
  [[nodiscard]] int32_t eos_id() const noexcept { return impl_->vocab.special.eos; }
  [[nodiscard]] int32_t unk_id() const noexcept { return impl_->vocab.special.unk; }
  [[nodiscard]] int32_t pad_id() const noexcept { return impl_->vocab.special.pad; }
  /// True for end-of-generation tokens: EOS, EOT, EOM and well-known end-of-turn tokens.
  [[nodiscard]] bool is_eog(int32_t id) const noexcept {
    for (int32_t e : impl_->vocab.eog)
      if (e == id) return true;
    return false;
  }
  /// True for control tokens (BOS, EOS, chat markers), which decode to nothing by default.
  [[nodiscard]] bool is_control(int32_t id) const noexcept { return impl_->vocab.type(id) == TokenType::Control; }
  [[nodiscard]] std::size_t vocab_size() const noexcept { return impl_->vocab.size(); }
  [[nodiscard]] const Vocab& vocab() const noexcept { return impl_->vocab; }
  [[nodiscard]] ModelKind kind() const noexcept { return impl_->vocab.kind; }

  /// True if decoding drops the space in front of the first piece: SPM/Unigram vocabularies with a
  /// dummy prefix, and WordPiece (whose word-initial pieces carry a phantom space).
  [[nodiscard]] static bool strips_leading_space(const Vocab& v) noexcept {
    return v.add_space_prefix || v.kind == ModelKind::WordPiece;
  }

  /// Parses "<0xAB>" into 0xAB.
  [[nodiscard]] static std::optional<unsigned char> parse_byte_token(std::string_view t) {
    if (t.size() != 6 || t.substr(0, 3) != "<0x" || t[5] != '>') return std::nullopt;
    const auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      return -1;
    };
    const int hi = hex(t[3]), lo = hex(t[4]);
    if (hi < 0 || lo < 0) return std::nullopt;
    return static_cast<unsigned char>(hi * 16 + lo);
  }

 private:
  struct Impl {
    Vocab vocab;
    std::vector<int32_t> special_order;
    std::optional<SpmEncoder> spm;
    std::optional<SpNormalizer> spnorm;  // SPM with a precompiled charsmap or whitespace collapsing
    std::optional<BpeEncoder> bpe;
    std::optional<WordPieceEncoder> wpm;
    std::optional<UnigramEncoder> ugm;

    Impl(Vocab v, const std::vector<std::string>* pre) : vocab(std::move(v)) {
      vocab.index();
      vocab.validate();
      if (vocab.eog.empty()) vocab.collect_eog();
      special_order = special_token_order(vocab);
      switch (vocab.kind) {
        case ModelKind::Spm:
          spm.emplace(vocab);
          if (SpNormalizer n(vocab); n.active()) spnorm.emplace(vocab);
          break;
        case ModelKind::Bpe: {
          if (pre) {
            bpe.emplace(vocab, PreTokenizer(*pre));
            break;
          }
          const PreTokenizerInfo* info = find_pre_tokenizer(vocab.pre.empty() ? "default" : vocab.pre);
          if (!info)
            throw TokenizerError(vocab.where() + "unknown pre-tokenizer '" + vocab.pre + "'; supported: " +
                                 supported_pre_tokenizers());
          bpe.emplace(vocab, PreTokenizer(info->regexes));
          break;
        }
        case ModelKind::WordPiece:
          wpm.emplace(vocab);
          break;
        case ModelKind::Unigram:
          ugm.emplace(vocab);
          break;
      }
    }
    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;
  };

  // Runs the model's algorithm on one piece of plain text; `prev_special` says whether it starts the
  // input or follows a special token (where SentencePiece puts its dummy prefix).
  void encode_text(std::string_view text, bool prev_special, std::vector<int32_t>& out, std::string& buf) const {
    const Vocab& v = impl_->vocab;
    switch (v.kind) {
      case ModelKind::Spm:
        if (impl_->spnorm) {
          buf = impl_->spnorm->normalize(text, prev_special);
        } else {
          buf.clear();
          if (v.add_space_prefix && prev_special) buf += ' ';
          buf.append(text);
          if (v.escape_whitespace) buf = escape_spaces(buf);
        }
        impl_->spm->encode(buf, out);
        break;
      case ModelKind::Bpe:
        if (v.byte_level) {
          if (v.byte_level_prefix_space && text.front() != ' ') {
            buf.assign(1, ' ');
            buf.append(text);
            impl_->bpe->encode(buf, out);
          } else {
            impl_->bpe->encode(text, out);
          }
        } else {  // SentencePiece-style BPE from tokenizer.json: dummy prefix and U+2581 as for SPM
          buf.clear();
          if (v.add_space_prefix && prev_special) buf += ' ';
          buf.append(text);
          if (v.escape_whitespace) buf = escape_spaces(buf);
          impl_->bpe->encode(buf, out);
        }
        break;
      case ModelKind::WordPiece:
        impl_->wpm->encode(text, out);
        break;
      case ModelKind::Unigram:
        impl_->ugm->encode(text, out, prev_special);
        break;
    }
  }

  void check_id(int32_t id) const {
    if (id < 0 || static_cast<std::size_t>(id) >= impl_->vocab.size())
      throw TokenizerError(impl_->vocab.where() + "token id " + std::to_string(id) + " is outside the vocabulary of " +
                           std::to_string(impl_->vocab.size()) + " tokens");
  }

  static std::string escape_spaces(std::string_view s) {
    std::string out;
    out.reserve(s.size() + s.size() / 4);
    for (char c : s) {
      if (c == ' ') out += "\xE2\x96\x81";
      else out += c;
    }
    return out;
  }
  static std::string unescape_spaces(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s.compare(i, 3, "\xE2\x96\x81") == 0) {
        out += ' ';
        i += 2;
      } else {
        out += s[i];
      }
    }
    return out;
  }

  std::shared_ptr<const Impl> impl_;
};

/// Incremental decoding for streaming output: returns only complete UTF-8, holding back the bytes
/// of a character whose remaining bytes come with later tokens. The concatenation of all `push`
/// results and `flush()` equals `Tokenizer::decode` of the same ids (WordPiece's clean-up of spaces
/// before punctuation is not applied while streaming).
///
/// When generating after a prompt, pass the prompt's ids as `context`: they are not emitted, but
/// they decide whether the first generated piece keeps its leading space (SPM vocabularies drop the
/// dummy-prefix space only at the start of the text, so " there" after "Once upon a time" keeps it,
/// while the first word after a lone BOS loses it).
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tok, std::span<const int32_t> context = {}, const DecodeOptions& opt = {})
      : tok_(tok), opt_(opt), strip_(opt.strip_leading_space && Tokenizer::strips_leading_space(tok.vocab())) {
    for (const int32_t id : context) (void)push(id);
  }

  /// Text that became complete with token `id` (possibly empty). @throws TokenizerError for a bad id.
  [[nodiscard]] std::string push(int32_t id) {
    std::string p = tok_.piece(id, opt_.render_special);
    if (strip_ && !p.empty()) {
      if (p.front() == ' ') p.erase(0, 1);
      strip_ = false;
    }
    pending_ += p;
    const std::size_t keep = utf8::incomplete_tail(pending_);
    std::string out = pending_.substr(0, pending_.size() - keep);
    pending_.erase(0, pending_.size() - keep);
    return opt_.replace_invalid ? utf8::repair(out) : out;
  }

  /// Whatever is left (an incomplete character becomes U+FFFD); resets the pending bytes.
  [[nodiscard]] std::string flush() {
    std::string out = opt_.replace_invalid ? utf8::repair(pending_) : pending_;
    pending_.clear();
    return out;
  }

  /// Forgets pending bytes and starts a new sequence (the next piece loses its dummy-prefix space again).
  void reset() {
    pending_.clear();
    strip_ = opt_.strip_leading_space && Tokenizer::strips_leading_space(tok_.vocab());
  }

 private:
  Tokenizer tok_;
  DecodeOptions opt_;
  bool strip_;
  std::string pending_;
};

}  // namespace llmforge::tokenizer
