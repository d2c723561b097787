// SPDX-License-Identifier: MIT
// Every architecture against its reference (../shared/reference/arch): llama.cpp b4748 golden outputs,
// or the NumPy float64 oracle for qwen3/gemma3. Tolerances follow that folder's README section 5.
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "common/model_fixtures.hpp"

namespace lf = llmforge;
namespace t = llmforge::test;
namespace bdata = boost::unit_test::data;

namespace {

const char* const kF32Models[] = {"llama3rope", "gpt2", "qwen2", "gemma", "gemma2", "phi3", "starcoder2", "qwen3", "gemma3"};
const char* const kQuantModels[] = {"llama3rope-q8_0", "gpt2-q8_0", "qwen2-q8_0", "gemma-q8_0", "gemma2-q8_0",
                                    "phi3-q8_0", "phi3-q4_k_m", "starcoder2-q8_0"};
const char* const kPrompts[] = {"p0", "p1", "p2", "p3"};

std::filesystem::path arch_ref(const std::string& rel) { return t::reference("arch/" + rel); }

bool uses_gelu(const std::string& m) {
  return m.rfind("gpt2", 0) == 0 || m.rfind("starcoder2", 0) == 0 || m.rfind("gemma", 0) == 0;
}

/// Argmax agreement under teacher forcing: feed prompt + `fed`, compare each step's argmax with `want`.
/// Returns {mismatches, mismatches where the reference's top-2 gap was at least 1e-3}.
std::pair<int, int> forced_agreement(const lf::Model& m, const std::vector<int32_t>& prompt, const std::vector<int32_t>& fed,
                                     const nlohmann::json& steps, lf::KvType cache = lf::KvType::F32) {
  std::vector<int32_t> seq = prompt;
  seq.insert(seq.end(), fed.begin(), fed.end() - 1);
  const auto all = t::all_logits(m, seq, 2, cache);
  const std::size_t V = m.config().vocab_size;
  int bad = 0, bad_clear = 0;
  for (std::size_t s = 0; s < fed.size(); ++s) {
    const std::size_t row = prompt.size() - 1 + s;
    const int32_t got = t::argmax(std::span<const float>(all.data() + row * V, V));
    const auto& top = steps[s]["top8"];
    const int32_t want = steps[s].contains("argmax") ? steps[s]["argmax"].get<int32_t>() : steps[s]["id"].get<int32_t>();
    if (got != want) {
      ++bad;
      if (top[0][1].get<double>() - top[1][1].get<double>() >= 1e-3) ++bad_clear;
    }
  }
  return {bad, bad_clear};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(architectures)

BOOST_DATA_TEST_CASE(f32_logits_and_greedy_match_reference, bdata::make(kF32Models) * bdata::make(kPrompts), model, prompt) {
  const auto path = arch_ref(std::string("models/") + model + "-f32.gguf");
  if (!std::filesystem::exists(path)) {
    BOOST_TEST_MESSAGE("skipped: " << path << " is not present");
    return;
  }
  const std::string base = std::string("golden/") + model + "-f32." + prompt;
  const auto gold = t::read_json(arch_ref(base + ".json"));
  auto m = t::cached_model(path);
  const auto ids = gold["prompt_ids"].get<std::vector<int32_t>>();
  const std::string text = t::read_file(arch_ref(std::string("prompts/") + prompt + ".txt"));
  BOOST_TEST(m->tokenizer().encode(text) == ids, boost::test_tools::per_element());

  const auto all = t::all_logits(*m, ids);
  const auto want = t::read_f32(arch_ref(base + ".logits_all.f32"));
  BOOST_REQUIRE(all.size() == want.size());
  // Tolerance relative to each position's logit range: 1e-4 without GELU. With GELU we evaluate it
  // like llama.cpp's CPU backend (fp16 table, nn::GELUF16); values still differ where an activation sits
  // on an fp16 rounding boundary (README: ~2e-4 of the range), and gemma3's NumPy oracle uses the exact
  // GELU (~6e-4 of the range apart from the table form), hence 1e-3.
  const double rel = uses_gelu(model) ? 1e-3 : 1e-4;
  const std::size_t V = m->config().vocab_size;
  double worst = 0;
  for (std::size_t p = 0; p < ids.size(); ++p) {
    const auto b = want.begin() + static_cast<std::ptrdiff_t>(p * V);
    const auto [lo, hi] = std::minmax_element(b, b + static_cast<std::ptrdiff_t>(V));
    for (std::size_t i = 0; i < V; ++i) worst = std::max<double>(worst, std::abs(all[p * V + i] - want[p * V + i]) / (*hi - *lo));
  }
  BOOST_TEST_MESSAGE(model << " " << prompt << ": max |diff| / range = " << worst);
  BOOST_TEST(worst <= rel);

  lf::Generator gen(m, {.context = 128, .threads = 2, .cache_type_k = lf::KvType::F32, .cache_type_v = lf::KvType::F32});
  auto r = gen.generate_tokens(ids, {.max_tokens = 16, .stop_at_eos = false});
  const auto greedy = gold["greedy_ids"].get<std::vector<int32_t>>();
  if (r.tokens != greedy) {  // allowed only through a near-tie: check step by step under teacher forcing
    auto [bad, bad_clear] = forced_agreement(*m, ids, greedy, gold["greedy"]);
    BOOST_TEST(bad <= 1);
    BOOST_TEST(bad_clear == 0);
  }
}

// Both kernel modes: exact (llama.cpp's summation order) to cosine 0.9999; the default (repacked
// weights, another block order) to 0.9995, since a ~1e-7 change of a product can move an activation
// across a rounding boundary of the next Q8 quantization (measured: gemma2-q8_0 0.99980-0.99989, the
// others unchanged); see tiny512_variants_test.cpp for the full argument.
BOOST_DATA_TEST_CASE(quantized_logits_and_forced_greedy_match_reference,
                     bdata::make(kQuantModels) * bdata::make(kPrompts) * bdata::make({true, false}), model, prompt, exact) {
  const auto path = arch_ref(std::string("models/") + model + ".gguf");
  if (!std::filesystem::exists(path)) {
    BOOST_TEST_MESSAGE("skipped: " << path << " is not present");
    return;
  }
  const std::string base = std::string("golden/") + model + "." + prompt;
  const auto gold = t::read_json(arch_ref(base + ".json"));
  auto m = t::cached_model(path, exact);
  const auto ids = gold["prompt_ids"].get<std::vector<int32_t>>();
  const auto all = t::all_logits(*m, ids);
  const std::size_t V = m->config().vocab_size;
  const std::vector<float> last(all.end() - static_cast<std::ptrdiff_t>(V), all.end());
  const auto want = t::read_f32(arch_ref(base + ".logits_last.f32"));
  const double cos = t::cosine(last, want);
  BOOST_TEST_MESSAGE(model << " " << prompt << (exact ? " exact" : " default") << ": cosine " << cos);
  BOOST_TEST(cos >= (exact ? 0.9999 : 0.9995));
  BOOST_TEST(t::argmax(last) == t::argmax(want));
  auto [bad, bad_clear] = forced_agreement(*m, ids, gold["forced_ids"].get<std::vector<int32_t>>(), gold["forced"]);
  BOOST_TEST(bad <= 1);
}

// The default F16 KV cache (and Q8_0) against the same references, which llama.cpp computed with an
// F32 cache: the cache's rounding is the only extra error (the tiled attention with an F32 cache is held
// to the F32 test above). Last-position cosine and teacher-forced greedy agreement over the 16 greedy
// steps. Measured on these models: F16 cosine >= 0.999999, at most one flipped step; Q8_0 cosine
// >= 0.99955 and up to two flipped steps (gpt2 p1, phi3 p3: near-ties under a ~0.4% rounding of keys
// and values).
BOOST_DATA_TEST_CASE(reduced_precision_kv_cache_stays_close_to_reference,
                     bdata::make(kF32Models) * bdata::make(kPrompts) * bdata::make({"f16", "q8_0"}),
                     model, prompt, cache_name) {
  const lf::KvType cache = lf::parse_kv_type(cache_name);
  const auto path = arch_ref(std::string("models/") + model + "-f32.gguf");
  if (!std::filesystem::exists(path)) {
    BOOST_TEST_MESSAGE("skipped: " << path << " is not present");
    return;
  }
  auto m = t::cached_model(path);
  if (cache == lf::KvType::Q8_0 && m->config().head_dim % 32) {
    BOOST_CHECK_THROW((void)m->new_session(t::reference_session(64, 2, cache)), lf::ConfigError);
    return;
  }
  const std::string base = std::string("golden/") + model + "-f32." + prompt;
  const auto gold = t::read_json(arch_ref(base + ".json"));
  const auto ids = gold["prompt_ids"].get<std::vector<int32_t>>();
  const auto all = t::all_logits(*m, ids, 2, cache);
  const std::size_t V = m->config().vocab_size;
  const std::vector<float> last(all.end() - static_cast<std::ptrdiff_t>(V), all.end());
  const auto want = t::read_f32(arch_ref(base + ".logits_last.f32"));
  const double cos = t::cosine(last, want);
  BOOST_TEST_MESSAGE(model << " " << prompt << " kv " << lf::kv_type_name(cache) << ": cosine " << cos);
  BOOST_TEST(cos >= (cache == lf::KvType::F16 ? 0.99999 : 0.999));
  auto [bad, bad_clear] = forced_agreement(*m, ids, gold["greedy_ids"].get<std::vector<int32_t>>(), gold["greedy"], cache);
  BOOST_TEST(bad <= (cache == lf::KvType::F16 ? 1 : 2));
}

BOOST_AUTO_TEST_CASE(unknown_architecture_lists_supported_ones) {
  try {
    (void)lf::model_registry().find("mamba", "x.gguf");
    BOOST_FAIL("no error");
  } catch (const lf::UnsupportedError& e) {
    const std::string msg = e.what();
    BOOST_TEST(msg.find("unknown architecture 'mamba'") != std::string::npos);
    for (const char* a : {"llama", "gpt2", "qwen2", "qwen3", "gemma", "gemma2", "gemma3", "phi3", "starcoder2"})
      BOOST_TEST(msg.find(a) != std::string::npos);
  }
}

BOOST_AUTO_TEST_SUITE_END()
