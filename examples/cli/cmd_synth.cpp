// SPDX-License-Identifier: MIT
// `llmforge synth`: writes a random-weight GGUF model with the shapes of a real model (for benchmarks
// without downloads). Weights are seeded: each matrix holds up to 64 distinct random rows, quantized
// once and laid out in a seeded order, so even 7B-shaped files are written at disk speed.
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include <llmforge/io/gguf_reader.hpp>
#include <llmforge/io/gguf_writer.hpp>
#include <llmforge/quant.hpp>

#include "cli.hpp"
#include "common.hpp"
#include "quant_tools.hpp"

namespace llmforge::cli {
namespace {

struct Preset {
  const char* name;
  const char* arch;  ///< "llama" (also used for Qwen2 shapes: same tensors, biases omitted) or "gemma2"
  uint32_t dim, layers, heads, kv_heads, head_dim, ffn, vocab, context;
  float rope_base, rms_eps;
};

constexpr Preset kPresets[] = {
    {"tinyllama-1.1b", "llama", 2048, 22, 32, 4, 64, 5632, 32000, 2048, 10000.f, 1e-5f},
    {"llama-2-7b", "llama", 4096, 32, 32, 32, 128, 11008, 32000, 4096, 10000.f, 1e-5f},
    {"qwen2-0.5b", "llama", 896, 24, 14, 2, 64, 4864, 151936, 32768, 1000000.f, 1e-6f},
    {"gemma-2-2b", "gemma2", 2304, 26, 8, 4, 256, 9216, 256000, 8192, 10000.f, 1e-6f},
};

std::shared_ptr<const io::ArrayValue> array_of(io::ValueType t, std::vector<io::Value> items) {
  auto a = std::make_shared<io::ArrayValue>();
  a->element_type = t;
  a->items = std::move(items);
  return a;
}

// A SentencePiece-style vocabulary of `n` tokens: <unk>, <s>, </s>, the 256 byte tokens, the ASCII
// letters and digits (with and without the word-start mark), then synthetic pieces.
void add_vocab(io::GgufWriter& w, uint32_t n) {
  std::vector<io::Value> tokens, scores, types;
  auto add = [&](std::string piece, int32_t type) {
    scores.emplace_back(-static_cast<float>(tokens.size()));
    tokens.emplace_back(std::move(piece));
    types.emplace_back(type);
  };
  add("<unk>", 2);
  add("<s>", 3);
  add("</s>", 3);
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    add(buf, 6);
  }
  const std::string alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  add("\xE2\x96\x81", 1);  // U+2581, the word-start mark
  for (char c : alnum) add(std::string(1, c), 1);
  for (char c : alnum) add("\xE2\x96\x81" + std::string(1, c), 1);
  for (std::size_t i = 0; tokens.size() < n; ++i) {
    std::string piece = "\xE2\x96\x81";
    for (std::size_t v = i + alnum.size(); v; v /= alnum.size()) piece += alnum[v % alnum.size()];
    add(piece, 1);
  }
  tokens.resize(n);
  scores.resize(n);
  types.resize(n);
  w.set("tokenizer.ggml.model", std::string("llama"));
  w.set("tokenizer.ggml.tokens", array_of(io::ValueType::String, std::move(tokens)));
  w.set("tokenizer.ggml.scores", array_of(io::ValueType::F32, std::move(scores)));
  w.set("tokenizer.ggml.token_type", array_of(io::ValueType::I32, std::move(types)));
  w.set("tokenizer.ggml.unknown_token_id", uint32_t{0});
  w.set("tokenizer.ggml.bos_token_id", uint32_t{1});
  w.set("tokenizer.ggml.eos_token_id", uint32_t{2});
  w.set("tokenizer.ggml.add_bos_token", true);
}

// Fills a [rows, k] matrix of `type` with up to 64 distinct N(0, sigma) rows in a seeded order.
void fill_matrix(std::byte* out, GgmlType type, std::size_t rows, std::size_t k, float sigma, uint64_t seed) {
  const std::size_t distinct = rows < 64 ? rows : 64, rb = quant::row_bytes(type, k);
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> nd(0.f, sigma);
  std::vector<float> row(k);
  for (std::size_t r = 0; r < distinct; ++r) {
    for (auto& v : row) v = nd(rng);
    quant::quantize_row(type, row.data(), out + r * rb, k);
  }
  for (std::size_t r = distinct; r < rows; ++r) std::memcpy(out + r * rb, out + (rng() % distinct) * rb, rb);
}

int cmd_synth(const std::vector<std::string>& args) {
  po::options_description desc("options");
  std::string arch, preset_name, type, out;
  uint64_t seed = 0;
  desc.add_options()("arch", po::value(&arch), "architecture (default: the preset's own)")(
      "preset", po::value(&preset_name)->required(), "tinyllama-1.1b, llama-2-7b, qwen2-0.5b or gemma-2-2b")(
      "type", po::value(&type)->default_value("F16"), "weight type (F16, Q8_0, Q4_0, Q4_K_M, ...)")(
      "output,o", po::value(&out)->required(), "output GGUF file")("seed", po::value(&seed)->default_value(1), "random seed");
  po::variables_map vm;
  if (!parse_options("synth", "--preset NAME --type TYPE -o OUT.gguf [--seed S]", desc, args, vm)) return 0;
  const Preset* p = nullptr;
  for (const auto& c : kPresets)
    if (preset_name == c.name) p = &c;
  if (!p) throw ConfigError("synth: unknown preset '" + preset_name + "' (tinyllama-1.1b, llama-2-7b, qwen2-0.5b, gemma-2-2b)");
  if (!arch.empty() && arch != p->arch)
    throw UnsupportedError("synth: preset '" + preset_name + "' is a " + p->arch + " model; --arch " + arch + " does not fit it");
  const std::string a = p->arch;
  const bool gemma2 = a == "gemma2";
  const QuantPlan plan = parse_quant_plan(type);

  io::GgufWriter w;
  w.set("general.architecture", a);
  w.set("general.name", std::string("synthetic ") + p->name);
  if (auto ft = llama_file_type(plan.name)) w.set("general.file_type", *ft);
  w.set("general.quantization_version", uint32_t{2});
  w.set(a + ".context_length", p->context);
  w.set(a + ".embedding_length", p->dim);
  w.set(a + ".block_count", p->layers);
  w.set(a + ".feed_forward_length", p->ffn);
  w.set(a + ".attention.head_count", p->heads);
  w.set(a + ".attention.head_count_kv", p->kv_heads);
  w.set(a + ".attention.key_length", p->head_dim);
  w.set(a + ".attention.value_length", p->head_dim);
  w.set(a + ".rope.dimension_count", p->head_dim);
  w.set(a + ".rope.freq_base", p->rope_base);
  w.set(a + ".attention.layer_norm_rms_epsilon", p->rms_eps);
  w.set(a + ".vocab_size", p->vocab);
  if (gemma2) {
    w.set("gemma2.attention.sliding_window", uint32_t{4096});
    w.set("gemma2.attn_logit_softcapping", 50.0f);
    w.set("gemma2.final_logit_softcapping", 30.0f);
  }
  add_vocab(w, p->vocab);

  const std::size_t dim = p->dim, q_dim = std::size_t{p->head_dim} * p->heads, kv_dim = std::size_t{p->head_dim} * p->kv_heads,
                    ffn = p->ffn, vocab = p->vocab;
  uint64_t tensor_seed = seed * 0x9E3779B97F4A7C15ull;
  auto matrix = [&](const std::string& name, std::size_t rows, std::size_t k, float sigma) {
    const GgmlType t = fit_type(plan.type_for(name, p->layers, /*tied_output=*/gemma2), k);
    const uint64_t s = ++tensor_seed;
    w.add_tensor(name, Shape{rows, k}, t, [=](std::byte* o) { fill_matrix(o, t, rows, k, sigma, s); });
  };
  auto ones = [&](const std::string& name, std::size_t n) {
    w.add_tensor(name, Shape{n}, GgmlType::F32, [n](std::byte* o) {
      std::vector<float> v(n, 1.0f);
      std::memcpy(o, v.data(), n * 4);
    });
  };
  const float s_in = 1.f / std::sqrt(static_cast<float>(dim)), s_ffn = 1.f / std::sqrt(static_cast<float>(ffn));
  matrix("token_embd.weight", vocab, dim, 1.0f);
  for (uint32_t l = 0; l < p->layers; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    ones(b + "attn_norm.weight", dim);
    matrix(b + "attn_q.weight", q_dim, dim, s_in);
    matrix(b + "attn_k.weight", kv_dim, dim, s_in);
    matrix(b + "attn_v.weight", kv_dim, dim, s_in);
    matrix(b + "attn_output.weight", dim, q_dim, s_in);
    ones(b + "ffn_norm.weight", dim);
    if (gemma2) {
      ones(b + "post_attention_norm.weight", dim);
      ones(b + "post_ffw_norm.weight", dim);
    }
    matrix(b + "ffn_gate.weight", ffn, dim, s_in);
    matrix(b + "ffn_up.weight", ffn, dim, s_in);
    matrix(b + "ffn_down.weight", dim, ffn, s_ffn);
  }
  ones("output_norm.weight", dim);
  if (!gemma2) matrix("output.weight", vocab, dim, s_in);  // Gemma ties the output to token_embd
  w.write(out, [](std::size_t done, std::size_t total, const std::string& name) { progress_bar(done, total, name); });
  std::fprintf(stderr, "wrote %s (%s, %s)\n", out.c_str(), p->name, plan.name.c_str());
  return 0;
}

const Registration reg{"synth", "write a random-weight model with a real model's shapes (for benchmarks)", &cmd_synth};

}  // namespace
}  // namespace llmforge::cli
