// SPDX-License-Identifier: MIT
// Aggregator for the tokenizer layer: SPM, byte-level BPE, WordPiece, Unigram, loaders, streaming decode.
#pragma once

/// @defgroup tokenizer Tokenizers
/// Text <-> token ids. `llmforge::tokenizer::load_tokenizer(path)` opens a GGUF file, a Hugging Face
/// `tokenizer.json` or folder, a SentencePiece `.model` or a tiktoken ranks file and returns a
/// `Tokenizer` with `encode`, `decode` and `token_to_piece`; `StreamDecoder` turns a stream of ids into
/// complete UTF-8 text. Vocabularies follow llama.cpp and Hugging Face token for token; unknown
/// tokenizer models and pre-tokenizers are errors that list the supported ones.

#include <llmforge/tokenizer/gguf_export.hpp>
#include <llmforge/tokenizer/load.hpp>
#include <llmforge/tokenizer/tokenizer.hpp>
