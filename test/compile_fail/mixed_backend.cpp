// SPDX-License-Identifier: MIT
// Compile-fail test: an op whose operands live on different Backends is rejected with our sentence.
// expect: operands of this tensor op live on different Backends
#include <cstddef>
#include <cstdlib>
#include <string_view>

#include <llmforge/tensor.hpp>

// A second backend, as a future GPU backend would declare it (memory here is plain host memory).
struct FakeGpu {
  static constexpr std::string_view kName = "fake-gpu";
  static void* allocate(std::size_t n) { return std::malloc(n ? n : 1); }
  static void deallocate(void* p) { std::free(p); }
};

int main() {
  namespace lf = llmforge;
  const auto a = lf::zeros<lf::F32>(lf::Shape{4});
  const auto g = lf::Tensor<lf::F32, FakeGpu>::zeros(lf::Shape{4});
#ifdef LLMFORGE_SHOULD_FAIL
  const auto c = lf::mul(a, g);
#else
  const auto c = lf::mul(a, a);
#endif
  return static_cast<int>(c.numel() + g.numel());
}
