// SPDX-License-Identifier: MIT
// Tokenizer throughput: encode and decode 1 MB of English text with each kind of tokenizer.
//
// Build: cmake --build build/release --target bench_tokenizer
// Run:   build/release/bin/bench_tokenizer [-r ROUNDS] [--text FILE] [TOKENIZER_FILE...]
// Without tokenizer arguments it uses the vocabularies in ../shared/testdata (LLMFORGE_SHARED_DIR overrides).
// Target (issue 5): tokenizing 1 MB of English text takes well under a second.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <llmforge/tokenizer.hpp>

namespace fs = std::filesystem;
namespace lt = llmforge::tokenizer;
using Clock = std::chrono::steady_clock;

namespace {

fs::path shared_dir() {
  if (const char* env = std::getenv("LLMFORGE_SHARED_DIR")) return env;
  return fs::path(__FILE__).parent_path() / ".." / ".." / "shared";
}

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// English prose: the sentences of ggml's GPT-2 prompt set and llama2.c's story, repeated to 1 MiB.
std::string english_text(const fs::path& file) {
  std::string seed;
  if (!file.empty()) {
    seed = read(file);
  } else {
    const std::string prompts = read(shared_dir() / "testdata/tokenizer-vectors/ggml-prompts/gpt-2.txt");
    for (std::size_t pos = 0; pos < prompts.size();) {
      std::size_t end = prompts.find('\n', pos);
      if (end == std::string::npos) end = prompts.size();
      const std::string line = prompts.substr(pos, end - pos);
      pos = end + 1;
      if (const std::size_t at = line.rfind(" => "); at != std::string::npos) seed += line.substr(0, at) + "\n";
    }
    seed += read(shared_dir() / "testdata/llama2c/stories260K.greedy200.expected.txt");
  }
  if (seed.empty()) seed = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park.\n";
  std::string text;
  while (text.size() < (1u << 20)) text += seed;
  text.resize(1u << 20);
  // Do not cut a UTF-8 sequence in half at the end.
  text.resize(text.size() - lt::utf8::incomplete_tail(text));
  return text;
}

template <class F>
double best_seconds(int rounds, F&& f) {
  double best = 1e30;
  for (int r = 0; r < rounds; ++r) {
    const auto t0 = Clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 3;
  fs::path text_file;
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-r" && i + 1 < argc) rounds = std::max(1, std::atoi(argv[++i]));
    else if (a == "--text" && i + 1 < argc) text_file = argv[++i];
    else files.emplace_back(a);
  }
  if (files.empty())
    for (const char* f : {"llama.cpp-vocab/ggml-vocab-llama-spm.gguf", "llama.cpp-vocab/ggml-vocab-gpt-2.gguf",
                          "tiktoken/llama3-tokenizer.model", "hf-tokenizers/qwen3/tokenizer.json",
                          "llama.cpp-vocab/ggml-vocab-deepseek-llm.gguf", "llama.cpp-vocab/ggml-vocab-bert-bge.gguf"})
      if (fs::exists(shared_dir() / "testdata" / f)) files.push_back(shared_dir() / "testdata" / f);
  if (files.empty()) {
    std::fprintf(stderr, "bench_tokenizer: no tokenizer files given and none found under %s\n", shared_dir().c_str());
    return 1;
  }
  const std::string text = english_text(text_file);
  // Baseline in the same run: one pass that only classifies bytes (a lower bound on any tokenizer).
  std::size_t spaces = 0;
  const double base = best_seconds(rounds, [&] {
    spaces = static_cast<std::size_t>(std::count(text.begin(), text.end(), ' '));
  });
  std::printf("text: %zu bytes, %zu spaces; baseline byte scan %.3f ms\n", text.size(), spaces, base * 1e3);
  std::printf("%-48s %10s %10s %9s %10s %9s\n", "tokenizer", "tokens", "encode s", "MB/s", "decode s", "< 1 s");
  bool ok = true;
  for (const auto& f : files) {
    try {
      const auto tok = lt::load_tokenizer(f);
      std::vector<int32_t> ids;
      const double enc = best_seconds(rounds, [&] { ids = tok.encode(text); });
      std::string back;
      const double dec = best_seconds(rounds, [&] { back = tok.decode(ids); });
      const bool fast = enc < 1.0;
      ok = ok && fast;
      std::printf("%-48s %10zu %10.3f %9.2f %10.3f %9s\n", f.filename().c_str(), ids.size(), enc,
                  static_cast<double>(text.size()) / 1e6 / enc, dec, fast ? "yes" : "NO");
    } catch (const llmforge::Error& e) {
      std::fprintf(stderr, "%s\n", e.what());
      ok = false;
    }
  }
  return ok ? 0 : 2;
}
