// SPDX-License-Identifier: MIT
// The README's embedding example: load a model, generate with a sampler, stream the text.
// Build in-tree (it is built with the examples) or standalone:
//   cmake -S examples/embed -B build-embed -DCMAKE_PREFIX_PATH=<llmforge prefix> && cmake --build build-embed
// Run: build/release/bin/embed_example models/stories260K.gguf
#include <llmforge/llmforge.hpp>
#include <cstdio>

int main(int argc, char** argv) try {
  namespace lf = llmforge;
  auto model = lf::load_model(argc > 1 ? argv[1] : "models/stories260K.gguf");  // picks the architecture
  lf::Generator gen(model, {.context = 512, .threads = 2});
  auto sampler = lf::SamplerChain{}.top_k(40).top_p(0.95f).temperature(0.8f).seed(42);
  auto result = gen.generate("Once upon a time", {.max_tokens = 64, .sampler = sampler},
                             [](std::string_view piece) { std::fwrite(piece.data(), 1, piece.size(), stdout); });
  std::printf("\n%.1f tokens/s\n", result.generate_tps());
} catch (const llmforge::Error& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
