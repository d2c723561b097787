// SPDX-License-Identifier: MIT
// Beam search against a direct re-implementation that recomputes every hypothesis from scratch with
// a fresh session (no slots, no copies, no batched passes), and width 1 against greedy decoding.
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <llmforge/llmforge.hpp>

#include "common/model_fixtures.hpp"
#include "common/test_data.hpp"
#include "generation/arch_data.hpp"

namespace lf = llmforge;
namespace t = llmforge::test;
namespace bdata = boost::unit_test::data;
namespace utf = boost::unit_test;

namespace {

using t::arch_model;
const auto prompt_ids = t::arch_prompt_ids;
const lf::SessionOptions kF32{.context = 128, .threads = 2, .cache_type_k = lf::KvType::F32, .cache_type_v = lf::KvType::F32};

/// log-softmax of the next-token logits after `ids`, from a fresh session.
std::vector<double> next_logprobs(const lf::Model& m, std::vector<int32_t> ids) {
  lf::Session s = m.new_session(kF32);
  std::vector<float> l(m.config().vocab_size);
  m.forward(s, ids, l);
  const double mx = *std::max_element(l.begin(), l.end());
  double sum = 0;
  for (float v : l) sum += std::exp(v - mx);
  std::vector<double> out(l.size());
  for (std::size_t i = 0; i < l.size(); ++i) out[i] = l[i] - mx - std::log(sum);
  return out;
}

/// Beam search as Hugging Face describes it (no end-of-generation tokens: fixed length), every
/// hypothesis recomputed from its full token list.
std::vector<std::pair<std::vector<int32_t>, double>> naive_beams(const lf::Model& m, const std::vector<int32_t>& prompt,
                                                                 std::size_t W, std::size_t steps) {
  std::vector<std::pair<std::vector<int32_t>, double>> beams{{{}, 0.0}};
  for (std::size_t s = 0; s < steps; ++s) {
    std::vector<std::pair<std::vector<int32_t>, double>> cands;
    for (const auto& [toks, lp] : beams) {
      auto ids = prompt;
      ids.insert(ids.end(), toks.begin(), toks.end());
      const auto next = next_logprobs(m, ids);
      for (std::size_t v = 0; v < next.size(); ++v) {
        auto nt = toks;
        nt.push_back(static_cast<int32_t>(v));
        cands.emplace_back(std::move(nt), lp + next[v]);
      }
    }
    std::stable_sort(cands.begin(), cands.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    cands.resize(W);
    beams = std::move(cands);
  }
  return beams;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(beam_search, *utf::precondition(t::needs_file(arch_model("qwen2-f32"))))

BOOST_DATA_TEST_CASE(beams_equal_a_search_recomputed_from_scratch, bdata::make({"qwen2-f32", "gpt2-f32"}) * bdata::make({"p0", "p2"}), model, p) {
  auto m = t::cached_model(arch_model(model));
  const auto prompt = prompt_ids(model, p);
  lf::BeamSearch bs(m, kF32);
  const std::size_t W = 3, steps = 5;
  const auto got = bs.run(prompt, {.beam_width = W, .max_tokens = steps, .length_penalty = 0.0f, .n_best = W, .stop_at_eos = false});
  const auto want = naive_beams(*m, prompt, W, steps);
  BOOST_REQUIRE(got.size() == W);
  for (std::size_t i = 0; i < W; ++i) {
    BOOST_TEST(got[i].tokens == want[i].first, boost::test_tools::per_element());
    BOOST_TEST(std::abs(got[i].logprob - want[i].second) <= 1e-3);
    BOOST_TEST(got[i].score == got[i].logprob);  // length penalty 0
    BOOST_TEST(!got[i].finished);
  }
}

BOOST_AUTO_TEST_CASE(width_one_is_greedy_and_the_length_penalty_divides) {
  auto m = t::cached_model(arch_model("llama3rope-f32"));
  const auto prompt = prompt_ids("llama3rope-f32", "p1");
  lf::Generator g(m, kF32);
  const auto greedy = g.generate_tokens(prompt, {.max_tokens = 10, .stop_at_eos = false}).tokens;
  lf::BeamSearch bs(m, kF32);
  const auto one = bs.run(prompt, {.beam_width = 1, .max_tokens = 10, .stop_at_eos = false});
  BOOST_REQUIRE(one.size() == 1u);
  BOOST_TEST(one[0].tokens == greedy, boost::test_tools::per_element());
  BOOST_TEST(std::abs(one[0].score - one[0].logprob / 10.0) <= 1e-9);
  // A wider beam finds a sequence at least as probable as greedy's (on this prompt).
  const auto four = bs.run(prompt, {.beam_width = 4, .max_tokens = 10, .stop_at_eos = false});
  BOOST_TEST(four[0].logprob >= one[0].logprob - 1e-6);
}

BOOST_AUTO_TEST_CASE(stop_tokens_finish_hypotheses_and_bad_settings_are_refused) {
  auto m = t::cached_model(arch_model("qwen2-f32"));
  const auto prompt = prompt_ids("qwen2-f32", "p0");
  lf::BeamSearch bs(m, kF32);
  // Make the greedy first token a stop token: with sums as scores (no length penalty) the hypothesis
  // that ends at once outranks every 6-token one.
  const auto first = bs.run(prompt, {.beam_width = 1, .max_tokens = 1, .stop_at_eos = false})[0].tokens.at(0);
  const auto r = bs.run(prompt, {.beam_width = 2, .max_tokens = 6, .length_penalty = 0.0f, .n_best = 2, .stop_at_eos = false, .stop_tokens = {first}});
  BOOST_TEST(r.size() == 2u);
  bool any_finished = false;
  for (const auto& h : r) {
    BOOST_TEST((std::find(h.tokens.begin(), h.tokens.end(), first) == h.tokens.end()));
    any_finished = any_finished || h.finished;
  }
  BOOST_TEST(any_finished);
  BOOST_CHECK_THROW(bs.run(prompt, {.beam_width = 0}), lf::ConfigError);
  BOOST_CHECK_THROW(bs.run(prompt, {.beam_width = 2, .n_best = 3}), lf::ConfigError);
  BOOST_CHECK_THROW(bs.run(std::vector<int32_t>{}, {}), lf::ConfigError);
}

BOOST_AUTO_TEST_SUITE_END()
