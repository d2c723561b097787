// SPDX-License-Identifier: MIT
// Compile-fail test: element access with at() on a quantized-block tensor is rejected with our sentence.
// expect: element access needs a scalar DType
#include <cstdint>
#include <string_view>

#include <llmforge/tensor.hpp>

// A 32-element block type shaped like GGUF's Q8_0 (one scale, 32 int8 values).
struct TestBlockQ8 {
  struct Block {
    uint16_t scale;
    int8_t q[32];
  };
  using storage_type = Block;
  static constexpr std::size_t kBlockSize = 32;
  static constexpr llmforge::GgmlType kGgmlType = llmforge::GgmlType::Q8_0;
  static constexpr std::string_view kName = "Q8_0";
};

int main() {
  namespace lf = llmforge;
  const auto q = lf::Tensor<TestBlockQ8>::zeros(lf::Shape{2, 64});
#ifdef LLMFORGE_SHOULD_FAIL
  return static_cast<int>(q.at(0, 5).scale);
#else
  return static_cast<int>(q.row(1)[0].scale);
#endif
}
