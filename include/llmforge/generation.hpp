// SPDX-License-Identifier: MIT
// Aggregator for generation/: the Generator (prefill + decode loop with streaming and stop conditions),
// speculative decoding's drafters and saved sequence states.
/// @defgroup generation Generation
/// Prompt processing and decoding with streaming callbacks, stop strings, end-of-generation tokens,
/// token budgets, deadlines and cancellation, with timings; prefix reuse, speculative decoding and
/// sequence states saved to memory or disk; Batch, many sequences in one forward pass per step, and the
/// Scheduler thread that drives one for requests from other threads; embeddings (pooled,
/// normalized hidden states).
#pragma once
#include <llmforge/generation/batch.hpp>
#include <llmforge/generation/beam_search.hpp>
#include <llmforge/generation/cancel_token.hpp>
#include <llmforge/generation/embedding.hpp>
#include <llmforge/generation/generator.hpp>
#include <llmforge/generation/scheduler.hpp>
#include <llmforge/generation/sequence_state.hpp>
#include <llmforge/generation/speculative.hpp>
#include <llmforge/generation/stop_conditions.hpp>
#include <llmforge/generation/stop_string_filter.hpp>
