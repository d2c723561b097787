// SPDX-License-Identifier: MIT
// Maps a file's architecture name to a model type, and load_model() that opens any supported file.
#pragma once

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <llmforge/io/gguf_reader.hpp>
#include <llmforge/io/llama2c.hpp>
#include <llmforge/io/lmf.hpp>
#include <llmforge/models/hf.hpp>
#include <llmforge/tokenizer/load.hpp>
#include <llmforge/models/decoder_only.hpp>
#include <llmforge/models/gemma.hpp>
#include <llmforge/models/gpt2.hpp>
#include <llmforge/models/llama.hpp>
#include <llmforge/models/phi3.hpp>
#include <llmforge/models/qwen2.hpp>
#include <llmforge/models/model.hpp>

namespace llmforge {

/// Builds a model from an opened file.
using ModelFactory = std::function<std::shared_ptr<Model>(std::shared_ptr<const io::GgufFile>, const LoadOptions&)>;

/// The architectures load_model() knows: the built-in ones plus any the program registers.
class ModelRegistry {
 public:
  /// Registers (or replaces) the factory for `name`.
  void add(std::string name, ModelFactory f) {
    std::lock_guard lock(mu_);
    factories_[std::move(name)] = std::move(f);
  }
  /// Registers `DecoderOnlyModel<Arch>` under `Arch::kArchName`.
  template <Architecture Arch>
  void add() {
    add(std::string(Arch::kArchName), [](std::shared_ptr<const io::GgufFile> f, const LoadOptions& o) -> std::shared_ptr<Model> {
      return std::make_shared<DecoderOnlyModel<Arch>>(std::move(f), o);
    });
  }
  [[nodiscard]] std::vector<std::string> names() const {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (const auto& [k, v] : factories_) out.push_back(k);
    return out;
  }
  /// The factory for `name`. @throws UnsupportedError listing the supported architectures.
  [[nodiscard]] ModelFactory find(const std::string& name, const std::string& where) const {
    std::lock_guard lock(mu_);
    auto it = factories_.find(name);
    if (it != factories_.end()) return it->second;
    std::string list;
    for (const auto& [k, v] : factories_) list += (list.empty() ? "" : ", ") + k;
    throw UnsupportedError(where + ": unknown architecture '" + name + "'; supported: " + list);
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, ModelFactory> factories_;
};

/// The process-wide registry, pre-filled with the built-in architectures.
inline ModelRegistry& model_registry() {
  static ModelRegistry r;
  [[maybe_unused]] static const bool builtins = [] {
    r.add<models::LlamaArch>();
    r.add<models::Qwen2Arch>();
    r.add<models::Qwen3Arch>();
    r.add<models::GemmaArch>();
    r.add<models::Gemma2Arch>();
    r.add<models::Gemma3Arch>();
    r.add<models::Phi3Arch>();
    r.add<models::Gpt2Arch>();
    r.add<models::Starcoder2Arch>();
    return true;
  }();
  return r;
}

/// Registers a user-defined architecture so load_model() can open its files.
template <Architecture Arch>
void register_architecture() {
  model_registry().add<Arch>();
}

/// The model file formats open_model_file() recognises (for messages).
inline constexpr std::string_view kSupportedModelFiles =
    "a GGUF file, a Hugging Face folder (config.json + *.safetensors), a .lmf file or a llama2.c .bin checkpoint";

/// Opens any supported model file as a GGUF-shaped file (GGUF metadata keys, tensor names and
/// layouts): a GGUF file, a Hugging Face folder (or its .safetensors / index file), an llmforge
/// `.lmf` file or a llama2.c checkpoint. `tokenizer` may name a llama2.c tokenizer.bin, whose
/// vocabulary then goes into a llama2.c checkpoint's metadata.
/// @throws IoError, FormatError, ConfigError, UnsupportedError.
[[nodiscard]] inline std::shared_ptr<const io::GgufFile> open_model_file(const std::filesystem::path& path,
                                                                         const std::filesystem::path& tokenizer = {}) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(path, ec)) throw IoError(path.string() + ": cannot open file (no such file or folder)");
  if (fs::is_directory(path, ec)) {
    if (!models::is_hf_folder(path))
      throw FormatError(path.string() + ": folder has no config.json; expected " + std::string(kSupportedModelFiles));
    return std::make_shared<const io::GgufFile>(models::open_hf_folder(path));
  }
  const std::string name = path.filename().string();
  if (name.ends_with(".safetensors") || name.ends_with(".safetensors.index.json")) {
    const auto dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
    if (!models::is_hf_folder(dir))
      throw FormatError(path.string() + ": a SafeTensors file needs the config.json of its Hugging Face folder beside it");
    return std::make_shared<const io::GgufFile>(models::open_hf_folder(dir));
  }
  char head[4] = {};
  if (std::FILE* f = std::fopen(path.c_str(), "rb")) {
    (void)std::fread(head, 1, 4, f);
    std::fclose(f);
  }
  if (std::memcmp(head, "GGUF", 4) == 0) return std::make_shared<const io::GgufFile>(io::GgufFile::open(path));
  if (std::memcmp(head, io::kLmfMagic, 4) == 0) return std::make_shared<const io::GgufFile>(io::open_lmf(path));
  if (io::looks_like_llama2c(path)) {
    const bool l2c_tok = !tokenizer.empty() && io::looks_like_llama2c_tokenizer(tokenizer);
    return std::make_shared<const io::GgufFile>(io::open_llama2c(path, l2c_tok ? tokenizer : fs::path()));
  }
  // Neither: let the GGUF reader explain what the first bytes are.
  return std::make_shared<const io::GgufFile>(io::GgufFile::open(path));
}

/// Opens a model file (any format open_model_file() reads), picks its architecture from
/// `general.architecture`, binds the weights (memory-mapped, zero-copy where the layout allows)
/// and builds its tokenizer: `opt.tokenizer` if given, else the file's own (GGUF metadata, or the
/// tokenizer.json of a Hugging Face folder). `opt.architecture` overrides the file's architecture
/// name (e.g. to run a llama file through a user-defined variant).
/// @throws IoError, FormatError, ConfigError, UnsupportedError, TokenizerError.
[[nodiscard]] inline std::shared_ptr<Model> load_model(const std::filesystem::path& path, const LoadOptions& opt = {}) {
  auto file = open_model_file(path, opt.tokenizer);
  const std::string arch = opt.architecture.empty() ? file->metadata().get_string("general.architecture") : opt.architecture;
  auto model = model_registry().find(arch, file->path())(file, opt);
  if (!opt.load_tokenizer) return model;
  std::error_code ec;
  if (!opt.tokenizer.empty() && !(file->format() == "llama2.c" && io::looks_like_llama2c_tokenizer(opt.tokenizer))) {
    model->set_tokenizer(std::make_shared<const tokenizer::Tokenizer>(tokenizer::load_tokenizer(opt.tokenizer)));
  } else if (file->metadata().contains("tokenizer.ggml.model")) {
    model->set_tokenizer(std::make_shared<const tokenizer::Tokenizer>(tokenizer::Tokenizer::from_gguf(file->metadata())));
  } else if (const std::filesystem::path dir(file->path());
             file->format() == "safetensors" &&
             (std::filesystem::exists(dir / "tokenizer.json", ec) || std::filesystem::exists(dir / "tokenizer.model", ec) ||
              (std::filesystem::exists(dir / "vocab.json", ec) && std::filesystem::exists(dir / "merges.txt", ec)))) {
    model->set_tokenizer(std::make_shared<const tokenizer::Tokenizer>(tokenizer::load_tokenizer(file->path())));
  }
  return model;
}

}  // namespace llmforge
