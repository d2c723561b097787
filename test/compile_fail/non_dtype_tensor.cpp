// SPDX-License-Identifier: MIT
// Compile-fail test: a plain C++ type (float) as the Tensor element parameter is rejected with our sentence.
// expect: D must be a DType tag
#include <llmforge/tensor/tensor.hpp>

int main() {
#ifdef LLMFORGE_SHOULD_FAIL
  llmforge::Tensor<float> t;
#else
  llmforge::Tensor<llmforge::F32> t;
#endif
  return static_cast<int>(t.numel());
}
