// SPDX-License-Identifier: MIT
// `llmforge tokenize`: print the token ids of a text (from -p or the exact bytes of a file).
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <llmforge/llmforge.hpp>

#include "cli.hpp"
#include "common.hpp"

namespace llmforge::cli {
namespace {

int cmd_tokenize(const std::vector<std::string>& args) {
  po::options_description desc("options");
  std::string model_path, prompt, file, tokenizer_path;
  desc.add_options()
      ("model,m", po::value(&model_path)->required(),
       "GGUF (vocabulary-only is fine), tokenizer.json, Hugging Face folder, .lmf file or llama2.c .bin (with --tokenizer)")
      ("tokenizer", po::value(&tokenizer_path), kTokenizerHelp)
      ("prompt,p", po::value(&prompt), "text to tokenize")
      ("file,f", po::value(&file), "tokenize this file's exact bytes")
      ("no-bos", "do not add BOS/EOS tokens")
      ("special", "parse special-token text (e.g. <s>) as special tokens");
  po::variables_map vm;
  if (!parse_options("tokenize", "-m MODEL (-p TEXT | -f FILE) [--no-bos] [--special]", desc, args, vm)) return 0;
  if (vm.count("prompt") == vm.count("file")) throw ConfigError("give exactly one of -p TEXT or -f FILE");
  const std::string text = vm.count("file") ? read_text_file(file) : prompt;
  const auto tok = [&] {
    // Model files whose tokenizer is in their metadata once opened: .lmf, llama2.c (+ tokenizer.bin).
    const std::filesystem::path path(model_path);
    std::error_code ec;
    const bool is_file = std::filesystem::is_regular_file(path, ec);
    if (!tokenizer_path.empty() && !(is_file && io::looks_like_llama2c(path))) return tokenizer::load_tokenizer(tokenizer_path);
    char head[4] = {};
    if (std::FILE* f = is_file ? std::fopen(path.c_str(), "rb") : nullptr) {
      (void)std::fread(head, 1, 4, f);
      std::fclose(f);
    }
    if (is_file && (std::memcmp(head, io::kLmfMagic, 4) == 0 ||
                    (std::memcmp(head, "GGUF", 4) != 0 && io::looks_like_llama2c(path))))
      return tokenizer::Tokenizer::from_gguf(open_model_file(path, tokenizer_path)->metadata());
    return tokenizer::load_tokenizer(path);
  }();
  const auto ids = tok.encode(text, tokenizer::EncodeOptions{!vm.count("no-bos"), vm.count("special") > 0});
  std::string line;
  for (std::size_t i = 0; i < ids.size(); ++i) line += (i ? " " : "") + std::to_string(ids[i]);
  std::printf("%s\n", line.c_str());
  return 0;
}

const Registration reg{"tokenize", "print the token ids of a text", &cmd_tokenize};

}  // namespace
}  // namespace llmforge::cli
