// SPDX-License-Identifier: MIT
// Helpers shared by the CLI subcommands: option parsing, default model lookup, reading files.
#pragma once

#include <boost/program_options.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include <llmforge/core/error.hpp>
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
