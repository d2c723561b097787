// SPDX-License-Identifier: MIT
// `llmforge info`: a model file's metadata, tensors and memory estimate (human text, or JSON with --json).
#include <nlohmann/json.hpp>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include <llmforge/llmforge.hpp>

#include "cli.hpp"
#include "common.hpp"

namespace llmforge::cli {
namespace {

nlohmann::json to_json(const io::Value& v) {
  return std::visit(
      [](const auto& x) -> nlohmann::json {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::shared_ptr<const io::ArrayValue>>) {
          auto arr = nlohmann::json::array();
          for (const auto& it : x->items) arr.push_back(to_json(it));
          return arr;
        } else {  // strings that are not valid UTF-8 are replaced when the document is dumped
          return x;
        }
      },
      v);
}

std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) { b /= 1024; ++u; }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f %s", b, units[u]);
  return buf;
}

int cmd_info(const std::vector<std::string>& args) {
  po::options_description desc("options");
  std::string model_path;
  std::size_t ctx = 0;
  desc.add_options()
      ("model,m", po::value(&model_path)->required(), "model file (GGUF)")
      ("json", "print JSON instead of text")
      ("full", "print every array element (text mode abbreviates long arrays)")
      ("ctx", po::value(&ctx)->default_value(0), "context size for the KV-cache estimate (default: the model's, at most 4096)");
  po::variables_map vm;
  if (!parse_options("info", "-m MODEL [--json]", desc, args, vm)) return 0;

  const auto file = io::GgufFile::open(model_path);
  const auto& md = file.metadata();
  uint64_t weight_bytes = 0;
  std::map<std::string, std::size_t> type_counts;
  for (const auto& t : file.tensors()) {
    weight_bytes += t.size;
    ++type_counts[t.type_name()];
  }
  // The architecture config (and so the KV-cache size) is only known for supported architectures.
  std::optional<ModelConfig> config;
  std::string config_error;
  try {
    auto model = load_model(model_path, {.load_tokenizer = false});
    config = model->config();
  } catch (const Error& e) {
    config_error = e.what();
  }
  std::size_t kv_ctx = 0, kv_bytes = 0;
  if (config) {
    kv_ctx = ctx ? ctx : std::min<std::size_t>(config->context_len, 4096);
    kv_bytes = KvCache::bytes_for(*config, kv_ctx);
  }

  if (vm.count("json")) {
    nlohmann::json j;
    j["file"] = model_path;
    j["gguf_version"] = file.version();
    j["alignment"] = file.alignment();
    j["metadata"] = nlohmann::json::object();
    for (const auto& [k, v] : md.entries()) j["metadata"][k] = to_json(v);
    auto tensors = nlohmann::json::array();
    for (const auto& t : file.tensors())
      tensors.push_back({{"name", t.name}, {"type", t.type_name()}, {"shape", std::vector<std::size_t>(t.shape.begin(), t.shape.end())},
                         {"offset", t.offset}, {"bytes", t.size}});
    j["tensors"] = tensors;
    j["tensor_types"] = type_counts;
    j["weight_bytes"] = weight_bytes;
    if (config) {
      j["config"] = {{"arch", config->arch}, {"model_dim", config->model_dim}, {"num_layers", config->num_layers},
                     {"num_heads", config->num_heads}, {"num_kv_heads", config->num_kv_heads}, {"head_dim", config->head_dim},
                     {"ffn_dim", config->ffn_dim}, {"vocab_size", config->vocab_size}, {"context_len", config->context_len}};
      j["kv_cache"] = {{"context", kv_ctx}, {"bytes", kv_bytes}};
      j["memory_estimate_bytes"] = weight_bytes + kv_bytes;
    } else {
      j["config_error"] = config_error;
    }
    std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return 0;
  }

  std::printf("file: %s (GGUF v%u, alignment %u)\n", model_path.c_str(), file.version(), file.alignment());
  std::printf("\nmetadata (%zu keys):\n", md.size());
  for (const auto& [k, v] : md.entries())
    std::printf("  %-45s %s\n", k.c_str(), io::to_display_string(v, vm.count("full") ? SIZE_MAX : 8).c_str());
  std::printf("\ntensors (%zu):\n", file.tensors().size());
  for (const auto& t : file.tensors())
    std::printf("  %-40s %-7s %-16s %s\n", t.name.c_str(), t.type_name().c_str(), to_string(t.shape).c_str(), human_bytes(static_cast<double>(t.size)).c_str());
  std::printf("\ntensor types:");
  for (const auto& [name, n] : type_counts) std::printf(" %s x%zu", name.c_str(), n);
  std::printf("\nweights: %s\n", human_bytes(static_cast<double>(weight_bytes)).c_str());
  if (config) {
    std::printf("model: %s, %zu layers, width %zu, %zu heads (%zu KV), head dim %zu, FFN %zu, vocab %zu, context %zu\n",
                config->arch.c_str(), config->num_layers, config->model_dim, config->num_heads, config->num_kv_heads, config->head_dim,
                config->ffn_dim, config->vocab_size, config->context_len);
    std::printf("KV cache for %zu positions: %s; memory estimate: %s\n", kv_ctx, human_bytes(static_cast<double>(kv_bytes)).c_str(),
                human_bytes(static_cast<double>(weight_bytes + kv_bytes)).c_str());
  } else {
    std::printf("model: not loadable by this build (%s)\n", config_error.c_str());
  }
  return 0;
}

const Registration reg{"info", "show a model file's metadata, tensors and memory estimate", &cmd_info};

}  // namespace
}  // namespace llmforge::cli
