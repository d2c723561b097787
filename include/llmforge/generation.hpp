// SPDX-License-Identifier: MIT
// Aggregator for generation/: the Generator (prefill + decode loop with streaming and stop conditions).
/// @defgroup generation Generation
/// Prompt processing and decoding with streaming callbacks, stop strings, deadlines and cancellation.
#pragma once
#include <llmforge/generation/generator.hpp>
