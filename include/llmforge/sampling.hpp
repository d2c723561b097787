// SPDX-License-Identifier: MIT
// Aggregator for sampling/: the validated sampler chain.
/// @defgroup sampling Sampling
/// Greedy, temperature, top-k, top-p, min-p and penalty sampling with a seeded RNG.
#pragma once
#include <llmforge/sampling/sampler.hpp>
