// SPDX-License-Identifier: MIT
// Aggregator for generation/: the Generator (prefill + decode loop with streaming and stop conditions).
/// @defgroup generation Generation
/// Prompt processing and decoding with streaming callbacks, stop strings, end-of-generation tokens,
/// token budgets, deadlines and cancellation, with timings; embeddings (pooled, normalized hidden states).
#pragma once
#include <llmforge/generation/cancel_token.hpp>
#include <llmforge/generation/embedding.hpp>
#include <llmforge/generation/generator.hpp>
#include <llmforge/generation/stop_conditions.hpp>
#include <llmforge/generation/stop_string_filter.hpp>
