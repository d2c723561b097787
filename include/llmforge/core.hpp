// SPDX-License-Identifier: MIT
// Aggregator for core/: error types, dtype tags, half-precision types, checked arithmetic.
/// @defgroup core Core
/// Error types, element-type tags, F16/BF16 scalars and overflow-checked arithmetic.
#pragma once
#include <llmforge/core/checked.hpp>
#include <llmforge/core/config.hpp>
#include <llmforge/core/dtype.hpp>
#include <llmforge/core/error.hpp>
#include <llmforge/core/ggml_type.hpp>
#include <llmforge/core/half.hpp>
