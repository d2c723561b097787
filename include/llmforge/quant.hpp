// SPDX-License-Identifier: MIT
// Aggregator for the block formats: QuantTraits for every supported GGUF type and the run-time table.
/// @defgroup quant Quantized block formats
/// Block layouts (exactly as GGUF stores them), DType tags and scalar reference codecs.
#pragma once

#include <llmforge/quant/float.hpp>
#include <llmforge/quant/iq4_nl.hpp>
#include <llmforge/quant/k_quants.hpp>
#include <llmforge/quant/legacy.hpp>
#include <llmforge/quant/plan.hpp>
#include <llmforge/quant/table.hpp>
#include <llmforge/quant/traits.hpp>
