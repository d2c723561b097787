// SPDX-License-Identifier: MIT
// Aggregator for the chat layer: a Jinja2 template engine and models' chat templates.
#pragma once

/// @defgroup chat Chat templates
/// `llmforge::chat::load_chat_template(path)` finds a model's chat template (GGUF
/// `tokenizer.chat_template`, Hugging Face `tokenizer_config.json`, or a built-in fallback that is
/// announced on stderr) and `ChatTemplate::apply(messages, inputs)` renders it exactly as Hugging Face's
/// `apply_chat_template` does. The engine (`llmforge::jinja::Template`) implements the Jinja2 language
/// that chat templates use; bad templates raise `TemplateError` with line and column. The layer sits
/// beside `tokenizer/` (it needs only `core`, `io` and the tokenizer's JSON helpers).

#include <llmforge/chat/builtin_templates.hpp>
#include <llmforge/chat/chat_template.hpp>
#include <llmforge/chat/jinja_template.hpp>
