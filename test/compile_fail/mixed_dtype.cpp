// SPDX-License-Identifier: MIT
// Compile-fail test: adding an F32 tensor to an F16 tensor without an explicit conversion is rejected with our sentence.
// expect: operands of this tensor op have different DTypes
#include <llmforge/tensor.hpp>

int main() {
  namespace lf = llmforge;
  const auto a = lf::zeros<lf::F32>(lf::Shape{2, 2});
  const auto b = lf::zeros<lf::F16>(lf::Shape{2, 2});
#ifdef LLMFORGE_SHOULD_FAIL
  const auto c = lf::add(a, b);
#else
  const auto c = lf::add(a, lf::to_dtype<lf::F32>(b));
#endif
  return static_cast<int>(c.numel());
}
