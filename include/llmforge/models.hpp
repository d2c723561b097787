// SPDX-License-Identifier: MIT
// Aggregator for models/: architecture descriptions, the model interface and load_model().
/// @defgroup models Models
/// One short file per architecture, composed from nn/ parts, plus the registry behind load_model().
#pragma once
#include <llmforge/models/config_reader.hpp>
#include <llmforge/models/decoder_only.hpp>
#include <llmforge/models/gemma.hpp>
#include <llmforge/models/gpt2.hpp>
#include <llmforge/models/hf.hpp>
#include <llmforge/models/llama.hpp>
#include <llmforge/models/phi3.hpp>
#include <llmforge/models/qwen2.hpp>
#include <llmforge/models/model.hpp>
#include <llmforge/models/registry.hpp>
