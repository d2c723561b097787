// SPDX-License-Identifier: MIT
// ModelConfig and LayerConfig moved to core/config.hpp (kv/ and io/ use them without nn/); this
// header stays so existing includes keep working.
#pragma once

#include <llmforge/core/config.hpp>
