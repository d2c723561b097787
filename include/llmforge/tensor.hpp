// SPDX-License-Identifier: MIT
// Aggregator for tensor/: Tensor<DType, Backend>, creation, views, eager operations, conversion and the arena.
/// @defgroup tensor Tensors
/// `Tensor<DType, Backend>`: compile-time element type and backend, run-time shape and strides; NumPy-like
/// creation, zero-copy views, eager operations (broadcast arithmetic, unary math, reductions, softmax, norms,
/// matmul, concat/stack/split, where, top-k, gather/embedding), dtype conversion and an arena allocator.
/// See docs/tensor.md for a tour.
#pragma once
#include <llmforge/tensor/shape.hpp>
#include <llmforge/tensor/tensor.hpp>
#include <llmforge/tensor/creation.hpp>
#include <llmforge/tensor/elementwise.hpp>
#include <llmforge/tensor/reduce.hpp>
#include <llmforge/tensor/matmul.hpp>
#include <llmforge/tensor/manip.hpp>
#include <llmforge/tensor/convert.hpp>
#include <llmforge/tensor/arena.hpp>
