// SPDX-License-Identifier: MIT
// Aggregator for kernels/: the plain declarations of the dispatched SIMD kernels (never the per-target code).
/// @defgroup kernels Kernels
/// Runtime-dispatched SIMD kernels; compile their definitions once per program with llmforge_add_kernels().
#pragma once
#include <llmforge/kernels/dispatch.hpp>
#include <llmforge/kernels/reference.hpp>
