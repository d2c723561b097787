// SPDX-License-Identifier: MIT
// Readers for tokenizer test vectors: llama.cpp .inp/.out pairs, ggml prompt files, id lists.
#pragma once

#include <cstdint>
#include <filesystem>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "common/test_data.hpp"

namespace llmforge::test {

struct TokenCase {
  std::string text;
  std::vector<int32_t> ids;
};

/// Parses whitespace-separated (or comma-separated) decimal ids.
inline std::vector<int32_t> parse_ids(std::string_view line) {
  std::vector<int32_t> ids;
  std::string s(line);
  for (char& c : s)
    if (c == ',') c = ' ';
  std::istringstream in(s);
  long long v;
  while (in >> v) ids.push_back(static_cast<int32_t>(v));
  return ids;
}

/// llama.cpp test-tokenizer-0 vectors: `X.inp` holds strings separated by "\n__ggml_vocab_test__\n",
/// `X.out` one line of ids per string.
inline std::vector<TokenCase> read_llama_vectors(const std::filesystem::path& inp, const std::filesystem::path& out) {
  const std::string text = read_file(inp);
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<TokenCase> cases;
  std::size_t pos = 0;
  for (;;) {
    const std::size_t at = text.find(sep, pos);
    if (at == std::string::npos) {
      if (pos < text.size()) cases.push_back({text.substr(pos), {}});
      break;
    }
    cases.push_back({text.substr(pos, at - pos), {}});
    pos = at + sep.size();
  }
  const std::string ids = read_file(out);
  std::istringstream lines(ids);
  std::string line;
  std::size_t i = 0;
  while (std::getline(lines, line)) {
    if (i < cases.size()) cases[i].ids = parse_ids(line);
    ++i;
  }
  if (i != cases.size())
    throw std::runtime_error(out.string() + " has " + std::to_string(i) + " lines but " + inp.string() + " has " +
                             std::to_string(cases.size()) + " tests");
  return cases;
}

/// ggml prompt files: one test per line, "text => id,id,...", split at the last " => ".
inline std::vector<TokenCase> read_ggml_prompts(const std::filesystem::path& p) {
  std::vector<TokenCase> cases;
  std::istringstream in(read_file(p));
  std::string line;
  while (std::getline(in, line)) {
    const std::size_t at = line.rfind(" => ");
    if (at == std::string::npos) continue;
    cases.push_back({line.substr(0, at), parse_ids(std::string_view(line).substr(at + 4))});
  }
  return cases;
}

/// Renders ids for messages.
inline std::string ids_to_string(const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t id : ids) {
    if (!s.empty()) s += ' ';
    s += std::to_string(id);
  }
  return s;
}

}  // namespace llmforge::test
