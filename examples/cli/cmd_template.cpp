// SPDX-License-Identifier: MIT
// `llmforge template`: render a chat template (the model's or a .jinja file) for a conversation,
// printing exactly what Hugging Face's apply_chat_template(..., tokenize=False) would produce.
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <llmforge/llmforge.hpp>

#include "cli.hpp"
#include "common.hpp"

namespace llmforge::cli {
namespace {

nlohmann::ordered_json read_json_file(const std::string& path, const char* what) {
  const std::string text = read_text_file(path);
  try {
    return nlohmann::ordered_json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(path + ": " + what + " is not valid JSON (" + e.what() + ")");
  }
}

int cmd_template(const std::vector<std::string>& args) {
  po::options_description desc("options");
  std::string model_path, template_path, messages_path, tools_path, bos, eos, name;
  desc.add_options()
      ("model,m", po::value(&model_path), "GGUF file or Hugging Face folder whose chat template to use")
      ("template", po::value(&template_path), "a Jinja template file instead of the model's")
      ("messages", po::value(&messages_path)->required(), "JSON file: a list of {\"role\", \"content\", ...} messages")
      ("tools", po::value(&tools_path), "JSON file: a list of tool (function) definitions")
      ("add-generation-prompt", "end with the header of the assistant's next turn")
      ("bos-token", po::value(&bos), "value of bos_token (default: the model's)")
      ("eos-token", po::value(&eos), "value of eos_token (default: the model's)")
      ("name", po::value(&name), "use the model's template of this name (e.g. tool_use)");
  po::variables_map vm;
  if (!parse_options("template",
                     "(-m MODEL | --template FILE.jinja) --messages FILE.json [--tools FILE.json] [--add-generation-prompt] "
                     "[--bos-token S] [--eos-token S]",
                     desc, args, vm))
    return 0;
  if (vm.count("model") == vm.count("template")) throw ConfigError("give exactly one of -m MODEL or --template FILE.jinja");

  nlohmann::ordered_json messages = read_json_file(messages_path, "--messages");
  if (messages.is_object() && messages.contains("messages")) messages = messages["messages"];
  if (!messages.is_array()) throw ConfigError(messages_path + ": --messages must hold a JSON list of messages");
  chat::ChatInputs in;
  in.add_generation_prompt = vm.count("add-generation-prompt") > 0;
  if (vm.count("tools")) in.tools = read_json_file(tools_path, "--tools");

  std::optional<chat::ChatTemplate> tpl;
  if (vm.count("template")) {
    tpl.emplace(read_text_file(template_path), template_path);
  } else {
    const auto m = chat::load_chat_template(model_path);
    in.bos_token = m.bos_token;
    in.eos_token = m.eos_token;
    tpl.emplace(m.select(in.tools.has_value(), name));
  }
  if (vm.count("bos-token")) in.bos_token = bos;
  if (vm.count("eos-token")) in.eos_token = eos;
  const std::string out = tpl->apply(messages, in);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

const Registration reg{"template", "render a chat template for a conversation (as HF apply_chat_template)", &cmd_template};

}  // namespace
}  // namespace llmforge::cli
