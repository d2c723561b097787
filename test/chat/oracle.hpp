// SPDX-License-Identifier: MIT
// Runs Python's jinja2 (test/chat/hf_render.py, HF's apply_chat_template environment) as the oracle
// the chat-template tests compare against, and renders the same input with llmforge.
#pragma once

#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <sys/wait.h>
#include <vector>

#include <llmforge/chat.hpp>

namespace llmforge::test {

inline std::filesystem::path chat_data_dir() { return std::filesystem::path(LLMFORGE_SOURCE_DIR) / "test/chat/data"; }

/// Result of one rendering: the text, or the error message when it failed.
struct Rendered {
  bool ok = false;
  std::string text;
};

inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

/// Runs `cmd`, capturing stdout; returns the exit code.
inline int run_capture(const std::string& cmd, std::string& out) {
  out.clear();
  std::FILE* p = popen(cmd.c_str(), "r");
  if (!p) return -1;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int st = pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/// True when python3 with jinja2 can run the oracle (checked once).
inline bool oracle_available() {
  static const bool ok = [] {
    std::string out;
    const auto script = std::filesystem::path(LLMFORGE_SOURCE_DIR) / "test/chat/hf_render.py";
    return run_capture("python3 -c 'import jinja2' 2>/dev/null", out) == 0 && std::filesystem::exists(script);
  }();
  return ok;
}

/// Boost.Test precondition: skip with a message when the oracle is missing.
struct OracleAvailable {
  boost::test_tools::assertion_result operator()(boost::unit_test::test_unit_id) const {
    boost::test_tools::assertion_result r(oracle_available());
    if (!r) r.message() << "python3 with jinja2 not found (apt-get install python3-jinja2); skipping the comparison with Python's jinja2";
    return r;
  }
};

struct RenderCase {
  std::filesystem::path template_file;
  std::filesystem::path messages_file;
  std::optional<std::filesystem::path> tools_file;
  bool add_generation_prompt = false;
  std::optional<std::string> bos_token, eos_token;
};

/// The oracle's renderings of `cases` in one Python process ({ok, text}; text is the exception's message
/// when the template raised). Fails the test when the oracle itself cannot run.
inline std::vector<Rendered> render_with_python(const std::vector<RenderCase>& cases) {
  const auto script = std::filesystem::path(LLMFORGE_SOURCE_DIR) / "test/chat/hf_render.py";
  const auto jobs_file = std::filesystem::temp_directory_path() / ("llmforge_oracle_" + std::to_string(getpid()) + ".json");
  nlohmann::json jobs = nlohmann::json::array();
  for (const auto& c : cases) {
    nlohmann::json j = {{"template", c.template_file.string()}, {"messages", c.messages_file.string()},
                        {"add_generation_prompt", c.add_generation_prompt}};
    if (c.tools_file) j["tools"] = c.tools_file->string();
    if (c.bos_token) j["bos_token"] = *c.bos_token;
    if (c.eos_token) j["eos_token"] = *c.eos_token;
    jobs.push_back(std::move(j));
  }
  std::ofstream(jobs_file) << jobs.dump();
  std::string out;
  const int rc = run_capture("python3 " + shell_quote(script.string()) + " --batch " + shell_quote(jobs_file.string()), out);
  std::filesystem::remove(jobs_file);
  BOOST_TEST_REQUIRE(rc == 0, "the oracle (hf_render.py --batch) failed with exit code " << rc);
  std::vector<Rendered> results;
  for (const auto& r : nlohmann::json::parse(out)) results.push_back({r.at("ok").get<bool>(), r.at("text").get<std::string>()});
  BOOST_TEST_REQUIRE(results.size() == cases.size());
  return results;
}

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  BOOST_REQUIRE_MESSAGE(in, p.string() + ": cannot open");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

/// llmforge's rendering of the same case (TemplateRaisedError's message when the template raised).
inline Rendered render_with_llmforge(const RenderCase& c) {
  Rendered r;
  try {
    chat::ChatTemplate t(read_file(c.template_file), c.template_file.filename().string());
    chat::ChatInputs in;
    in.add_generation_prompt = c.add_generation_prompt;
    in.bos_token = c.bos_token;
    in.eos_token = c.eos_token;
    if (c.tools_file) in.tools = nlohmann::ordered_json::parse(read_file(*c.tools_file));
    r.text = t.apply(nlohmann::ordered_json::parse(read_file(c.messages_file)), in);
    r.ok = true;
  } catch (const TemplateRaisedError& e) {
    r.text = e.what();
  } catch (const TemplateError& e) {
    r.text = std::string("(error) ") + e.what();
  }
  return r;
}

}  // namespace llmforge::test
