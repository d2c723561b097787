// SPDX-License-Identifier: MIT
// Hugging Face model folders: config.json mapped to the GGUF metadata keys each architecture reads,
// and the checkpoint's tensors mapped through the architecture's name table (the `hf` column) into
// GGUF names and layouts, so a folder loads exactly like the GGUF file converted from it.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <llmforge/core/error.hpp>
#include <llmforge/core/half.hpp>
#include <llmforge/io/gguf_reader.hpp>
#include <llmforge/io/metadata.hpp>
#include <llmforge/io/safetensors.hpp>
#include <llmforge/models/gemma.hpp>
#include <llmforge/models/gpt2.hpp>
#include <llmforge/models/llama.hpp>
#include <llmforge/models/phi3.hpp>
#include <llmforge/models/qwen2.hpp>
#include <llmforge/nn/tensor_names.hpp>

namespace llmforge::models {

/// How a Hugging Face architecture (`model_type` in config.json) maps onto a GGUF one. The tensor
/// names of both formats are the rows of the architecture's name table (`kLlamaTensors`, ...); this
/// row adds what differs in layout. A new architecture adds its names to its table and a row to
/// `kHfArchitectures`.
struct HfArchitecture {
  std::string_view model_type;             ///< config.json "model_type"
  std::string_view arch;                   ///< GGUF general.architecture
  std::span<const nn::TensorName> tensors; ///< the shared name table
  bool rope_permute = false;   ///< Q/K rows: HF's rotate-half layout -> GGUF's adjacent pairs (LLaMA)
  bool conv1d = false;         ///< matrices stored [in, out] (GPT-2 Conv1D): transposed
  bool norm_plus_one = false;  ///< RMSNorm weights stored as w - 1 (Gemma multiplies by 1 + w)
};

inline constexpr HfArchitecture kHfArchitectures[] = {
    {"llama", "llama", kLlamaTensors, true},
    {"mistral", "llama", kLlamaTensors, true},
    {"qwen2", "qwen2", kQwen2Tensors},
    {"qwen3", "qwen3", kQwen3Tensors},
    {"gemma", "gemma", kLlamaTensors, false, false, true},
    {"gemma2", "gemma2", kGemma2Tensors, false, false, true},
    {"gemma3_text", "gemma3", kGemma3Tensors, false, false, true},
    {"phi3", "phi3", kPhi3Tensors},
    {"gpt2", "gpt2", kGpt2Tensors, false, true},
    {"starcoder2", "starcoder2", kStarcoder2Tensors},
};

/// The row for `model_type`, or null.
[[nodiscard]] inline const HfArchitecture* find_hf_architecture(std::string_view model_type) {
  if (model_type == "gemma3") model_type = "gemma3_text";  // the text part of a Gemma 3 config
  for (const auto& a : kHfArchitectures)
    if (a.model_type == model_type) return &a;
  return nullptr;
}

namespace detail {

inline std::string read_file_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw IoError(p.string() + ": cannot open file");
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

inline nlohmann::json read_json(const std::filesystem::path& p) {
  try {
    return nlohmann::json::parse(read_file_text(p));
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(p.string() + ": not valid JSON (" + e.what() + ")");
  }
}

/// Typed access to config.json values with errors that name the file and key.
struct HfConfig {
  const nlohmann::json& j;
  std::string source;

  [[nodiscard]] bool has(const char* key) const { return j.contains(key) && !j[key].is_null(); }
  [[nodiscard]] uint64_t uint(const char* key) const {
    if (!has(key)) throw ConfigError(source + ": \"" + key + "\" is missing");
    if (!j[key].is_number_unsigned()) throw ConfigError(source + ": \"" + key + "\" is not a non-negative integer: " + j[key].dump());
    return j[key].get<uint64_t>();
  }
  /// The first of `keys` present, as an unsigned integer. @throws ConfigError if none is.
  [[nodiscard]] uint64_t uint_of(std::initializer_list<const char*> keys) const {
    for (const char* k : keys)
      if (has(k)) return uint(k);
    throw ConfigError(source + ": \"" + *keys.begin() + "\" is missing");
  }
  [[nodiscard]] double number(const char* key, double fallback) const {
    if (!has(key)) return fallback;
    if (!j[key].is_number()) throw ConfigError(source + ": \"" + key + "\" is not a number: " + j[key].dump());
    return j[key].get<double>();
  }
  [[nodiscard]] bool flag(const char* key, bool fallback) const {
    if (!has(key)) return fallback;
    if (!j[key].is_boolean()) throw ConfigError(source + ": \"" + key + "\" is not true or false: " + j[key].dump());
    return j[key].get<bool>();
  }
};

/// A token id from config.json / generation_config.json: an integer, or the first of a list.
inline std::optional<uint32_t> first_token_id(const nlohmann::json& j, const char* key) {
  if (!j.contains(key)) return std::nullopt;
  const auto& v = j[key];
  if (v.is_number_unsigned() && v.get<uint64_t>() <= UINT32_MAX) return static_cast<uint32_t>(v.get<uint64_t>());
  if (v.is_array() && !v.empty() && v[0].is_number_unsigned()) return static_cast<uint32_t>(v[0].get<uint64_t>());
  return std::nullopt;
}

/// bos/eos/pad ids of config.json or generation_config.json -> tokenizer.ggml.*_token_id.
inline void set_token_ids(const nlohmann::json& j, io::Metadata& md) {
  const std::pair<const char*, const char*> keys[] = {
      {"bos_token_id", "tokenizer.ggml.bos_token_id"}, {"eos_token_id", "tokenizer.ggml.eos_token_id"},
      {"pad_token_id", "tokenizer.ggml.padding_token_id"}};
  for (const auto& [hf, gguf] : keys)
    if (auto id = first_token_id(j, hf)) md.set(gguf, io::Value(*id));
}

/// config.json -> the GGUF keys `<arch>.*` the architecture's read_config() reads.
inline io::Metadata hf_config_metadata(const nlohmann::json& j, const HfArchitecture& a, const std::string& source,
                                       const std::string& name) {
  const HfConfig c{j, source};
  const std::string p = std::string(a.arch) + ".";
  io::Metadata md(source);
  auto u32 = [](uint64_t v) { return io::Value(static_cast<uint32_t>(v)); };
  auto f32 = [](double v) { return io::Value(static_cast<float>(v)); };
  md.set("general.architecture", std::string(a.arch));
  md.set("general.name", name);
  const uint64_t dim = c.uint_of({"hidden_size", "n_embd"});
  const uint64_t heads = c.uint_of({"num_attention_heads", "n_head"});
  if (heads == 0) throw ConfigError(source + ": \"num_attention_heads\" must be positive");
  md.set(p + "embedding_length", u32(dim));
  md.set(p + "block_count", u32(c.uint_of({"num_hidden_layers", "n_layer"})));
  md.set(p + "attention.head_count", u32(heads));
  md.set(p + "attention.head_count_kv", u32(c.has("num_key_value_heads") ? c.uint("num_key_value_heads") : heads));
  md.set(p + "feed_forward_length",
         u32(c.has("intermediate_size") ? c.uint("intermediate_size") : c.has("n_inner") ? c.uint("n_inner") : 4 * dim));
  md.set(p + "context_length", u32(c.uint_of({"max_position_embeddings", "n_positions", "n_ctx"})));
  md.set(p + "vocab_size", u32(c.uint("vocab_size")));
  const uint64_t head_dim = c.has("head_dim") ? c.uint("head_dim") : dim / heads;
  md.set(p + "attention.key_length", u32(head_dim));
  md.set(p + "attention.value_length", u32(head_dim));
  if (a.arch != "gpt2") {
    const double partial = c.number("partial_rotary_factor", 1.0);
    md.set(p + "rope.dimension_count", u32(static_cast<uint64_t>(static_cast<double>(head_dim) * partial)));
    md.set(p + "rope.freq_base", f32(c.number("rope_theta", 10000.0)));
  }
  if (a.arch == "gpt2" || a.arch == "starcoder2") {
    md.set(p + "attention.layer_norm_epsilon", f32(c.number("layer_norm_epsilon", c.number("norm_epsilon", 1e-5))));
  } else {
    md.set(p + "attention.layer_norm_rms_epsilon", f32(c.number("rms_norm_eps", 1e-6)));
  }
  if (c.has("sliding_window") && (!c.has("use_sliding_window") || c.flag("use_sliding_window", true)))
    md.set(p + "attention.sliding_window", u32(c.uint("sliding_window")));
  if (a.arch == "gemma2") {
    md.set(p + "attn_logit_softcapping", f32(c.number("attn_logit_softcapping", 50.0)));
    md.set(p + "final_logit_softcapping", f32(c.number("final_logit_softcapping", 30.0)));
  }
  if (c.has("rope_scaling")) {
    const auto& rs = j["rope_scaling"];
    const std::string type = rs.is_object() ? rs.value("rope_type", rs.value("type", std::string("?"))) : std::string("?");
    if (type != "default")
      throw UnsupportedError(source + ": rope_scaling of type '" + type + "' is not supported for Hugging Face folders yet");
  }
  set_token_ids(j, md);
  return md;
}

// An owned, 64-byte aligned buffer (kept alive by the tensors that view it).
inline std::shared_ptr<std::byte> aligned_buffer(std::size_t bytes) {
  void* p = std::aligned_alloc(64, (bytes + 63) / 64 * 64 + 64);
  if (!p) throw std::bad_alloc();
  return std::shared_ptr<std::byte>(static_cast<std::byte*>(p), [](std::byte* q) { std::free(q); });
}

/// Reads element `i` of a float tensor as float.
inline float load_float(const std::byte* src, GgmlType t, std::size_t i) {
  switch (t) {
    case GgmlType::F32: { float v; std::memcpy(&v, src + 4 * i, 4); return v; }
    case GgmlType::F16: { f16 h; std::memcpy(&h, src + 2 * i, 2); return f16_to_f32(h); }
    default: { bf16 h; std::memcpy(&h, src + 2 * i, 2); return bf16_to_f32(h); }
  }
}

[[nodiscard]] constexpr bool is_norm_role(nn::Role r) noexcept {
  using nn::Role;
  return r == Role::AttnNorm || r == Role::FfnNorm || r == Role::OutputNorm || r == Role::PostAttnNorm ||
         r == Role::PostFfnNorm || r == Role::AttnQNorm || r == Role::AttnKNorm;
}
[[nodiscard]] constexpr bool is_conv1d_matrix(nn::Role r) noexcept {
  using nn::Role;
  return r == Role::AttnQKV || r == Role::AttnOutput || r == Role::FfnUp || r == Role::FfnDown || r == Role::AttnQ ||
         r == Role::AttnK || r == Role::AttnV;
}

}  // namespace detail

/// Whether `dir` looks like a Hugging Face model folder (config.json and SafeTensors weights).
[[nodiscard]] inline bool is_hf_folder(const std::filesystem::path& dir) {
  std::error_code ec;
  return std::filesystem::is_directory(dir, ec) && std::filesystem::exists(dir / "config.json", ec);
}

/// Opens a Hugging Face folder as a GGUF-shaped file: metadata from config.json (plus
/// generation_config.json's token ids and tokenizer_config.json's chat template), tensors renamed
/// and converted to GGUF layout (LLaMA Q/K rows permuted, GPT-2 Conv1D matrices transposed, Gemma
/// norms stored as 1 + w, tied output left out). Tensors needing no change stay zero-copy views of
/// the mapped SafeTensors files.
/// @throws IoError; FormatError (bad SafeTensors, missing tensor); ConfigError (bad config.json);
///         UnsupportedError (unknown model_type, unsupported dtype or rope scaling).
[[nodiscard]] inline io::GgufFile open_hf_folder(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  const std::string folder = dir.string();
  const auto cfg_path = dir / "config.json";
  const nlohmann::json cfg = detail::read_json(cfg_path);
  if (!cfg.is_object()) throw FormatError(cfg_path.string() + ": not a JSON object");
  std::string model_type = cfg.value("model_type", std::string());
  const nlohmann::json* text_cfg = &cfg;
  if (model_type == "gemma3" && cfg.contains("text_config") && cfg["text_config"].is_object()) text_cfg = &cfg["text_config"];
  const HfArchitecture* arch = find_hf_architecture(model_type);
  if (!arch) {
    std::string list;
    for (const auto& a : kHfArchitectures) list += (list.empty() ? "" : ", ") + std::string(a.model_type);
    throw UnsupportedError(cfg_path.string() + ": model_type '" + model_type + "' is not supported; supported: " + list);
  }
  std::string name = cfg.value("_name_or_path", std::string());
  if (name.empty()) name = dir.filename().string();
  io::Metadata md = detail::hf_config_metadata(*text_cfg, *arch, folder, name);
  if (fs::exists(dir / "generation_config.json")) {
    const auto g = detail::read_json(dir / "generation_config.json");
    if (g.is_object())
      detail::set_token_ids(g, md);
  }
  if (fs::exists(dir / "tokenizer_config.json")) {
    const auto t = detail::read_json(dir / "tokenizer_config.json");
    if (t.is_object() && t.contains("chat_template") && t["chat_template"].is_string())
      md.set("tokenizer.chat_template", t["chat_template"].get<std::string>());
  }

  const auto ckpt = std::make_shared<const io::SafeTensorsCheckpoint>(io::SafeTensorsCheckpoint::open(dir));
  const std::size_t n_layers = md.get_uint(std::string(arch->arch) + ".block_count");
  const std::size_t n_head = md.get_uint(std::string(arch->arch) + ".attention.head_count");
  const std::size_t n_head_kv = md.get_uint(std::string(arch->arch) + ".attention.head_count_kv");
  // Without the key, the output is tied exactly when the checkpoint has no separate output matrix.
  bool has_output = false;
  for (const auto& row : arch->tensors)
    if (row.role == nn::Role::Output && !row.hf.empty())
      for (const char* prefix : {"", "transformer.", "language_model.", "model.", "language_model.model."})
        has_output = has_output || ckpt->find(std::string(prefix) + std::string(row.hf)).second != nullptr;
  const bool tied = detail::HfConfig{*text_cfg, cfg_path.string()}.flag("tie_word_embeddings", !has_output);

  // GPT2LMHeadModel saves "transformer.h.0...", GPT2Model "h.0..."; Gemma 3 multimodal saves the
  // text model under "language_model.".
  auto lookup = [&](const std::string& n) {
    for (const char* prefix : {"", "transformer.", "language_model.", "model."}) {
      auto r = ckpt->find(std::string(prefix) + n);
      if (r.second) return r;
    }
    if (n.rfind("model.", 0) == 0) {
      auto r = ckpt->find("language_model." + n);
      if (r.second) return r;
    }
    return std::pair<const io::SafeTensorsFile*, const io::StTensor*>{nullptr, nullptr};
  };

  std::vector<io::GgufTensorInfo> out;
  for (const auto& row : arch->tensors) {
    if (row.hf.empty()) continue;
    const bool per_layer = row.hf.find("{}") != std::string_view::npos;
    for (std::size_t l = 0; l < (per_layer ? n_layers : 1); ++l) {
      const std::string hf_name = nn::detail::tensor_name(row.hf, l);
      const auto [file, st] = lookup(hf_name);
      if (!st) {
        if (row.role == nn::Role::Output && !tied)
          throw FormatError(folder + ": tie_word_embeddings is false but the checkpoint has no '" + hf_name + "'");
        if (row.presence == nn::Presence::Required)
          throw FormatError(folder + ": required tensor '" + hf_name + "' is missing from the checkpoint");
        continue;
      }
      if (row.role == nn::Role::Output && tied) continue;  // tied: the embedding table is the output
      const auto type = io::st_to_ggml(st->dtype);
      if (!type)
        throw UnsupportedError(file->path() + ": tensor '" + hf_name + "' has dtype " + std::string(io::st_dtype_name(st->dtype)) +
                               ", which has no GGUF equivalent");
      io::GgufTensorInfo t;
      t.name = nn::detail::tensor_name(row.gguf, l);
      t.shape = st->shape;
      t.type = static_cast<uint32_t>(*type);
      t.size = st->size;
      t.offset = st->offset;
      t.ptr = file->data(*st);
      t.owner = file->mapping();
      const bool is_float = *type == GgmlType::F32 || *type == GgmlType::F16 || *type == GgmlType::BF16;
      const std::size_t esize = io::st_dtype_size(st->dtype);
      const bool transpose = arch->conv1d && st->shape.size() == 2 && detail::is_conv1d_matrix(row.role);
      const bool permute = arch->rope_permute && (row.role == nn::Role::AttnQ || row.role == nn::Role::AttnK ||
                                                  row.role == nn::Role::AttnQBias || row.role == nn::Role::AttnKBias);
      const bool plus_one = arch->norm_plus_one && detail::is_norm_role(row.role);
      if ((transpose || permute || plus_one) && !is_float)
        throw UnsupportedError(file->path() + ": tensor '" + hf_name + "' must be converted to GGUF layout but has dtype " +
                               std::string(io::st_dtype_name(st->dtype)));
      if (t.shape.empty()) t.shape = Shape{1};
      if (transpose) {
        const std::size_t in = st->shape[0], outf = st->shape[1];
        auto buf = detail::aligned_buffer(st->size);
        for (std::size_t i = 0; i < in; ++i)
          for (std::size_t o = 0; o < outf; ++o) std::memcpy(buf.get() + (o * in + i) * esize, t.ptr + (i * outf + o) * esize, esize);
        t.shape = Shape{outf, in};
        t.ptr = buf.get();
        t.owner = buf;
      } else if (permute) {
        // HF rows of a head: [first halves of the pairs; second halves]; GGUF interleaves them.
        const std::size_t heads = (row.role == nn::Role::AttnQ || row.role == nn::Role::AttnQBias) ? n_head : n_head_kv;
        const std::size_t rows = st->shape[0], cols = st->shape.size() > 1 ? numel(st->shape) / rows : 1;
        if (heads == 0 || rows % (2 * heads) != 0)
          throw FormatError(file->path() + ": tensor '" + hf_name + "' has " + std::to_string(rows) + " rows, not a multiple of 2 x " +
                            std::to_string(heads) + " heads");
        const std::size_t half = rows / heads / 2, row_bytes = cols * esize;
        auto buf = detail::aligned_buffer(st->size);
        for (std::size_t h = 0; h < heads; ++h)
          for (std::size_t i = 0; i < half; ++i)
            for (std::size_t j = 0; j < 2; ++j)
              std::memcpy(buf.get() + (h * 2 * half + 2 * i + j) * row_bytes, t.ptr + (h * 2 * half + j * half + i) * row_bytes, row_bytes);
        t.ptr = buf.get();
        t.owner = buf;
      } else if (plus_one) {
        const std::size_t n = numel(st->shape);
        auto buf = detail::aligned_buffer(n * 4);
        for (std::size_t i = 0; i < n; ++i) {
          const float v = detail::load_float(t.ptr, *type, i) + 1.0f;
          std::memcpy(buf.get() + 4 * i, &v, 4);
        }
        t.type = static_cast<uint32_t>(GgmlType::F32);
        t.size = n * 4;
        t.ptr = buf.get();
        t.owner = buf;
      } else if (reinterpret_cast<std::uintptr_t>(t.ptr) % esize != 0) {  // misaligned elements: copy
        auto buf = detail::aligned_buffer(st->size);
        std::memcpy(buf.get(), t.ptr, st->size);
        t.ptr = buf.get();
        t.owner = buf;
      }
      out.push_back(std::move(t));
    }
  }
  return io::GgufFile::assemble(folder, "safetensors", std::move(md), std::move(out));
}

}  // namespace llmforge::models
