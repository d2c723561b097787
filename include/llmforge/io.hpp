// SPDX-License-Identifier: MIT
// Aggregator for io/: memory-mapped files, metadata and the GGUF reader.
/// @defgroup io File formats
/// Memory-mapped files, key/value metadata and GGUF v1-v3 reading.
#pragma once
#include <llmforge/io/gguf_reader.hpp>
#include <llmforge/io/gguf_writer.hpp>
#include <llmforge/io/llama2c.hpp>
#include <llmforge/io/lmf.hpp>
#include <llmforge/io/mapped_file.hpp>
#include <llmforge/io/metadata.hpp>
#include <llmforge/io/safetensors.hpp>
