// SPDX-License-Identifier: MIT
// `llmforge info`: a model file's metadata, tensors and memory estimate (human text, or JSON with --json).
#include <nlohmann/json.hpp>

#include <cstdio>
#include <map>
#include <thread>
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

int cmd_info(const std::vector<std::string>& args) {
  po::options_description desc("options");
  std::string model_path, tokenizer_path;
  std::size_t ctx = 0, threads = 0;
  desc.add_options()
      ("model,m", po::value(&model_path)->required(), kModelHelp)
      ("tokenizer", po::value(&tokenizer_path), "llama2.c tokenizer.bin for a llama2.c checkpoint")
      ("verify", "check every checksum (.lmf: the header's and each tensor's CRC32); exit 1 naming the first bad tensor")
      ("threads,t", po::value(&threads)->default_value(0), "threads assumed for the scratch estimate (default: all cores)")
      ("json", "print JSON instead of text")
      ("full", "print every array element (text mode abbreviates long arrays)")
      ("ctx", po::value(&ctx)->default_value(0), "context size for the KV-cache estimate (default: the model's, at most 4096)");
  po::variables_map vm;
  if (!parse_options("info", "-m MODEL [--json] [--verify]", desc, args, vm)) return 0;

  if (vm.count("verify")) {
    const auto file = open_model_file(model_path, tokenizer_path);  // validates every header field
    if (file->format() != "lmf") {
      std::printf("%s: %s header valid; the format carries no checksums, nothing more to verify\n", model_path.c_str(),
                  file->format().c_str());
      return 0;
    }
    const auto r = io::verify_lmf(model_path);
    if (r.first_bad) {
      std::fprintf(stderr, "error: %s: tensor '%s' is corrupt (CRC32 mismatch)%s\n", model_path.c_str(), r.first_bad->c_str(),
                   r.bad > 1 ? (" and " + std::to_string(r.bad - 1) + " more tensors").c_str() : "");
      return 1;
    }
    std::printf("%s: header and %zu tensors (%s) verified, all CRC32 checksums match\n", model_path.c_str(), r.tensors,
                human_bytes(static_cast<double>(r.bytes)).c_str());
    return 0;
  }

  const auto file_ptr = open_model_file(model_path, tokenizer_path);
  const auto& file = *file_ptr;
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
  std::optional<MemoryEstimate> mem;
  std::size_t kv_ctx = 0, kv_bytes = 0;
  const std::size_t n_threads = threads ? threads : std::max(1u, std::thread::hardware_concurrency());
  try {
    const std::string arch = md.get_string("general.architecture");
    auto model = model_registry().find(arch, file.path())(file_ptr, LoadOptions{.load_tokenizer = false, .repack = false});
    config = model->config();
    kv_ctx = ctx ? ctx : std::min<std::size_t>(config->context_len, 4096);
    mem = estimate_memory(*config, weight_bytes, kv_ctx, 512, n_threads, model->kv_options());
    kv_bytes = mem->kv_context;
  } catch (const Error& e) {
    config_error = e.what();
  }
  const std::size_t avail = available_memory();

  if (vm.count("json")) {
    nlohmann::json j;
    j["file"] = model_path;
    j["format"] = file.format();
    if (file.format() == "gguf") j["gguf_version"] = file.version();
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
      j["kv_cache"] = {{"context", kv_ctx}, {"bytes", kv_bytes}, {"bytes_per_token", mem->kv_per_token},
                       {"bytes_full_context", mem->kv_full}, {"full_context", config->context_len}};
      j["scratch_bytes"] = mem->scratch;
      j["memory_estimate_bytes"] = mem->total();
      j["available_bytes"] = avail;
      j["fits"] = avail == 0 || mem->total() <= avail;
    } else {
      j["config_error"] = config_error;
    }
    std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return 0;
  }

  if (file.format() == "gguf")
    std::printf("file: %s (GGUF v%u, alignment %u)\n", model_path.c_str(), file.version(), file.alignment());
  else
    std::printf("file: %s (%s, read as GGUF names and layouts)\n", model_path.c_str(), file.format().c_str());
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
    std::printf("\nmemory:\n");
    std::printf("  weights:   %s\n", human_bytes(static_cast<double>(mem->weights)).c_str());
    std::printf("  KV cache:  %s per token; %s for %zu positions; %s at the full context of %zu\n",
                human_bytes(static_cast<double>(mem->kv_per_token)).c_str(), human_bytes(static_cast<double>(mem->kv_context)).c_str(),
                kv_ctx, human_bytes(static_cast<double>(mem->kv_full)).c_str(), config->context_len);
    std::printf("  scratch:   %s (prompt batches of %zu tokens, %zu threads)\n", human_bytes(static_cast<double>(mem->scratch)).c_str(),
                mem->batch, n_threads);
    std::printf("  total:     %s for %zu positions", human_bytes(static_cast<double>(mem->total())).c_str(), kv_ctx);
    if (avail) std::printf(" (%s available: %s)", human_bytes(static_cast<double>(avail)).c_str(), mem->total() <= avail ? "fits" : "DOES NOT FIT");
    std::printf("\n");
  } else {
    std::printf("model: not loadable by this build (%s)\n", config_error.c_str());
  }
  return 0;
}

const Registration reg{"info", "show a model file's metadata, tensors and memory estimate", &cmd_info};

}  // namespace
}  // namespace llmforge::cli
