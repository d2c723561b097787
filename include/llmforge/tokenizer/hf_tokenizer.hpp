// SPDX-License-Identifier: MIT
// Loading Hugging Face tokenizers: tokenizer.json (+ tokenizer_config.json), vocab.json + merges.txt.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <llmforge/core/error.hpp>
#include <llmforge/tokenizer/pre_tokenizer.hpp>
#include <llmforge/tokenizer/tokenizer.hpp>
#include <llmforge/tokenizer/vocab.hpp>

namespace llmforge::tokenizer {

namespace detail {

/// Reads a whole file. @throws IoError.
inline std::string read_text_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw IoError(p.string() + ": cannot open for reading");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

/// Parses JSON text. @throws FormatError naming the file and the parser's message.
inline nlohmann::json parse_json(std::string_view text, const std::string& source) {
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(source + ": not valid JSON (" + e.what() + ")");
  }
}

/// Decodes standard base64 (with optional '=' padding); nothing if `s` is not base64.
inline std::optional<std::string> base64_decode(std::string_view s) {
  const auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
  };
  while (!s.empty() && s.back() == '=') s.remove_suffix(1);
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    const int v = val(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return out;
}

/// Escapes a literal string for use inside a PCRE2 pattern.
inline std::string regex_quote(std::string_view s) {
  std::string out = "\\Q";
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s.compare(i, 2, "\\E") == 0) {
      out += "\\E\\\\E\\Q";
      ++i;
    } else {
      out += s[i];
    }
  }
  return out + "\\E";
}

/// Token text of a tokenizer_config.json entry: a string, or an object with "content", or null.
inline std::optional<std::string> config_token(const nlohmann::json& cfg, const char* key) {
  if (!cfg.is_object() || !cfg.contains(key)) return std::nullopt;
  const auto& v = cfg[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
  return std::nullopt;
}

/// Reads HF tokenizer.json components into a Vocab and a list of pre-tokenizer regexes.
class HfReader {
 public:
  HfReader(const nlohmann::json& tj, const nlohmann::json& cfg, std::string source)
      : tj_(tj), cfg_(cfg), src_(std::move(source)) {}

  Tokenizer build() {
    try {
      return build_impl();
    } catch (const nlohmann::json::exception& e) {
      throw FormatError(src_ + ": unexpected tokenizer.json structure (" + e.what() + ")");
    }
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { throw TokenizerError(src_ + ": " + what); }

  Tokenizer build_impl() {
    if (!tj_.is_object() || !tj_.contains("model") || !tj_["model"].is_object())
      fail("no \"model\" object; this is not a Hugging Face tokenizer.json");
    const auto& model = tj_["model"];
    std::string type = model.value("type", "");
    if (type.empty()) {  // old files omit the type; infer it
      if (model.contains("merges")) type = "BPE";
      else if (model.contains("continuing_subword_prefix")) type = "WordPiece";
      else if (model.contains("vocab") && model["vocab"].is_array()) type = "Unigram";
    }
    v_.source = src_;
    v_.model_name = type;
    read_model(model, type);
    read_added_tokens();
    if (v_.kind == ModelKind::Bpe && v_.byte_fallback)
      for (std::size_t i = 0; i < v_.tokens.size(); ++i)
        if (Tokenizer::parse_byte_token(v_.tokens[i]) && v_.types[i] == TokenType::Normal) v_.types[i] = TokenType::Byte;
    if (model.contains("unk_token") && model["unk_token"].is_string()) {
      v_.index();
      const int32_t id = v_.find(model["unk_token"].get<std::string>());
      if (id >= 0) {
        v_.special.unk = id;
        if (v_.types[static_cast<std::size_t>(id)] == TokenType::Normal) v_.types[static_cast<std::size_t>(id)] = TokenType::Unknown;
      }
    }
    if (tj_.contains("normalizer")) read_normalizer(tj_["normalizer"]);
    if (tj_.contains("pre_tokenizer")) read_pre_tokenizer(tj_["pre_tokenizer"]);
    if (tj_.contains("decoder") && tj_["decoder"].is_object() && has_type(tj_["decoder"], "ByteLevel")) byte_level_ = true;
    if (v_.kind == ModelKind::WordPiece) {
      to_phantom_space();
      v_.clean_spaces = !(cfg_.is_object() && cfg_.contains("clean_up_tokenization_spaces") &&
                          cfg_["clean_up_tokenization_spaces"].is_boolean() && !cfg_["clean_up_tokenization_spaces"].get<bool>());
    }
    if (v_.kind == ModelKind::Bpe) v_.byte_level = byte_level_;
    else if (byte_level_) fail("a ByteLevel pre-tokenizer is only supported with a BPE model");
    v_.index();
    read_special_ids();
    v_.collect_eog();
    if (v_.kind == ModelKind::Bpe) return Tokenizer(std::move(v_), &regexes_);
    return Tokenizer(std::move(v_));
  }

  void read_model(const nlohmann::json& model, const std::string& type) {
    if (type == "BPE") {
      v_.kind = ModelKind::Bpe;
      read_vocab_map(model["vocab"]);
      read_merges(model);
      v_.byte_fallback = model.value("byte_fallback", false);
      v_.ignore_merges = model.value("ignore_merges", false);
      v_.escape_whitespace = false;
      if (model.contains("continuing_subword_prefix") && model["continuing_subword_prefix"].is_string() &&
          !model["continuing_subword_prefix"].get<std::string>().empty())
        fail("BPE with a continuing_subword_prefix is not supported");
    } else if (type == "WordPiece") {
      v_.kind = ModelKind::WordPiece;
      read_vocab_map(model["vocab"]);
      v_.continuing_prefix = model.value("continuing_subword_prefix", std::string("##"));
      v_.lowercase = false;
    } else if (type == "Unigram") {
      v_.kind = ModelKind::Unigram;
      v_.escape_whitespace = false;
      const auto& arr = model["vocab"];
      for (const auto& e : arr) {
        v_.tokens.push_back(e.at(0).get<std::string>());
        v_.scores.push_back(e.at(1).get<float>());
      }
      v_.types.assign(v_.tokens.size(), TokenType::Normal);
      if (model.contains("unk_id") && model["unk_id"].is_number_integer()) {
        v_.special.unk = model["unk_id"].get<int32_t>();
        if (v_.special.unk >= 0 && static_cast<std::size_t>(v_.special.unk) < v_.tokens.size())
          v_.types[static_cast<std::size_t>(v_.special.unk)] = TokenType::Unknown;
      }
      v_.byte_fallback = model.value("byte_fallback", false);
    } else {
      fail("unknown tokenizer model type '" + type + "'; supported: BPE, WordPiece, Unigram");
    }
  }

  void read_vocab_map(const nlohmann::json& vocab) {
    if (!vocab.is_object()) fail("model.vocab must be an object mapping tokens to ids");
    std::size_t n = 0;
    for (const auto& [tok, id] : vocab.items()) {
      const auto i = id.get<int64_t>();
      if (i < 0 || i > INT32_MAX) fail("token '" + tok + "' has invalid id " + std::to_string(i));
      n = std::max(n, static_cast<std::size_t>(i) + 1);
    }
    v_.tokens.assign(n, std::string());
    for (const auto& [tok, id] : vocab.items()) v_.tokens[id.get<std::size_t>()] = tok;
    v_.types.assign(n, TokenType::Normal);
    for (std::size_t i = 0; i < n; ++i)
      if (v_.tokens[i].empty()) v_.types[i] = TokenType::Unused;
  }

  void read_merges(const nlohmann::json& model) {
    if (!model.contains("merges")) return;
    const auto& merges = model["merges"];
    v_.merge_ranks.reserve(merges.size() * 2);
    int32_t rank = 0;
    for (const auto& m : merges) {
      std::string key;
      if (m.is_string()) {
        key = m.get<std::string>();
        if (key.find(' ', 1) == std::string::npos) fail("merge '" + key + "' is not two pieces separated by a space");
      } else if (m.is_array() && m.size() == 2) {
        key = m[0].get<std::string>() + ' ' + m[1].get<std::string>();
      } else {
        fail("merge entry " + std::to_string(rank) + " is neither \"a b\" nor [\"a\", \"b\"]");
      }
      v_.merge_ranks.try_emplace(std::move(key), rank++);
    }
  }

  void read_added_tokens() {
    if (!tj_.contains("added_tokens") || !tj_["added_tokens"].is_array()) return;
    for (const auto& t : tj_["added_tokens"]) {
      const auto id = t.at("id").get<int64_t>();
      if (id < 0 || id > INT32_MAX) fail("added token has invalid id " + std::to_string(id));
      const auto i = static_cast<std::size_t>(id);
      if (i >= v_.tokens.size()) {
        v_.tokens.resize(i + 1);
        v_.types.resize(i + 1, TokenType::Unused);
        if (!v_.scores.empty()) v_.scores.resize(i + 1, 0.0f);
      }
      v_.tokens[i] = t.at("content").get<std::string>();
      v_.types[i] = t.value("special", false) ? TokenType::Control : TokenType::UserDefined;
      v_.lstrip.resize(v_.tokens.size(), 0);
      v_.rstrip.resize(v_.tokens.size(), 0);
      v_.lstrip[i] = t.value("lstrip", false);
      v_.rstrip[i] = t.value("rstrip", false);
    }
  }

  static bool has_type(const nlohmann::json& j, std::string_view type) {
    if (!j.is_object()) return false;
    if (j.value("type", "") == type) return true;
    for (const char* key : {"normalizers", "pretokenizers", "decoders"})
      if (j.contains(key))
        for (const auto& sub : j[key])
          if (has_type(sub, type)) return true;
    return false;
  }

  void read_normalizer(const nlohmann::json& n) {
    if (n.is_null()) return;
    const std::string type = n.value("type", "");
    if (type == "Sequence") {
      for (const auto& sub : n.at("normalizers")) read_normalizer(sub);
    } else if (type == "NFC") {
      v_.normalization = Normalization::NFC;
    } else if (type == "NFD") {
      v_.normalization = Normalization::NFD;
    } else if (type == "NFKC") {
      v_.normalization = Normalization::NFKC;
    } else if (type == "NFKD") {
      v_.normalization = Normalization::NFKD;
    } else if (type == "Prepend" && n.value("prepend", "") == "\xE2\x96\x81") {
      v_.add_space_prefix = true;
    } else if (type == "Replace" && n.contains("pattern") && n["pattern"].contains("String") &&
               n["pattern"]["String"] == " " && n.value("content", "") == "\xE2\x96\x81") {
      v_.escape_whitespace = true;
    } else if (type == "Precompiled" && n.contains("precompiled_charsmap")) {
      const auto& cm = n["precompiled_charsmap"];
      if (cm.is_string()) {
        auto bytes = base64_decode(cm.get<std::string>());
        if (!bytes) fail("Precompiled normalizer charsmap is not valid base64");
        v_.precompiled_charsmap = std::move(*bytes);
      }
    } else if (type == "Replace" && n.contains("pattern") && n["pattern"].contains("Regex") &&
               n["pattern"]["Regex"] == " {2,}" && n.value("content", "") == " ") {
      v_.remove_extra_whitespaces = true;
    } else if (type == "BertNormalizer" && v_.kind == ModelKind::WordPiece) {
      v_.lowercase = n.value("lowercase", true);
    } else if ((type == "Lowercase" || type == "StripAccents") && v_.kind == ModelKind::WordPiece) {
      v_.lowercase = true;
    } else {
      fail("unsupported normalizer '" + type + "' (" + n.dump().substr(0, 120) +
           "); supported: Sequence, NFC, NFD, NFKC, NFKD, Prepend(U+2581), Replace(' ' -> U+2581), BertNormalizer");
    }
  }

  void read_pre_tokenizer(const nlohmann::json& p) {
    if (p.is_null()) return;
    const std::string type = p.value("type", "");
    if (type == "Sequence") {
      for (const auto& sub : p.at("pretokenizers")) read_pre_tokenizer(sub);
    } else if (type == "ByteLevel") {
      byte_level_ = true;
      if (p.value("add_prefix_space", false)) v_.byte_level_prefix_space = true;
      if (p.value("use_regex", true))
        regexes_.emplace_back(R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)");
    } else if (type == "Split") {
      const std::string behavior = p.value("behavior", "Isolated");
      if (behavior != "Isolated") fail("Split pre-tokenizer behavior '" + behavior + "' is not supported (only Isolated)");
      if (p.value("invert", false)) fail("inverted Split pre-tokenizers are not supported");
      const auto& pat = p.at("pattern");
      if (pat.contains("Regex")) regexes_.push_back(pat["Regex"].get<std::string>());
      else if (pat.contains("String")) regexes_.push_back(regex_quote(pat["String"].get<std::string>()));
      else fail("Split pre-tokenizer without a pattern");
    } else if (type == "Digits") {
      regexes_.emplace_back(p.value("individual_digits", false) ? R"(\p{N})" : R"(\p{N}+)");
    } else if (type == "Punctuation") {
      if (p.value("behavior", "Isolated") != "Isolated") fail("Punctuation pre-tokenizer behaviors other than Isolated are not supported");
      regexes_.emplace_back(R"([\p{P}!-/:-@\[-`{-~])");
    } else if (type == "Metaspace") {
      if (p.value("split", false)) fail("Metaspace pre-tokenizers with split=true are not supported");
      v_.escape_whitespace = true;
      const std::string scheme = p.value("prepend_scheme", p.value("add_prefix_space", true) ? "always" : "never");
      v_.add_space_prefix = scheme != "never";
    } else if (type == "BertPreTokenizer" && v_.kind == ModelKind::WordPiece) {
      // WordPiece's own splitting already does this.
    } else if ((type == "WhitespaceSplit" || type == "Whitespace") && v_.kind == ModelKind::WordPiece) {
    } else {
      fail("unsupported pre-tokenizer '" + type +
           "'; supported: Sequence, ByteLevel, Split (Isolated), Digits, Punctuation, Metaspace, BertPreTokenizer; named "
           "GGUF pre-tokenizers: " + supported_pre_tokenizers());
    }
  }

  /// WordPiece vocabularies in llama.cpp's form: word-initial pieces get U+2581, "##" pieces lose it.
  void to_phantom_space() {
    const std::string& pre = v_.continuing_prefix;
    for (std::size_t i = 0; i < v_.tokens.size(); ++i) {
      std::string& t = v_.tokens[i];
      if (t.empty() || v_.types[i] != TokenType::Normal) continue;
      if (!pre.empty() && t.compare(0, pre.size(), pre) == 0 && t.size() > pre.size()) t.erase(0, pre.size());
      else if (!(t.front() == '[' && t.back() == ']')) t = "\xE2\x96\x81" + t;
    }
  }

  void read_special_ids() {
    const auto id_of = [&](const std::optional<std::string>& t) { return t ? v_.find(*t) : -1; };
    // Post-processor template: special tokens before/after the sequence.
    int32_t tmpl_bos = -1, tmpl_eos = -1;
    if (tj_.contains("post_processor") && tj_["post_processor"].is_object()) {
      const auto& pp = tj_["post_processor"];
      const auto scan = [&](const nlohmann::json& proc) {
        const std::string type = proc.value("type", "");
        if (type == "TemplateProcessing" && proc.contains("single")) {
          bool seen_seq = false;
          for (const auto& item : proc["single"]) {
            if (item.contains("Sequence")) seen_seq = true;
            else if (item.contains("SpecialToken")) {
              const int32_t id = v_.find(item["SpecialToken"].value("id", ""));
              (seen_seq ? tmpl_eos : tmpl_bos) = id;
            }
          }
        } else if (type == "BertProcessing" || type == "RobertaProcessing") {
          if (proc.contains("cls")) tmpl_bos = proc["cls"].at(1).get<int32_t>();
          if (proc.contains("sep")) tmpl_eos = proc["sep"].at(1).get<int32_t>();
        }
      };
      if (pp.value("type", "") == "Sequence" && pp.contains("processors"))
        for (const auto& sub : pp["processors"]) scan(sub);
      else scan(pp);
    }
    v_.special.bos = id_of(config_token(cfg_, "bos_token"));
    v_.special.eos = id_of(config_token(cfg_, "eos_token"));
    if (const int32_t unk = id_of(config_token(cfg_, "unk_token")); unk >= 0) v_.special.unk = unk;
    v_.special.pad = id_of(config_token(cfg_, "pad_token"));
    if (v_.kind == ModelKind::WordPiece) {
      v_.special.cls = id_of(config_token(cfg_, "cls_token"));
      v_.special.sep = id_of(config_token(cfg_, "sep_token"));
      v_.special.mask = id_of(config_token(cfg_, "mask_token"));
      if (v_.special.cls < 0) v_.special.cls = tmpl_bos >= 0 ? tmpl_bos : v_.find("[CLS]");
      if (v_.special.sep < 0) v_.special.sep = tmpl_eos >= 0 ? tmpl_eos : v_.find("[SEP]");
      if (v_.special.bos < 0) v_.special.bos = v_.special.cls;
      if (v_.special.eos < 0) v_.special.eos = v_.special.sep;
    }
    if (v_.special.bos < 0) v_.special.bos = tmpl_bos;
    if (v_.special.eos < 0) v_.special.eos = tmpl_eos;
    const bool cfg_has_bos = cfg_.is_object() && cfg_.contains("add_bos_token") && cfg_["add_bos_token"].is_boolean();
    const bool cfg_has_eos = cfg_.is_object() && cfg_.contains("add_eos_token") && cfg_["add_eos_token"].is_boolean();
    v_.add_bos = cfg_has_bos ? cfg_["add_bos_token"].get<bool>() : tmpl_bos >= 0;
    v_.add_eos = cfg_has_eos ? cfg_["add_eos_token"].get<bool>() : tmpl_eos >= 0;
    if (v_.kind == ModelKind::WordPiece) {
      v_.add_bos = tmpl_bos >= 0 || !cfg_has_bos || v_.add_bos;
      v_.add_eos = tmpl_eos >= 0 || !cfg_has_eos || v_.add_eos;
    }
  }

  const nlohmann::json& tj_;
  const nlohmann::json& cfg_;
  std::string src_;
  Vocab v_;
  std::vector<std::string> regexes_;
  bool byte_level_ = false;
};

}  // namespace detail

/// A tokenizer from the text of a Hugging Face `tokenizer.json` and (optionally) its
/// `tokenizer_config.json`, which supplies BOS/EOS and add_bos_token/add_eos_token.
/// @throws FormatError for invalid JSON; TokenizerError naming any unsupported model type,
///         normalizer or pre-tokenizer (and listing the supported ones).
[[nodiscard]] inline Tokenizer tokenizer_from_hf_json(std::string_view tokenizer_json, std::string_view config_json = {},
                                                      const std::string& source = "tokenizer.json") {
  const auto tj = detail::parse_json(tokenizer_json, source);
  const auto cfg = config_json.empty() ? nlohmann::json::object() : detail::parse_json(config_json, source + " (config)");
  return detail::HfReader(tj, cfg, source).build();
}

/// Loads `tokenizer.json` (a file, or a folder holding it) with the `tokenizer_config.json` next to it.
/// @throws IoError, FormatError or TokenizerError.
[[nodiscard]] inline Tokenizer load_hf_tokenizer(const std::filesystem::path& p) {
  const auto file = std::filesystem::is_directory(p) ? p / "tokenizer.json" : p;
  const auto cfg = file.parent_path() / "tokenizer_config.json";
  const std::string cfg_text = std::filesystem::exists(cfg) ? detail::read_text_file(cfg) : std::string();
  return tokenizer_from_hf_json(detail::read_text_file(file), cfg_text, file.string());
}

/// Loads an original GPT-2 style pair: `encoder.json` / `vocab.json` (token -> id) and
/// `vocab.bpe` / `merges.txt` (ranked merges), with GPT-2's pre-tokenizer.
/// @throws IoError, FormatError or TokenizerError.
[[nodiscard]] inline Tokenizer load_gpt2_bpe(const std::filesystem::path& vocab_json, const std::filesystem::path& merges_txt) {
  const auto enc = detail::parse_json(detail::read_text_file(vocab_json), vocab_json.string());
  if (!enc.is_object()) throw FormatError(vocab_json.string() + ": expected a JSON object mapping tokens to ids");
  nlohmann::json tj = {{"model", {{"type", "BPE"}, {"vocab", enc}, {"merges", nlohmann::json::array()}}},
                       {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}}};
  const std::string merges = detail::read_text_file(merges_txt);
  std::size_t pos = 0;
  auto& arr = tj["model"]["merges"];
  while (pos < merges.size()) {
    std::size_t end = merges.find('\n', pos);
    if (end == std::string::npos) end = merges.size();
    std::string line = merges.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line.rfind("#version", 0) == 0) continue;
    arr.push_back(line);
  }
  nlohmann::json cfg = nlohmann::json::object();
  if (enc.contains("<|endoftext|>")) cfg = {{"bos_token", "<|endoftext|>"}, {"eos_token", "<|endoftext|>"}};
  tj["added_tokens"] = nlohmann::json::array();
  if (enc.contains("<|endoftext|>"))
    tj["added_tokens"].push_back({{"id", enc["<|endoftext|>"]}, {"content", "<|endoftext|>"}, {"special", true}});
  return detail::HfReader(tj, cfg, vocab_json.string()).build();
}

}  // namespace llmforge::tokenizer
