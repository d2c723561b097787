// SPDX-License-Identifier: MIT
// Block formats against llama.cpp's quantization vectors: bit-exact dequantization, quantizer bytes
// (non-K types) or round-trip error (K types), and activation quantization (Q8_0/Q8_1/Q8_K).
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include <llmforge/io/gguf_reader.hpp>
#include <llmforge/quant.hpp>

#include "common/test_data.hpp"

using namespace llmforge;
namespace utf = boost::unit_test;

namespace {

struct Vectors {
  io::GgufFile file;
  GgmlType type;
  const void* bytes(const std::string& name) const { return file.data(file.require_tensor(name)); }
  const float* floats(const std::string& name) const { return static_cast<const float*>(bytes(name)); }
  std::size_t size(const std::string& name) const { return file.require_tensor(name).size; }
};

Vectors open_vectors(const std::string& type_name) {
  auto f = io::GgufFile::open(test::reference("quant-vectors/dq_" + type_name + ".gguf"));
  const GgmlType t = f.require_tensor("q").ggml_type();
  return {std::move(f), t};
}

const char* const kAllTypes[] = {"q4_0", "q4_1", "q5_0", "q5_1", "q8_0", "q2_K", "q3_K",
                                 "q4_K", "q5_K", "q6_K", "iq4_nl", "f16", "bf16"};

bool is_k(GgmlType t) { return ggml_type_info(t).block_size == 256; }

double sq_error(const float* a, const float* b, std::size_t n) {
  double e = 0;
  for (std::size_t i = 0; i < n; ++i) e += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
  return e;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(quant_formats, *utf::precondition(test::needs_file(test::reference("quant-vectors/dq_q4_0.gguf"))))

BOOST_AUTO_TEST_CASE(dequantize_bit_exact_every_type) {
  for (const char* name : kAllTypes) {
    BOOST_TEST_CONTEXT("type " << name) {
      const auto v = open_vectors(name);
      for (const std::string suffix : {"", "s"}) {
        std::vector<float> out(4 * 512);
        quant::dequantize_row(v.type, v.bytes("q" + suffix), out.data(), out.size());
        BOOST_TEST(std::memcmp(out.data(), v.floats("dq" + suffix), out.size() * 4) == 0, "dq" << suffix << " differs");
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(quantize_reproduces_reference) {
  for (const char* name : kAllTypes) {
    BOOST_TEST_CONTEXT("type " << name) {
      const auto v = open_vectors(name);
      for (const std::string suffix : {"", "s"}) {
        const std::size_t bytes = v.size("q" + suffix);
        BOOST_TEST_REQUIRE(bytes == quant::row_bytes(v.type, 4 * 512));
        std::vector<unsigned char> mine(bytes);
        const float* x = v.floats("x" + suffix);
        quant::quantize_row(v.type, x, mine.data(), 4 * 512);
        const bool same = std::memcmp(mine.data(), v.bytes("q" + suffix), bytes) == 0;
        if (!is_k(v.type)) {
          BOOST_TEST(same, "q" << suffix << " bytes differ");
        } else {
          // Round-trip error per row no worse than the reference bytes' (to 1%).
          std::vector<float> dq(4 * 512);
          quant::dequantize_row(v.type, mine.data(), dq.data(), dq.size());
          for (int r = 0; r < 4; ++r) {
            const double e_mine = sq_error(dq.data() + r * 512, x + r * 512, 512);
            const double e_ref = sq_error(v.floats("dq" + suffix) + r * 512, x + r * 512, 512);
            BOOST_TEST(e_mine <= e_ref * 1.01 + 1e-30, "q" << suffix << " row " << r << ": " << e_mine << " vs " << e_ref);
          }
          BOOST_TEST_MESSAGE(name << " q" << suffix << (same ? ": bytes identical" : ": bytes differ (error within 1%)"));
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(iq4_nl_row_reference_quantizer) {
  const auto v = open_vectors("iq4_nl");
  std::vector<BlockIQ4_NL> mine(4 * 512 / 32);
  for (std::size_t b = 0; b < mine.size(); ++b) QuantTraits<IQ4_NL>::quantize_block(v.floats("x") + 32 * b, mine[b], -1);
  BOOST_TEST(std::memcmp(mine.data(), v.bytes("q_ref"), mine.size() * sizeof(BlockIQ4_NL)) == 0);
}

BOOST_AUTO_TEST_CASE(activation_quantization_matches) {
  for (const char* name : kAllTypes) {
    BOOST_TEST_CONTEXT("type " << name) {
      const auto v = open_vectors(name);
      const float* a = v.floats("a");
      const auto& info = v.file.require_tensor("a_q");
      std::vector<unsigned char> mine(info.size);
      switch (info.ggml_type()) {
        case GgmlType::Q8_0:
          QuantTraits<Q8_0>::quantize_activation(a, reinterpret_cast<BlockQ8_0*>(mine.data()), 512);
          break;
        case GgmlType::Q8_1:
          QuantTraits<Q8_1>::quantize_activation(a, reinterpret_cast<BlockQ8_1*>(mine.data()), 512);
          break;
        case GgmlType::Q8_K:
          QuantTraits<Q8_K>::quantize_activation(a, reinterpret_cast<BlockQ8_K*>(mine.data()), 512);
          break;
        default:
          quant::quantize_row(info.ggml_type(), a, mine.data(), 512);
      }
      BOOST_TEST(std::memcmp(mine.data(), v.bytes("a_q"), info.size) == 0, "a_q (" << info.type_name() << ") differs");
      std::vector<float> adq(512);
      quant::dequantize_row(info.ggml_type(), v.bytes("a_q"), adq.data(), 512);
      BOOST_TEST(std::memcmp(adq.data(), v.floats("a_dq"), 512 * 4) == 0, "a_dq differs");
    }
  }
}

BOOST_AUTO_TEST_CASE(bad_sizes_and_types_throw) {
  std::vector<float> x(33);
  std::vector<unsigned char> out(64);
  BOOST_CHECK_THROW(quant::quantize_row(GgmlType::Q4_0, x.data(), out.data(), 33), ShapeError);
  BOOST_CHECK_THROW(quant::dequantize_row(GgmlType::IQ2_XXS, out.data(), x.data(), 256), UnsupportedError);
}

BOOST_AUTO_TEST_SUITE_END()

static_assert(Quantizable<Q4_0> && Quantizable<Q4_K> && Quantizable<IQ4_NL> && Quantizable<F16> && Quantizable<Q8_K>);

// llama-quantize --pure of tiny512-f32 (no importance matrix) must come out byte for byte.
BOOST_AUTO_TEST_CASE(requantizing_tiny512_matches_llama_quantize,
                     *utf::precondition(test::needs_file(test::reference("models/tiny512-f32.gguf")))) {
  const auto src = io::GgufFile::open(test::reference("models/tiny512-f32.gguf"));
  for (const char* variant : {"f16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q2_k", "q6_k", "iq4_nl"}) {
    const auto ref = io::GgufFile::open(test::reference(std::string("models/tiny512-") + variant + ".gguf"));
    std::size_t compared = 0;
    for (const auto& t : ref.tensors()) {
      if (t.shape.size() != 2) continue;
      const auto& s = src.require_tensor(t.name);
      std::vector<unsigned char> mine(t.size);
      const std::size_t k = t.shape[1], rb = quant::row_bytes(t.ggml_type(), k);
      for (std::size_t r = 0; r < t.shape[0]; ++r)
        quant::quantize_row(t.ggml_type(), reinterpret_cast<const float*>(src.data(s)) + r * k, mine.data() + r * rb, k);
      BOOST_TEST(std::memcmp(mine.data(), ref.data(t), t.size) == 0, variant << " " << t.name << " differs");
      ++compared;
    }
    BOOST_TEST(compared == 30u, variant);
  }
}

// The per-tensor types of `llmforge quantize` / `synth` plans are llama-quantize's: its _M mixes (Q6_K
// attn_v / ffn_down in the layers use_more_bits picks, Q5_K / Q4_K for Q3_K_M, Q6_K output) and --pure
// for the plain types, as the reference tiny512 variants were made.
BOOST_AUTO_TEST_CASE(quantization_plans_match_llama_quantize_types,
                     *utf::precondition(test::needs_file(test::reference("models/tiny512-q4_k_m.gguf")))) {
  for (const char* variant : {"q3_k_m", "q4_k_m", "q5_k_m", "q4_0", "q2_k", "q6_k", "iq4_nl"}) {
    const auto ref = io::GgufFile::open(test::reference(std::string("models/tiny512-") + variant + ".gguf"));
    const quant::QuantPlan plan = quant::parse_quant_plan(variant);
    std::size_t n_layers = 0, compared = 0, promoted = 0;
    for (const auto& t : ref.tensors())
      if (t.name.rfind("blk.", 0) == 0) n_layers = std::max<std::size_t>(n_layers, std::stoul(t.name.substr(4)) + 1);
    BOOST_TEST(n_layers == 4u);
    for (const auto& t : ref.tensors()) {
      if (t.shape.size() != 2) continue;
      const GgmlType want = quant::fit_type(plan.type_for(t.name, n_layers), t.shape[1]);
      BOOST_TEST((want == t.ggml_type()), variant << " " << t.name << ": plan " << ggml_type_info(want).name << ", llama-quantize "
                                               << ggml_type_info(t.ggml_type()).name);
      ++compared;
      promoted += t.ggml_type() != plan.base;
    }
    BOOST_TEST(compared == 30u, variant);
    if (plan.mix) BOOST_TEST(promoted >= 5u, variant);  // the mixes really differ from the base type
  }
  BOOST_CHECK_THROW(quant::parse_quant_plan("q4_0_m"), ConfigError);
  BOOST_CHECK_THROW(quant::parse_quant_plan("q9_k"), ConfigError);
}
