// SPDX-License-Identifier: MIT
// A user-defined architecture in the user's own translation unit: a LLaMA variant with its own
// activation policy and tensor table, registered and run without touching any library header.
// Build: part of the examples; standalone: cmake -S examples/custom_model -B b -DCMAKE_PREFIX_PATH=<prefix>
// Run:   custom_model models/stories260K.gguf "Once upon a time"
#include <cmath>
#include <cstdio>

#include <llmforge/llmforge.hpp>

namespace lf = llmforge;
using lf::nn::Role;

// 1. A component policy of our own: SiLU written out (any struct with `static float apply(float)`).
struct MySiLU {
  static float apply(float x) noexcept { return x / (1.0f + std::exp(-x)); }
};

// 2. Where our tensors live in a GGUF file (here: the usual LLaMA names; optional rows may be absent).
inline constexpr lf::nn::TensorName kMyTensors[] = {
    {Role::TokenEmbedding, "token_embd.weight", ""},      {Role::OutputNorm, "output_norm.weight", ""},
    {Role::Output, "output.weight", "", lf::nn::Presence::Optional},
    {Role::AttnNorm, "blk.{}.attn_norm.weight", ""},      {Role::AttnQ, "blk.{}.attn_q.weight", ""},
    {Role::AttnK, "blk.{}.attn_k.weight", ""},            {Role::AttnV, "blk.{}.attn_v.weight", ""},
    {Role::AttnOutput, "blk.{}.attn_output.weight", ""},  {Role::FfnNorm, "blk.{}.ffn_norm.weight", ""},
    {Role::FfnGate, "blk.{}.ffn_gate.weight", ""},        {Role::FfnUp, "blk.{}.ffn_up.weight", ""},
    {Role::FfnDown, "blk.{}.ffn_down.weight", ""},
};

// 3. The architecture: a name, the table, a layer composed from policies, and how to read the config.
struct MyArch {
  static constexpr std::string_view kArchName = "my-llama";
  static constexpr std::span<const lf::nn::TensorName> kTensors = kMyTensors;
  using Layer = lf::nn::DecoderLayer<lf::nn::RMSNorm, lf::nn::GroupedQueryAttention<lf::nn::RoPE<lf::RopeStyle::Normal>>,
                                     lf::nn::GatedFFN<MySiLU>>;
  using OutputNorm = lf::nn::RMSNorm;
  static lf::ModelConfig read_config(const lf::io::Metadata& md) {
    return lf::models::read_common_config(md, md.get_string("general.architecture"));  // reuse the file's keys
  }
};

int main(int argc, char** argv) try {
  lf::register_architecture<MyArch>();  // 4. make it known to load_model()
  auto model = lf::load_model(argc > 1 ? argv[1] : "models/stories260K.gguf", {.architecture = "my-llama"});
  lf::Generator gen(model, {.context = 256, .threads = 2});
  const std::string prompt = argc > 2 ? argv[2] : "Once upon a time";
  std::fputs(prompt.c_str(), stdout);
  gen.generate(prompt, {.max_tokens = 48}, [](std::string_view s) { std::fwrite(s.data(), 1, s.size(), stdout); });
  std::puts("");
} catch (const lf::Error& e) {
  std::fprintf(stderr, "custom_model: %s\n", e.what());
  return 1;
}
