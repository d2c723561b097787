// SPDX-License-Identifier: MIT
// Helpers shared by the CLI subcommands: option parsing, default model lookup, reading files.
#pragma once

#include <boost/program_options.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <algorithm>
#include <string>
#include <vector>

#include <llmforge/core/error.hpp>
#include <llmforge/kv/kv_cache.hpp>
#include <llmforge/models/model.hpp>

namespace llmforge::cli {

namespace po = boost::program_options;

/// Parses `args` against `desc`; prints help and returns false if --help was given.
/// @throws boost::program_options::error on unknown or malformed options (main prints it).
inline bool parse_options(const std::string& command, const std::string& usage, po::options_description& desc,
                          const std::vector<std::string>& args, po::variables_map& vm,
                          const po::positional_options_description* positional = nullptr) {
  desc.add_options()("help,h", "show this help");
  auto parser = po::command_line_parser(args).options(desc);
  if (positional) parser.positional(*positional);
  po::store(parser.run(), vm);
  if (vm.count("help")) {
    std::cout << "usage: llmforge " << command << " " << usage << "\n\n" << desc << "\n";
    return false;
  }
  po::notify(vm);
  return true;
}

/// Adds the kernel-mode options every command that runs a model takes: `--exact` (llama.cpp's
/// summation order, no repacking: the reference mode) and `--no-repack`.
inline void add_kernel_options(po::options_description& desc) {
  desc.add_options()("exact", "reference kernels: llama.cpp's summation order (bit-identical on AVX2), no repacking")(
      "no-repack", "keep weights in their file layout (row kernels) instead of repacking them at load")(
      "cache-type-k", po::value<std::string>(), "KV cache type of the keys: f16 (default), q8_0 or f32 (--exact: f32 only)")(
      "cache-type-v", po::value<std::string>(), "KV cache type of the values: f16 (default), q8_0 or f32");
}
/// Applies --cache-type-k/-v of add_kernel_options to session (or generator) options.
inline void apply_cache_options(const po::variables_map& vm, SessionOptions& opt) {
  if (vm.count("cache-type-k")) opt.cache_type_k = parse_kv_type(vm["cache-type-k"].as<std::string>());
  if (vm.count("cache-type-v")) opt.cache_type_v = parse_kv_type(vm["cache-type-v"].as<std::string>());
}
/// Applies the options of add_kernel_options to `opt`.
template <class LoadOptionsT>
void apply_kernel_options(const po::variables_map& vm, LoadOptionsT& opt) {
  opt.exact = vm.count("exact") > 0;
  opt.repack = vm.count("no-repack") == 0;
}

/// The model `run`/`chat`/`serve` use when no -m is given: the shipped stories260K.gguf, looked up
/// next to an installed binary (../share/llmforge/models) and in the source tree's models/ folder.
inline std::filesystem::path default_model() {
  namespace fs = std::filesystem;
  std::vector<fs::path> candidates;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    candidates.push_back(exe.parent_path() / "../share/llmforge/models/stories260K.gguf");
    candidates.push_back(exe.parent_path() / "../../../models/stories260K.gguf");
  }
#ifdef LLMFORGE_DEFAULT_MODEL_DIR
  candidates.push_back(fs::path(LLMFORGE_DEFAULT_MODEL_DIR) / "stories260K.gguf");
#endif
  for (const auto& c : candidates)
    if (fs::exists(c, ec)) return fs::weakly_canonical(c, ec);
  throw IoError("no model given (-m) and the default models/stories260K.gguf was not found next to the program");
}

/// What `-m` accepts, for option help texts.
inline constexpr const char* kModelHelp =
    "model: GGUF file, Hugging Face folder (config.json + *.safetensors), .lmf file or llama2.c .bin";
inline constexpr const char* kTokenizerHelp =
    "tokenizer to use instead of the model's: tokenizer.json, HF folder, GGUF, SentencePiece .model, or llama2.c tokenizer.bin";

/// Memory a model needs to run: its weights, the KV cache and the forward pass's scratch buffers.
struct MemoryEstimate {
  std::size_t weights = 0;          ///< bytes of weight data as loaded
  std::size_t kv_per_token = 0;     ///< KV cache bytes per position
  std::size_t kv_context = 0;       ///< KV cache bytes at the session's context
  std::size_t kv_full = 0;          ///< KV cache bytes at the model's full context length
  std::size_t scratch = 0;          ///< scratch buffers for a prompt batch of `batch` tokens
  std::size_t context = 0, batch = 0;
  [[nodiscard]] std::size_t total() const noexcept { return weights + kv_context + scratch; }
};

/// Estimates the memory of running `c` with `context` positions and prompt batches of `batch` tokens.
inline MemoryEstimate estimate_memory(const ModelConfig& c, std::size_t weight_bytes, std::size_t context, std::size_t batch,
                                      std::size_t threads, const KvOptions& kv = {}) {
  MemoryEstimate m;
  m.weights = weight_bytes;
  m.context = context;
  m.batch = batch = std::max<std::size_t>(1, std::min(batch, context));
  m.kv_context = KvCache::bytes_for(c, context, kv);
  m.kv_per_token = m.kv_context / std::max<std::size_t>(context, 1);
  m.kv_full = KvCache::bytes_for(c, c.context_len, kv);
  const std::size_t q = c.num_heads * c.head_dim, k = c.num_kv_heads * c.head_dim, v = c.num_kv_heads * c.value_dim;
  // Hidden, normed and temporary rows; queries, keys, values and attention output; gate and up
  // projections; the logits of one position; per-thread attention scores over the context.
  const std::size_t floats = batch * (3 * c.model_dim + q + k + v + c.num_heads * c.value_dim + 2 * c.ffn_dim) + c.vocab_size +
                             std::max<std::size_t>(threads, 1) * context;
  m.scratch = floats * sizeof(float);
  return m;
}

/// Bytes of memory the system can still give (MemAvailable + SwapFree from /proc/meminfo), or 0 if
/// unknown. The environment variable LLMFORGE_MEMORY_LIMIT (bytes) replaces it (for limits such as
/// a container's that /proc/meminfo does not show, and for tests).
inline std::size_t available_memory() {
  if (const char* limit = std::getenv("LLMFORGE_MEMORY_LIMIT")) return static_cast<std::size_t>(std::strtoull(limit, nullptr, 10));
  std::ifstream in("/proc/meminfo");
  std::string key;
  std::size_t kb = 0, total = 0;
  std::string unit;
  while (in >> key >> kb) {
    std::getline(in, unit);
    if (key == "MemAvailable:" || key == "SwapFree:") total += kb * 1024;
  }
  return total;
}

/// "1.50 MiB"
inline std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) { b /= 1024; ++u; }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f %s", b, units[u]);
  return buf;
}

/// Refuses, before any session memory is allocated, a model and context that cannot fit.
/// @throws ConfigError with the numbers.
inline void check_fits(const Model& model, const SessionOptions& opt) {
  const auto& c = model.config();
  const std::size_t ctx = opt.context ? opt.context : std::min<std::size_t>(c.context_len, 4096);
  const auto m = estimate_memory(c, model.weight_bytes(), ctx, 512, opt.threads, model.kv_options(opt));
  const std::size_t avail = available_memory();
  if (avail > 0 && m.total() > avail)
    throw ConfigError("the model needs about " + human_bytes(static_cast<double>(m.total())) + " (weights " +
                      human_bytes(static_cast<double>(m.weights)) + ", KV cache for " + std::to_string(ctx) + " positions " +
                      human_bytes(static_cast<double>(m.kv_context)) + ", scratch " + human_bytes(static_cast<double>(m.scratch)) +
                      ") but only " + human_bytes(static_cast<double>(avail)) + " is available; lower --ctx or use a smaller type");
}

/// Reads a file's exact bytes. @throws IoError.
inline std::string read_text_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw IoError(p.string() + ": cannot open file");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

/// Parses "1 2 3" (spaces or commas) into token ids. @throws ConfigError on anything else.
inline std::vector<int32_t> parse_token_list(const std::string& s) {
  std::vector<int32_t> out;
  std::size_t i = 0;
  while (i < s.size()) {
    if (s[i] == ' ' || s[i] == ',' || s[i] == '\t' || s[i] == '\n') { ++i; continue; }
    std::size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(s.substr(i), &used);
    } catch (const std::exception&) {
      throw ConfigError("--tokens: '" + s.substr(i, 12) + "' is not a token id");
    }
    if (v < 0 || v > INT32_MAX) throw ConfigError("--tokens: id " + std::to_string(v) + " is out of range");
    out.push_back(static_cast<int32_t>(v));
    i += used;
  }
  return out;
}

}  // namespace llmforge::cli
