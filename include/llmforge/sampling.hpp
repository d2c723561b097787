// SPDX-License-Identifier: MIT
// Aggregator for sampling/: the validated sampler chain and its stages.
/// @defgroup sampling Sampling
/// Logit bias, repetition/presence/frequency penalties, DRY, top-k, typical-p, top-p, min-p, XTC,
/// temperature (with dynamic range), mirostat v2 and greedy, in a user-chosen order with a seeded RNG
/// and per-step log-probabilities.
#pragma once
#include <llmforge/sampling/candidates.hpp>
#include <llmforge/sampling/dry.hpp>
#include <llmforge/sampling/sampler.hpp>
#include <llmforge/sampling/sampler_config.hpp>
#include <llmforge/sampling/sampler_rng.hpp>
#include <llmforge/sampling/stages.hpp>
