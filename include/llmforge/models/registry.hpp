// SPDX-License-Identifier: MIT
// Maps a file's architecture name to a model type, and load_model() that opens any supported file.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <llmforge/io/gguf_reader.hpp>
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

/// Opens a model file, picks its architecture from `general.architecture`, binds the weights
/// (memory-mapped, zero-copy) and builds its tokenizer. `opt.architecture` overrides the file's
/// architecture name (e.g. to run a llama file through a user-defined variant).
/// @throws IoError, FormatError, ConfigError, UnsupportedError, TokenizerError.
[[nodiscard]] inline std::shared_ptr<Model> load_model(const std::filesystem::path& path, const LoadOptions& opt = {}) {
  auto file = std::make_shared<const io::GgufFile>(io::GgufFile::open(path));
  const std::string arch = opt.architecture.empty() ? file->metadata().get_string("general.architecture") : opt.architecture;
  auto model = model_registry().find(arch, file->path())(file, opt);
  if (opt.load_tokenizer && file->metadata().contains("tokenizer.ggml.model"))
    model->set_tokenizer(std::make_shared<const tokenizer::Tokenizer>(tokenizer::Tokenizer::from_gguf(file->metadata())));
  return model;
}

}  // namespace llmforge
