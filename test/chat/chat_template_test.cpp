// SPDX-License-Identifier: MIT
// Real chat templates of many model families, rendered for several conversations, must equal Python's
// jinja2 byte for byte (the oracle runs HF's apply_chat_template environment); templates are found
// in GGUF and Hugging Face files, and built-in fallbacks are announced.
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include <llmforge/chat.hpp>

#include "oracle.hpp"

namespace fs = std::filesystem;
namespace lf = llmforge;
using lf::test::chat_data_dir;
using lf::test::OracleAvailable;
using lf::test::RenderCase;

namespace {

// Every file in data/templates (see data/README.md for where each comes from).
const char* const kTemplates[] = {
    "meta-llama-Llama-2-7b-chat-hf",        "meta-llama-Meta-Llama-3-8B-Instruct", "meta-llama-Llama-3.1-8B-Instruct",
    "meta-llama-Llama-3.2-3B-Instruct",     "Qwen-Qwen2.5-7B-Instruct",             "Qwen-Qwen3-0.6B",
    "Qwen-QwQ-32B",                         "google-gemma-7b-it",                   "google-gemma-2-2b-it",
    "google-gemma-3-4b-it",                 "microsoft-Phi-3-mini-4k-instruct",     "microsoft-Phi-3.5-mini-instruct",
    "mistralai-Mistral-7B-Instruct-v0.2",   "mistralai-Mistral-Nemo-Instruct-2407", "Mistral-Small-3.2-24B-Instruct-2506",
    "deepseek-ai-deepseek-coder-33b-instruct", "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B", "deepseek-ai-DeepSeek-R1-Distill-Llama-8B",
    "deepseek-ai-DeepSeek-V3.1",            "NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use", "meetkai-functionary-medium-v3.2",
    "fireworks-ai-llama-3-firefunction-v2", "CohereForAI-c4ai-command-r-plus-tool_use", "HuggingFaceTB-SmolLM3-3B",
    "ibm-granite-granite-3.3-2B-Instruct",  "openai-gpt-oss-120b",                  "moonshotai-Kimi-K2",
    "GLM-4.6",
};

const char* const kConversations[] = {"system_user",    "multi_turn", "no_system",      "assistant_last",
                                      "unicode",        "thinking",   "bad_alternation", "tool_call"};

/// Renders every case with both engines and checks they agree: same text, or both failing (with the
/// same message when the template called raise_exception).
void check_same(const std::vector<RenderCase>& cases, const std::vector<std::string>& labels) {
  const auto py = lf::test::render_with_python(cases);
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto ours = lf::test::render_with_llmforge(cases[i]);
    BOOST_TEST_CONTEXT(labels[i]) {
      BOOST_TEST(py[i].ok == ours.ok, "python " << (py[i].ok ? "rendered" : "failed: " + py[i].text) << "; llmforge "
                                                << (ours.ok ? "rendered" : "failed: " + ours.text));
      if (py[i].ok && ours.ok) BOOST_TEST(py[i].text == ours.text);
      // A raise_exception message must come through unchanged; other errors only need to fail in both.
      if (!py[i].ok && !ours.ok && ours.text.rfind("(error)", 0) != 0) BOOST_TEST(py[i].text == ours.text);
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(chat_template)

BOOST_TEST_DECORATOR(*boost::unit_test::precondition(OracleAvailable{}))
BOOST_DATA_TEST_CASE(real_templates_render_like_python_jinja2, boost::unit_test::data::make(kTemplates), name) {
  const fs::path tpl = chat_data_dir() / "templates" / (std::string(name) + ".jinja");
  BOOST_TEST_REQUIRE(fs::exists(tpl), tpl.string());
  const fs::path tools = chat_data_dir() / "conversations/tools.json";
  std::vector<RenderCase> cases;
  std::vector<std::string> labels;
  for (const char* conv : kConversations) {
    for (bool agp : {false, true}) {
      RenderCase c{tpl, chat_data_dir() / "conversations" / (std::string(conv) + ".json"), {}, agp, "<s>", "</s>"};
      const std::string label = std::string(name) + " / " + conv + (agp ? " / add_generation_prompt" : "");
      cases.push_back(c);
      labels.push_back(label);
      if (std::string(conv) == "tool_call" || std::string(conv) == "system_user") {
        c.tools_file = tools;
        cases.push_back(c);
        labels.push_back(label + " / tools");
      }
    }
  }
  check_same(cases, labels);
}

BOOST_TEST_DECORATOR(*boost::unit_test::precondition(OracleAvailable{}))
BOOST_DATA_TEST_CASE(builtin_templates_render_like_python_jinja2,
                     boost::unit_test::data::make(std::vector<std::string>{"llama2", "llama3", "chatml", "gemma", "phi3", "mistral"}),
                     name) {
  const fs::path tpl = fs::temp_directory_path() / ("llmforge_builtin_" + name + ".jinja");
  {
    std::ofstream(tpl, std::ios::binary) << lf::chat::builtin_template(name);
  }
  std::vector<RenderCase> cases;
  std::vector<std::string> labels;
  for (const char* conv : {"system_user", "multi_turn", "no_system", "unicode"})
    for (bool agp : {false, true}) {
      cases.push_back({tpl, chat_data_dir() / "conversations" / (std::string(conv) + ".json"), {}, agp, "<s>", "</s>"});
      labels.push_back(name + " / " + conv + (agp ? " / add_generation_prompt" : ""));
    }
  check_same(cases, labels);
  fs::remove(tpl);
}

BOOST_AUTO_TEST_CASE(builtin_template_formats) {
  const auto msgs = nlohmann::ordered_json::parse(R"([{"role":"system","content":"S"},{"role":"user","content":"U"}])");
  lf::chat::ChatInputs in{.add_generation_prompt = true, .bos_token = "<s>", .eos_token = "</s>"};
  BOOST_TEST(lf::chat::ChatTemplate(lf::chat::builtin_template("chatml")).apply(msgs, in) ==
             "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n");
  BOOST_TEST(lf::chat::ChatTemplate(lf::chat::builtin_template("llama2")).apply(msgs, in) == "<s>[INST] <<SYS>>\nS\n<</SYS>>\n\nU [/INST]");
  BOOST_TEST(lf::chat::ChatTemplate(lf::chat::builtin_template("gemma")).apply(msgs, in) ==
             "<s><start_of_turn>user\nS\n\nU<end_of_turn>\n<start_of_turn>model\n");
  BOOST_CHECK_EXCEPTION((void)lf::chat::builtin_template("vicuna"), lf::ConfigError, [](const lf::ConfigError& e) {
    return std::string(e.what()).find("built-in: llama2, llama3, chatml, gemma, phi3, mistral") != std::string::npos;
  });
}

BOOST_AUTO_TEST_CASE(reads_the_template_and_special_tokens_of_a_gguf_file) {
  const fs::path gguf = fs::path(LLMFORGE_SHARED_DIR) / "testdata/llama.cpp-vocab/ggml-vocab-phi-3.gguf";
  if (!fs::exists(gguf)) {
    BOOST_TEST_MESSAGE("skipping: " << gguf << " not found");
    return;
  }
  std::vector<std::string> notices;
  const auto m = lf::chat::load_chat_template(gguf, [&](const std::string& s) { notices.push_back(s); });
  BOOST_TEST(!m.builtin);
  BOOST_TEST(notices.empty());
  BOOST_TEST_REQUIRE(m.templates.size() >= 1u);
  BOOST_TEST(m.templates[0].second.find("<|user|>") != std::string::npos);
  BOOST_TEST(m.bos_token.value_or("") == "<s>");
  BOOST_TEST(m.eos_token.value_or("") == "<|endoftext|>");
  const auto out = m.select(false).apply(nlohmann::ordered_json::parse(R"([{"role":"user","content":"Hi"}])"),
                                         {.add_generation_prompt = true, .bos_token = m.bos_token, .eos_token = m.eos_token});
  BOOST_TEST(out.find("<|user|>\nHi<|end|>\n<|assistant|>\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_model_without_a_template_gets_a_named_builtin_and_a_notice) {
  const fs::path gguf = fs::path(LLMFORGE_SOURCE_DIR) / "models/stories260K.gguf";
  std::vector<std::string> notices;
  const auto m = lf::chat::load_chat_template(gguf, [&](const std::string& s) { notices.push_back(s); });
  BOOST_TEST(m.builtin);
  BOOST_TEST_REQUIRE(notices.size() == 1u);
  BOOST_TEST(notices[0] == "stories260K.gguf has no chat template (tokenizer.chat_template); using the built-in 'llama2' template");
  BOOST_TEST(m.origin == "built-in llama2 template");
}

BOOST_AUTO_TEST_CASE(reads_chat_template_from_tokenizer_config_json) {
  const fs::path dir = fs::path(LLMFORGE_SHARED_DIR) / "testdata/hf-tokenizers/qwen3";
  if (!fs::exists(dir / "tokenizer_config.json")) {
    BOOST_TEST_MESSAGE("skipping: " << dir << " not found");
    return;
  }
  const auto m = lf::chat::load_chat_template(dir, [](const std::string& s) { BOOST_ERROR("unexpected notice: " << s); });
  BOOST_TEST(!m.builtin);
  BOOST_TEST(m.eos_token.value_or("") == "<|im_end|>");
  BOOST_TEST(m.templates.at(0).second == lf::test::read_file(chat_data_dir() / "templates/Qwen-Qwen3-0.6B.jinja"));
}

BOOST_AUTO_TEST_CASE(named_templates_pick_tool_use_when_tools_are_given) {
  const fs::path dir = fs::temp_directory_path() / ("llmforge_named_" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "tokenizer_config.json")
      << R"({"bos_token": {"content": "<B>"}, "eos_token": "<E>", "chat_template": [)"
      << R"({"name": "default", "template": "D{{ bos_token }}"}, {"name": "tool_use", "template": "T{{ tools | length }}"}]})";
  const auto m = lf::chat::load_chat_template(dir / "tokenizer_config.json");
  BOOST_TEST(m.bos_token.value_or("") == "<B>");
  const auto msgs = nlohmann::ordered_json::array();
  BOOST_TEST(m.select(false).apply(msgs, {.bos_token = m.bos_token}) == "D<B>");
  BOOST_TEST(m.select(true).apply(msgs, {.tools = nlohmann::ordered_json::parse("[1, 2]")}) == "T2");
  BOOST_CHECK_THROW((void)m.select(false, "rag"), lf::ConfigError);
  fs::remove_all(dir);
}

BOOST_AUTO_TEST_SUITE_END()
