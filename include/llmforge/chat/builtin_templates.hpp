// SPDX-License-Identifier: MIT
// Built-in chat templates (llama2, llama3, chatml, gemma, phi3, mistral) used when a model ships none,
// and the rule that picks one from a model's architecture and special tokens.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include <llmforge/core/error.hpp>

namespace llmforge::chat {

struct BuiltinTemplate {
  std::string_view name;
  std::string_view source;
};

// Written for llmforge: each renders the format its family documents (system turn handling included).
inline constexpr std::array<BuiltinTemplate, 6> kBuiltinTemplates = {{
    {"llama2",
     "{%- if messages and messages[0].role == 'system' -%}{%- set sys = messages[0].content -%}{%- set turns = messages[1:] -%}"
     "{%- else -%}{%- set sys = none -%}{%- set turns = messages -%}{%- endif -%}"
     "{%- for m in turns -%}"
     "{%- if m.role == 'user' -%}{{- bos_token ~ '[INST] ' -}}"
     "{%- if loop.first and sys is not none -%}{{- '<<SYS>>\\n' ~ sys ~ '\\n<</SYS>>\\n\\n' -}}{%- endif -%}"
     "{{- m.content | trim ~ ' [/INST]' -}}"
     "{%- elif m.role == 'assistant' -%}{{- ' ' ~ m.content | trim ~ ' ' ~ eos_token -}}{%- endif -%}"
     "{%- endfor -%}"},
    {"llama3",
     "{{- bos_token -}}{%- for m in messages -%}"
     "{{- '<|start_header_id|>' ~ m.role ~ '<|end_header_id|>\\n\\n' ~ m.content | trim ~ '<|eot_id|>' -}}"
     "{%- endfor -%}{%- if add_generation_prompt -%}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}{%- endif -%}"},
    {"chatml",
     "{%- for m in messages -%}{{- '<|im_start|>' ~ m.role ~ '\\n' ~ m.content ~ '<|im_end|>\\n' -}}{%- endfor -%}"
     "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}"},
    {"gemma",
     "{{- bos_token -}}{%- set ns = namespace(sys='') -%}{%- for m in messages -%}"
     "{%- if m.role == 'system' -%}{%- set ns.sys = ns.sys ~ m.content ~ '\\n\\n' -%}"
     "{%- else -%}{{- '<start_of_turn>' ~ ('model' if m.role == 'assistant' else m.role) ~ '\\n' ~ ns.sys ~ m.content | trim ~ "
     "'<end_of_turn>\\n' -}}{%- set ns.sys = '' -%}{%- endif -%}"
     "{%- endfor -%}{%- if add_generation_prompt -%}{{- '<start_of_turn>model\\n' -}}{%- endif -%}"},
    {"phi3",
     "{%- for m in messages -%}{{- '<|' ~ m.role ~ '|>\\n' ~ m.content ~ '<|end|>\\n' -}}{%- endfor -%}"
     "{%- if add_generation_prompt -%}{{- '<|assistant|>\\n' -}}{%- else -%}{{- eos_token -}}{%- endif -%}"},
    {"mistral",
     "{{- bos_token -}}{%- set ns = namespace(sys='') -%}{%- for m in messages -%}"
     "{%- if m.role == 'system' -%}{%- set ns.sys = m.content ~ '\\n\\n' -%}"
     "{%- elif m.role == 'user' -%}{{- '[INST] ' ~ ns.sys ~ m.content ~ ' [/INST]' -}}{%- set ns.sys = '' -%}"
     "{%- elif m.role == 'assistant' -%}{{- m.content ~ eos_token -}}{%- endif -%}{%- endfor -%}"},
}};

/// The names of the built-in templates, comma separated (for messages).
inline std::string builtin_template_names() {
  std::string s;
  for (const auto& t : kBuiltinTemplates) s += (s.empty() ? "" : ", ") + std::string(t.name);
  return s;
}

/// The source of built-in template `name`. @throws ConfigError naming the known ones.
inline std::string_view builtin_template(std::string_view name) {
  for (const auto& t : kBuiltinTemplates)
    if (t.name == name) return t.source;
  throw ConfigError("unknown built-in chat template '" + std::string(name) + "'; built-in: " + builtin_template_names());
}

/// Picks the built-in template for a model without one, from its architecture name and a predicate
/// telling whether a token text is in its vocabulary.
template <class HasToken>
std::string_view pick_builtin_template(std::string_view arch, HasToken&& has_token) {
  if (has_token("<|start_header_id|>") || has_token("<|eot_id|>")) return "llama3";
  if (has_token("<|im_start|>")) return "chatml";
  if (arch.substr(0, 5) == "gemma" || has_token("<start_of_turn>")) return "gemma";
  if (arch == "phi3" || (has_token("<|user|>") && has_token("<|end|>"))) return "phi3";
  if (has_token("[INST]")) return "mistral";
  if (arch == "llama" || arch == "mistral") return "llama2";
  return "chatml";
}

}  // namespace llmforge::chat
