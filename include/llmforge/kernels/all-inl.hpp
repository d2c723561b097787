// SPDX-License-Identifier: MIT
// Lists every per-target kernel body; foreach_target re-includes this file once per SIMD target.
// (No include guard on purpose: each -inl file carries its own per-target toggle guard.)
#include <llmforge/kernels/attention-inl.hpp>
#include <llmforge/kernels/matmul-inl.hpp>
#include <llmforge/kernels/matmul_quant-inl.hpp>
#include <llmforge/kernels/nn_ops-inl.hpp>
#include <llmforge/kernels/quant_act-inl.hpp>
#include <llmforge/kernels/quant_packed-inl.hpp>
#include <llmforge/kernels/tensor_ops-inl.hpp>
