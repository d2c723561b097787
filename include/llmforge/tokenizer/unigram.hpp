// SPDX-License-Identifier: MIT
// Placeholder for the UnigramEncoder (being written).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include <llmforge/core/error.hpp>
#include <llmforge/tokenizer/vocab.hpp>

namespace llmforge::tokenizer {

class UnigramEncoder {
 public:
  explicit UnigramEncoder(const Vocab& v) { throw TokenizerError(v.where() + "tokenizer model '" + v.model_name + "' is not supported yet"); }
  void encode(std::string_view, std::vector<int32_t>&) const {}
};

}  // namespace llmforge::tokenizer
