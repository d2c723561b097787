// SPDX-License-Identifier: MIT
// Aggregator for nn/: the component policies models are composed from.
/// @defgroup nn Neural-network components
/// Norms, positional encodings, attention, feed-forward blocks and decoder layers, as policies.
#pragma once
#include <llmforge/kv/kv_cache.hpp>
#include <llmforge/nn/activations.hpp>
#include <llmforge/nn/attention.hpp>
#include <llmforge/nn/concepts.hpp>
#include <llmforge/nn/config.hpp>
#include <llmforge/nn/decoder_layer.hpp>
#include <llmforge/nn/ffn.hpp>
#include <llmforge/nn/layer_norm.hpp>
#include <llmforge/nn/rms_norm.hpp>
#include <llmforge/nn/rope.hpp>
#include <llmforge/nn/tensor_names.hpp>
#include <llmforge/nn/weight.hpp>
#include <llmforge/nn/workspace.hpp>
