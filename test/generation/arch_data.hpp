// SPDX-License-Identifier: MIT
// The per-architecture reference models and llama.cpp's goldens (../shared/reference/arch), as the
// generation tests read them.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "common/model_fixtures.hpp"
#include "common/test_data.hpp"

namespace llmforge::test {

/// `arch/models/NAME.gguf`, e.g. arch_model("qwen2-f32").
inline std::filesystem::path arch_model(const std::string& name) { return reference("arch/models/" + name + ".gguf"); }
/// The golden JSON of `model` (e.g. "qwen2-f32") for prompt `p` ("p0" ... "p3").
inline nlohmann::json arch_golden(const std::string& model, const std::string& p) {
  return read_json(reference("arch/golden/" + model + "." + p + ".json"));
}
/// Its prompt's token ids.
inline std::vector<int32_t> arch_prompt_ids(const std::string& model, const std::string& p) {
  return arch_golden(model, p)["prompt_ids"].get<std::vector<int32_t>>();
}

}  // namespace llmforge::test
