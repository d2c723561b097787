// SPDX-License-Identifier: MIT
// ChatTemplate: a model's chat template (from GGUF metadata, a Hugging Face tokenizer_config.json or a
// built-in fallback) rendered as Hugging Face's apply_chat_template does.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <llmforge/chat/builtin_templates.hpp>
#include <llmforge/chat/jinja_template.hpp>
#include <llmforge/core/error.hpp>
#include <llmforge/io/gguf_reader.hpp>
#include <llmforge/tokenizer/hf_tokenizer.hpp>

namespace llmforge::chat {

/// What a template sees besides `messages`, as apply_chat_template passes it.
struct ChatInputs {
  bool add_generation_prompt = false;
  std::optional<nlohmann::ordered_json> tools;      ///< `tools` (None when absent)
  std::optional<std::string> bos_token, eos_token;  ///< undefined when absent
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();  ///< more variables (e.g. enable_thinking)
};

/// HF's `strftime_now(format)`: the local time formatted by the C library's strftime.
inline std::string strftime_now(const std::string& format) {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  std::string buf(256 + format.size() * 4, '\0');
  const std::size_t n = std::strftime(buf.data(), buf.size(), format.c_str(), &tm);
  buf.resize(n);
  return buf;
}

/// A parsed chat template.
class ChatTemplate {
 public:
  /// Parses `source`; `name` appears in error messages. @throws TemplateError on syntax errors.
  explicit ChatTemplate(std::string_view source, std::string name = "chat template")
      : name_(std::move(name)), tpl_(source, name_, jinja::LexOptions{.trim_blocks = true, .lstrip_blocks = true}) {}

  /// Renders `messages` (a JSON array of {role, content, ...}) exactly as transformers'
  /// `apply_chat_template(messages, tools=..., add_generation_prompt=..., tokenize=False)` would.
  /// @throws TemplateRaisedError with the template's own message when it calls raise_exception;
  ///         TemplateError for other rendering failures.
  [[nodiscard]] std::string apply(const nlohmann::ordered_json& messages, const ChatInputs& in = {}) const {
    using jinja::Value;
    jinja::Variables vars;
    vars.reserve(8 + in.extra.size());
    vars.emplace_back("messages", jinja::from_json(messages));
    vars.emplace_back("tools", in.tools ? jinja::from_json(*in.tools) : Value(jinja::None{}));
    vars.emplace_back("documents", Value(jinja::None{}));
    vars.emplace_back("add_generation_prompt", Value(in.add_generation_prompt));
    if (in.bos_token) vars.emplace_back("bos_token", Value(*in.bos_token));
    if (in.eos_token) vars.emplace_back("eos_token", Value(*in.eos_token));
    for (const auto& [k, v] : in.extra.items()) vars.emplace_back(k, jinja::from_json(v));
    vars.emplace_back("raise_exception", Value::function("raise_exception", [](jinja::CallArgs& a) -> Value {
                        throw TemplateRaisedError(jinja::to_str(a.get(0, "message")));
                      }));
    vars.emplace_back("strftime_now", Value::function("strftime_now", [](jinja::CallArgs& a) {
                        return Value(strftime_now(jinja::to_str(a.get(0, "format"))));
                      }));
    return tpl_.render(vars);
  }

  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] const std::string& source() const noexcept { return tpl_.source(); }

 private:
  std::string name_;
  jinja::Template tpl_;
};

/// A model's chat template(s) and special tokens, as found in its files.
struct ModelChatTemplate {
  std::vector<std::pair<std::string, std::string>> templates;  ///< (name, source); "default" first when present
  std::string origin;                                          ///< where it came from, for messages
  bool builtin = false;                                        ///< true when the model had none
  std::optional<std::string> bos_token, eos_token;

  /// The template HF would use: "tool_use" when tools are given and the model has one, else "default"
  /// (or the only one). @throws ConfigError when `name` is given and not present.
  [[nodiscard]] ChatTemplate select(bool with_tools, std::string_view name = {}) const {
    auto find = [&](std::string_view n) -> const std::pair<std::string, std::string>* {
      for (const auto& t : templates)
        if (t.first == n) return &t;
      return nullptr;
    };
    const std::pair<std::string, std::string>* t = nullptr;
    if (!name.empty()) {
      t = find(name);
      if (!t) throw ConfigError(origin + ": no chat template named '" + std::string(name) + "'");
    } else {
      if (with_tools) t = find("tool_use");
      if (!t) t = find("default");
      if (!t && !templates.empty()) t = &templates.front();
      if (!t) throw ConfigError(origin + ": no chat template");
    }
    return ChatTemplate(t->second, origin + (t->first == "default" ? "" : " [" + t->first + "]"));
  }
};

namespace detail {

inline std::optional<std::string> token_text(const nlohmann::json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_object() && j.contains("content") && j["content"].is_string()) return j["content"].get<std::string>();
  return std::nullopt;
}

inline ModelChatTemplate from_gguf(const std::filesystem::path& p, const std::function<void(const std::string&)>& notice) {
  auto g = io::GgufFile::open(p);
  const auto& md = g.metadata();
  ModelChatTemplate m;
  m.origin = p.filename().string();
  if (md.contains("tokenizer.chat_template")) m.templates.emplace_back("default", md.get_string("tokenizer.chat_template"));
  const std::string prefix = "tokenizer.chat_template.";
  for (const auto& [k, v] : md.entries())
    if (k.compare(0, prefix.size(), prefix) == 0 && std::holds_alternative<std::string>(v))
      m.templates.emplace_back(k.substr(prefix.size()), std::get<std::string>(v));
  std::vector<std::string> tokens;
  if (md.find_array("tokenizer.ggml.tokens")) tokens = md.get_string_array("tokenizer.ggml.tokens");
  auto tok = [&](const char* key) -> std::optional<std::string> {
    if (!md.contains(key)) return std::nullopt;
    const auto id = md.get_int(key);
    if (id < 0 || static_cast<std::size_t>(id) >= tokens.size()) return std::nullopt;
    return tokens[static_cast<std::size_t>(id)];
  };
  m.bos_token = tok("tokenizer.ggml.bos_token_id");
  m.eos_token = tok("tokenizer.ggml.eos_token_id");
  if (m.templates.empty()) {
    const std::string arch = md.get_string("general.architecture", "");
    auto has = [&](std::string_view t) {
      for (const auto& s : tokens)
        if (s == t) return true;
      return false;
    };
    const std::string name(pick_builtin_template(arch, has));
    m.templates.emplace_back(name, std::string(builtin_template(name)));
    m.builtin = true;
    notice(m.origin + " has no chat template (tokenizer.chat_template); using the built-in '" + name + "' template");
    m.origin = "built-in " + name + " template";
  }
  return m;
}

inline ModelChatTemplate from_hf_folder(const std::filesystem::path& dir, const std::function<void(const std::string&)>& notice) {
  namespace fs = std::filesystem;
  using tokenizer::detail::parse_json;
  using tokenizer::detail::read_text_file;
  ModelChatTemplate m;
  m.origin = (dir / "tokenizer_config.json").string();
  nlohmann::json cfg = nlohmann::json::object();
  if (fs::exists(dir / "tokenizer_config.json")) cfg = parse_json(read_text_file(dir / "tokenizer_config.json"), m.origin);
  if (cfg.contains("chat_template")) {
    const auto& ct = cfg["chat_template"];
    if (ct.is_string()) {
      m.templates.emplace_back("default", ct.get<std::string>());
    } else if (ct.is_array()) {
      for (const auto& t : ct) {
        if (!t.is_object() || !t.contains("name") || !t.contains("template") || !t["name"].is_string() || !t["template"].is_string())
          throw FormatError(m.origin + ": chat_template list entries must be {\"name\": ..., \"template\": ...}");
        m.templates.emplace_back(t["name"].get<std::string>(), t["template"].get<std::string>());
      }
    } else if (!ct.is_null()) {
      throw FormatError(m.origin + ": chat_template must be a string or a list of named templates");
    }
  }
  if (m.templates.empty() && fs::exists(dir / "chat_template.jinja")) {
    m.origin = (dir / "chat_template.jinja").string();
    m.templates.emplace_back("default", read_text_file(dir / "chat_template.jinja"));
  }
  if (cfg.contains("bos_token")) m.bos_token = token_text(cfg["bos_token"]);
  if (cfg.contains("eos_token")) m.eos_token = token_text(cfg["eos_token"]);
  if (m.templates.empty()) {
    std::string arch;
    if (fs::exists(dir / "config.json")) {
      const auto c = parse_json(read_text_file(dir / "config.json"), (dir / "config.json").string());
      if (c.contains("model_type") && c["model_type"].is_string()) arch = c["model_type"].get<std::string>();
    }
    auto has = [&](std::string_view t) {
      if (!cfg.contains("added_tokens_decoder") || !cfg["added_tokens_decoder"].is_object()) return false;
      for (const auto& [id, tokdef] : cfg["added_tokens_decoder"].items())
        if (token_text(tokdef) == std::string(t)) return true;
      return false;
    };
    const std::string name(pick_builtin_template(arch, has));
    m.templates.emplace_back(name, std::string(builtin_template(name)));
    m.builtin = true;
    notice(dir.string() + " has no chat template (tokenizer_config.json chat_template); using the built-in '" + name + "' template");
    m.origin = "built-in " + name + " template";
  }
  return m;
}

}  // namespace detail

/// Writes a notice line to stderr (the default for load_chat_template).
inline void notice_to_stderr(const std::string& msg) { std::fprintf(stderr, "llmforge: %s\n", msg.c_str()); }

/// Finds the chat template of the model at `path`: a GGUF file (`tokenizer.chat_template`, plus named
/// `tokenizer.chat_template.<name>`), or a Hugging Face folder / its tokenizer_config.json or
/// tokenizer.json (`chat_template`, a string or a list of named templates; else chat_template.jinja).
/// A model without one gets a built-in template chosen from its architecture and special tokens, and
/// `notice` is told which (never silently).
/// @throws IoError, FormatError for unreadable or malformed files.
[[nodiscard]] inline ModelChatTemplate load_chat_template(const std::filesystem::path& path,
                                                          const std::function<void(const std::string&)>& notice = notice_to_stderr) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(path, ec)) throw IoError(path.string() + ": no such file or folder");
  if (fs::is_directory(path, ec)) return detail::from_hf_folder(path, notice);
  char head[4] = {};
  {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) throw IoError(path.string() + ": cannot open for reading");
    const std::size_t n = std::fread(head, 1, 4, f);
    std::fclose(f);
    if (n == 4 && std::string_view(head, 4) == "GGUF") return detail::from_gguf(path, notice);
  }
  const auto name = path.filename().string();
  if (name == "tokenizer_config.json" || name == "tokenizer.json" || name == "config.json")
    return detail::from_hf_folder(path.has_parent_path() ? path.parent_path() : fs::path("."), notice);
  throw FormatError(path.string() + ": not a GGUF file or a Hugging Face folder / tokenizer_config.json");
}

}  // namespace llmforge::chat
