// SPDX-License-Identifier: MIT
// The one public include of llmforge: every folder's aggregator header.
/// @mainpage llmforge
/// A header-only C++20 tensor and transformer library for running language models on CPUs.
/// See README.md for the quick start and docs/ for guides.
#pragma once
#include <llmforge/core.hpp>
#include <llmforge/tensor.hpp>
#include <llmforge/backend.hpp>
#include <llmforge/kernels.hpp>
#include <llmforge/io.hpp>
#include <llmforge/quant.hpp>
#include <llmforge/nn.hpp>
#include <llmforge/tokenizer.hpp>
#include <llmforge/chat.hpp>
#include <llmforge/models.hpp>
#include <llmforge/sampling.hpp>
#include <llmforge/generation.hpp>
