// SPDX-License-Identifier: MIT
// Aggregator for backend/: backend tags, aligned allocation and the thread pool.
/// @defgroup backend Backends
/// The `Cpu` backend tag, its aligned allocator and the persistent `ThreadPool`.
#pragma once
#include <llmforge/backend/bandwidth.hpp>
#include <llmforge/backend/cpu.hpp>
#include <llmforge/backend/thread_pool.hpp>
