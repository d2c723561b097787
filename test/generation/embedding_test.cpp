// SPDX-License-Identifier: MIT
// Tests for generation/embedding.hpp: pooled, L2-normalized hidden states. The hidden states are
// checked against llama.cpp's golden logits (hidden · output matrix = logits), the pooling modes
// against their definitions, plus determinism and batch = single.
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include <llmforge/llmforge.hpp>

#include "common/model_fixtures.hpp"
#include "common/test_data.hpp"

namespace lf = llmforge;
namespace t = llmforge::test;
namespace utf = boost::unit_test;

namespace {

std::filesystem::path stories() { return t::source_dir() / "models/stories260K.gguf"; }
std::filesystem::path tiny512() { return t::reference("models/tiny512-f32.gguf"); }

double l2(const std::vector<float>& v) {
  double s = 0;
  for (float x : v) s += double(x) * x;
  return std::sqrt(s);
}

/// The unpooled, unnormalized final hidden states of `ids` (rows x model_dim), from a fresh session.
std::vector<float> hidden(const lf::Model& m, const std::vector<int32_t>& ids) {
  auto s = m.new_session(t::reference_session(64, 1));  // F32 KV cache, as llama.cpp's reference runs
  std::vector<float> h(ids.size() * m.config().model_dim);
  m.hidden_states(s, ids, h);
  return h;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(embedding)

BOOST_AUTO_TEST_CASE(parse_pooling_accepts_the_three_names_and_rejects_others) {
  BOOST_TEST(lf::parse_pooling("mean") == lf::Pooling::Mean);
  BOOST_TEST(lf::parse_pooling("last") == lf::Pooling::Last);
  BOOST_TEST(lf::parse_pooling("cls") == lf::Pooling::Cls);
  BOOST_CHECK_EXCEPTION((void)lf::parse_pooling("max"), lf::ConfigError, [](const lf::ConfigError& e) {
    return std::string(e.what()) == "pooling must be mean, last or cls, got 'max'";
  });
}

BOOST_AUTO_TEST_CASE(pool_hidden_states_computes_mean_last_and_first_row) {
  const std::vector<float> h{1, 2, 3, 4, 5, 6};  // 3 rows of 2
  std::vector<float> out(2);
  lf::pool_hidden_states(h, 3, 2, lf::Pooling::Mean, false, out);
  BOOST_TEST(out == (std::vector<float>{3, 4}), boost::test_tools::per_element());
  lf::pool_hidden_states(h, 3, 2, lf::Pooling::Last, false, out);
  BOOST_TEST(out == (std::vector<float>{5, 6}), boost::test_tools::per_element());
  lf::pool_hidden_states(h, 3, 2, lf::Pooling::Cls, false, out);
  BOOST_TEST(out == (std::vector<float>{1, 2}), boost::test_tools::per_element());
  lf::pool_hidden_states(h, 3, 2, lf::Pooling::Cls, true, out);  // (1, 2) / sqrt(5)
  BOOST_TEST(out[0] == 1 / std::sqrt(5.0f), boost::test_tools::tolerance(1e-6f));
  BOOST_TEST(out[1] == 2 / std::sqrt(5.0f), boost::test_tools::tolerance(1e-6f));
  const std::vector<float> zero(4, 0.0f);
  lf::pool_hidden_states(zero, 2, 2, lf::Pooling::Mean, true, out);  // a zero vector stays zero, no NaN
  BOOST_TEST(out == (std::vector<float>{0, 0}), boost::test_tools::per_element());
  BOOST_CHECK_THROW(lf::pool_hidden_states({}, 0, 2, lf::Pooling::Mean, true, out), lf::ConfigError);
}

// Independent reference: llama.cpp's golden last-position logits of tiny512-f32 are the output matrix
// times the last final-normed hidden state, so our hidden state times the file's output.weight must
// reproduce them (README tolerance for f32: ~1e-4 absolute).
BOOST_AUTO_TEST_CASE(hidden_states_times_output_matrix_give_llama_cpp_logits, *utf::precondition(t::needs_file(tiny512()))) {
  const auto& m = *t::cached_model(tiny512());
  const auto gguf = lf::io::GgufFile::open(tiny512());
  const auto& out = gguf.require_tensor("output.weight");
  BOOST_REQUIRE(out.ggml_type() == lf::GgmlType::F32);
  const std::size_t d = m.config().model_dim, vocab = m.config().vocab_size;
  BOOST_REQUIRE(out.numel() == d * vocab);
  std::vector<float> w(d * vocab);
  std::memcpy(w.data(), gguf.data(out), w.size() * 4);
  for (const char* p : {"p0", "p1"}) {
    BOOST_TEST_CONTEXT("prompt " << p) {
      const auto gold = t::read_json(t::reference(std::string("golden/tiny512-f32.") + p + ".json"));
      const auto ids = gold["prompt_ids"].get<std::vector<int32_t>>();
      const auto want = t::read_f32(t::reference(std::string("golden/tiny512-f32.") + p + ".logits_last.f32"));
      const auto h = hidden(m, ids);
      lf::Embedder e(t::cached_model(tiny512()), t::reference_session(64, 1));
      const auto last = e.embed_tokens(ids, {.pooling = lf::Pooling::Last, .normalize = false}).values;
      BOOST_TEST(std::vector<float>(h.end() - d, h.end()) == last, boost::test_tools::per_element());
      std::vector<float> logits(vocab);
      for (std::size_t v = 0; v < vocab; ++v) {
        double acc = 0;
        for (std::size_t i = 0; i < d; ++i) acc += double(w[v * d + i]) * last[i];
        logits[v] = static_cast<float>(acc);
      }
      BOOST_TEST(t::max_abs_diff(logits, want) < 1e-4);
    }
  }
}

BOOST_AUTO_TEST_CASE(embeddings_are_unit_length_for_every_pooling, *utf::precondition(t::needs_file(stories()))) {
  lf::Embedder e(t::cached_model(stories()), {.context = 128, .threads = 1});
  for (auto p : {lf::Pooling::Mean, lf::Pooling::Last, lf::Pooling::Cls}) {
    BOOST_TEST_CONTEXT("pooling " << lf::to_string(p)) {
      const auto v = e.embed("Once upon a time, there was a little girl.", {.pooling = p}).values;
      BOOST_TEST(v.size() == e.dim());
      BOOST_TEST(l2(v) == 1.0, boost::test_tools::tolerance(1e-5));
      for (float x : v) BOOST_TEST(std::isfinite(x));
    }
  }
}

BOOST_AUTO_TEST_CASE(pooling_modes_pool_the_hidden_states_as_defined, *utf::precondition(t::needs_file(stories()))) {
  const auto model = t::cached_model(stories());
  lf::Embedder e(model, t::reference_session(64, 1));  // the session settings hidden() uses
  const std::string text = "The cat sat on the mat.";
  const auto ids = model->tokenizer().encode(text);
  const auto h = hidden(*model, ids);
  const std::size_t d = e.dim(), n = ids.size();
  std::vector<float> mean(d, 0.0f);
  for (std::size_t i = 0; i < d; ++i) {
    double s = 0;
    for (std::size_t r = 0; r < n; ++r) s += h[r * d + i];
    mean[i] = static_cast<float>(s / n);
  }
  const auto m = e.embed(text, {.pooling = lf::Pooling::Mean, .normalize = false}).values;
  const auto last = e.embed(text, {.pooling = lf::Pooling::Last, .normalize = false}).values;
  const auto cls = e.embed(text, {.pooling = lf::Pooling::Cls, .normalize = false}).values;
  BOOST_TEST(t::max_abs_diff(m, mean) < 1e-6);
  BOOST_TEST(last == std::vector<float>(h.end() - d, h.end()), boost::test_tools::per_element());
  BOOST_TEST(cls == std::vector<float>(h.begin(), h.begin() + d), boost::test_tools::per_element());
  BOOST_TEST(t::max_abs_diff(m, last) > 1e-3);  // the modes really differ
  BOOST_TEST(t::max_abs_diff(last, cls) > 1e-3);
  // A causal model's first (BOS) state sees only BOS: CLS pooling is the same for any text.
  const auto cls2 = e.embed("A dog ran in the park.", {.pooling = lf::Pooling::Cls}).values;
  const auto cls1 = e.embed(text, {.pooling = lf::Pooling::Cls}).values;
  BOOST_TEST(t::max_abs_diff(cls1, cls2) < 1e-6);
}

BOOST_AUTO_TEST_CASE(embeddings_are_deterministic_and_batch_equals_single, *utf::precondition(t::needs_file(stories()))) {
  lf::Embedder e(t::cached_model(stories()), {.context = 128, .threads = 2});
  const std::vector<std::string> texts{"Once upon a time", "The little dog was happy.", "Tom and Lily went to the park to play."};
  const auto batch = e.embed_batch(texts);
  BOOST_REQUIRE(batch.size() == texts.size());
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const auto single = e.embed(texts[i]);
    BOOST_TEST(single.values == batch[i].values, boost::test_tools::per_element());
    BOOST_TEST(single.tokens == batch[i].tokens);
    BOOST_TEST(e.embed(texts[i]).values == single.values, boost::test_tools::per_element());
  }
  // Reversed order gives the same vectors: nothing leaks from one text to the next.
  const std::vector<std::string> reversed(texts.rbegin(), texts.rend());
  const auto back = e.embed_batch(reversed);
  for (std::size_t i = 0; i < texts.size(); ++i)
    BOOST_TEST(back[texts.size() - 1 - i].values == batch[i].values, boost::test_tools::per_element());
}

// Sanity of meaning on a real (tiny) trained model: two sentences that differ in one word are closer
// to each other than to an unrelated string of symbols.
BOOST_AUTO_TEST_CASE(similar_sentences_are_closer_than_unrelated_text, *utf::precondition(t::needs_file(stories()))) {
  lf::Embedder e(t::cached_model(stories()), {.context = 128, .threads = 1});
  const auto a = e.embed("Once upon a time, there was a little girl named Lily.").values;
  const auto b = e.embed("Once upon a time, there was a little boy named Tim.").values;
  const auto c = e.embed("1234 %%% ### zzz qqq 9876").values;
  BOOST_TEST(lf::cosine_similarity(a, b) > lf::cosine_similarity(a, c));
  BOOST_TEST(lf::cosine_similarity(a, b) > lf::cosine_similarity(b, c));
  BOOST_TEST(lf::cosine_similarity(a, a) == 1.0, boost::test_tools::tolerance(1e-6));
}

BOOST_AUTO_TEST_CASE(empty_or_too_long_input_is_rejected, *utf::precondition(t::needs_file(stories()))) {
  lf::Embedder e(t::cached_model(stories()), {.context = 8, .threads = 1});
  BOOST_CHECK_THROW((void)e.embed("", {.add_special = false}), lf::ConfigError);
  BOOST_CHECK_EXCEPTION((void)e.embed("Once upon a time there was a little girl named Lily"), lf::ConfigError,
                        [](const lf::ConfigError& x) { return std::string(x.what()).find("context holds 8") != std::string::npos; });
  BOOST_CHECK_THROW((void)e.embed_tokens(std::vector<int32_t>{1, 100000}), lf::ConfigError);
}

BOOST_AUTO_TEST_SUITE_END()
