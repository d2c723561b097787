// SPDX-License-Identifier: MIT
// Tests for sampling/stages.hpp: each stage on small candidate lists whose results are worked out by
// hand in the comments (probabilities 0.4, 0.3, 0.2, 0.1 unless said otherwise).
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <random>
#include <vector>

#include <llmforge/sampling/stages.hpp>

namespace lf = llmforge;
namespace ls = llmforge::sampling;

namespace {

/// Candidates whose softmax is exactly `probs` (logit = ln p).
lf::Candidates from_probs(const std::vector<double>& probs) {
  std::vector<float> logits;
  for (double p : probs) logits.push_back(static_cast<float>(std::log(p)));
  lf::Candidates c;
  c.assign(logits);
  return c;
}
lf::Candidates from_logits(const std::vector<float>& logits) {
  lf::Candidates c;
  c.assign(logits);
  return c;
}
std::vector<int32_t> ids(const lf::Candidates& c) {
  std::vector<int32_t> out;
  for (const auto& cd : c) out.push_back(cd.id);
  return out;
}
using Ids = std::vector<int32_t>;

}  // namespace

BOOST_AUTO_TEST_SUITE(stages)

BOOST_AUTO_TEST_CASE(softmax_sorts_by_logit_with_ties_to_the_lower_id) {
  auto c = from_logits({1.0f, 2.0f, 1.0f, 0.0f});
  c.softmax();
  BOOST_TEST(ids(c) == (Ids{1, 0, 2, 3}), boost::test_tools::per_element());
  // e^2, e^1, e^1, e^0 over their sum.
  const double z = std::exp(2.0) + 2 * std::exp(1.0) + 1;
  BOOST_TEST(c[0].p == std::exp(2.0) / z, boost::test_tools::tolerance(1e-6));
  BOOST_TEST(c[3].p == 1 / z, boost::test_tools::tolerance(1e-6));
}

BOOST_AUTO_TEST_CASE(top_k_keeps_the_k_highest_logits_in_order) {
  auto c = from_logits({1, 5, 3, 4, 2});
  ls::apply_top_k(c, 3);
  BOOST_TEST(ids(c) == (Ids{1, 3, 2}), boost::test_tools::per_element());
  auto off = from_logits({1, 5, 3});
  ls::apply_top_k(off, 0);
  BOOST_TEST(ids(off) == (Ids{0, 1, 2}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(top_p_keeps_the_smallest_prefix_reaching_p) {
  // Cumulative mass 0.4, 0.7, 0.9, 1.0.
  auto a = from_probs({0.1, 0.4, 0.2, 0.3});
  ls::apply_top_p(a, 0.65f, 0);
  BOOST_TEST(ids(a) == (Ids{1, 3}), boost::test_tools::per_element());
  auto b = from_probs({0.4, 0.3, 0.2, 0.1});
  ls::apply_top_p(b, 0.75f, 0);
  BOOST_TEST(ids(b) == (Ids{0, 1, 2}), boost::test_tools::per_element());
  auto c = from_probs({0.4, 0.3, 0.2, 0.1});
  ls::apply_top_p(c, 0.3f, 0);
  BOOST_TEST(ids(c) == Ids{0}, boost::test_tools::per_element());
  auto keep = from_probs({0.4, 0.3, 0.2, 0.1});
  ls::apply_top_p(keep, 0.3f, 3);  // min_keep wins
  BOOST_TEST(keep.size() == 3u);
}

BOOST_AUTO_TEST_CASE(min_p_keeps_tokens_at_least_p_times_the_best) {
  // p = 0.6: floor 0.24 keeps 0.4 and 0.3; p = 0.8: floor 0.32 keeps 0.4 alone.
  auto a = from_probs({0.2, 0.4, 0.1, 0.3});
  ls::apply_min_p(a, 0.6f, 0);
  BOOST_TEST(ids(a) == (Ids{1, 3}), boost::test_tools::per_element());  // the order is kept
  auto b = from_probs({0.4, 0.3, 0.2, 0.1});
  ls::apply_min_p(b, 0.8f, 0);
  BOOST_TEST(ids(b) == Ids{0}, boost::test_tools::per_element());
  auto keep = from_probs({0.2, 0.4, 0.1, 0.3});
  ls::apply_min_p(keep, 0.8f, 2);  // too few pass: the two best, sorted
  BOOST_TEST(ids(keep) == (Ids{1, 3}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(typical_p_ranks_by_distance_from_the_entropy) {
  // H = -(0.4 ln 0.4 + 0.3 ln 0.3 + 0.2 ln 0.2 + 0.1 ln 0.1) = 1.27985 nats.
  // -ln p = 0.9163, 1.2040, 1.6094, 2.3026; |-ln p - H| = 0.3635, 0.0758, 0.3296, 1.0227.
  // Rank: id 1 (0.3), id 2 (0.2), id 0 (0.4), id 3 (0.1); masses 0.3, 0.5, 0.9, 1.0.
  std::vector<lf::TokenCandidate> scratch;
  auto a = from_probs({0.4, 0.3, 0.2, 0.1});
  ls::apply_typical(a, 0.45f, 0, scratch);
  BOOST_TEST(ids(a) == (Ids{1, 2}), boost::test_tools::per_element());
  auto b = from_probs({0.4, 0.3, 0.2, 0.1});
  ls::apply_typical(b, 0.85f, 0, scratch);
  BOOST_TEST(ids(b) == (Ids{1, 2, 0}), boost::test_tools::per_element());
  auto c = from_probs({0.4, 0.3, 0.2, 0.1});
  ls::apply_typical(c, 0.1f, 0, scratch);  // min_keep 0 still keeps one (llama.cpp b4748 would keep all)
  BOOST_TEST(ids(c) == Ids{1}, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(temperature_divides_logits_and_zero_keeps_the_best) {
  auto a = from_logits({2, 1, 0});
  ls::apply_temperature(a, 0.5f);
  BOOST_TEST(a[0].logit == 4.0f);
  BOOST_TEST(a[1].logit == 2.0f);
  a.softmax();  // e^4 / (e^4 + e^2 + 1)
  BOOST_TEST(a[0].p == std::exp(4.0) / (std::exp(4.0) + std::exp(2.0) + 1), boost::test_tools::tolerance(1e-6));
  auto g = from_logits({1, 3, 3, 2});
  ls::apply_temperature(g, 0);
  BOOST_TEST(ids(g) == Ids{1}, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(dynamic_temperature_maps_normalized_entropy_into_the_range) {
  // H / ln 4 = 1.27985 / 1.38629 = 0.92322. t = 1, range 0.5: lo 0.5, hi 1.5.
  // exponent 1: T = 0.5 + 0.92322 = 1.42322; exponent 2: T = 0.5 + 0.92322^2 = 1.35234.
  const std::vector<double> probs{0.4, 0.3, 0.2, 0.1};
  for (auto [exponent, t] : {std::pair{1.0f, 1.42322}, std::pair{2.0f, 1.35234}}) {
    auto c = from_probs(probs);
    ls::apply_dynamic_temperature(c, 1.0f, 0.5f, exponent);
    for (const auto& cd : c) BOOST_TEST(cd.logit == std::log(probs[cd.id]) / t, boost::test_tools::tolerance(1e-4));
  }
  auto plain = from_logits({2, 1});
  ls::apply_dynamic_temperature(plain, 2.0f, 0.0f, 1.0f);  // range 0: plain temperature
  BOOST_TEST(plain[0].logit == 1.0f);
}

BOOST_AUTO_TEST_CASE(xtc_removes_all_top_choices_but_the_least_likely) {
  auto a = from_probs({0.4, 0.3, 0.2, 0.1});
  ls::apply_xtc(a, 0.25f, 0);  // 0.4 and 0.3 pass: 0.4 goes, 0.3 stays
  BOOST_TEST(ids(a) == (Ids{1, 2, 3}), boost::test_tools::per_element());
  auto b = from_probs({0.4, 0.3, 0.2, 0.1});
  ls::apply_xtc(b, 0.35f, 0);  // only one token passes: nothing removed
  BOOST_TEST(b.size() == 4u);
  auto c = from_probs({0.4, 0.3, 0.2, 0.1});
  ls::apply_xtc(c, 0.15f, 2);  // 0.4, 0.3, 0.2 pass: 0.4 and 0.3 go, leaving 2 >= min_keep
  BOOST_TEST(ids(c) == (Ids{2, 3}), boost::test_tools::per_element());
  auto d = from_probs({0.4, 0.3, 0.2, 0.1});
  ls::apply_xtc(d, 0.15f, 3);  // 2 left < min_keep 3: unchanged
  BOOST_TEST(d.size() == 4u);
  auto e = from_probs({0.6, 0.4});
  ls::apply_xtc(e, 0.6f, 0);  // threshold > 0.5: off
  BOOST_TEST(e.size() == 2u);
}

BOOST_AUTO_TEST_CASE(penalties_follow_llama_cpp_semantics) {
  // window: id 0 twice, ids 1 and 3 once. repeat 2, frequency 0.5, presence 0.25.
  // id 0:  2 / 2 - 2 * 0.5 - 0.25 = -0.25;  id 1: -1 * 2 - 0.5 - 0.25 = -2.75
  // id 2: untouched 0.5;  id 3: 3 / 2 - 0.5 - 0.25 = 0.75;  id 4: 0 * 2 - 0.75 = -0.75
  auto c = from_logits({2.0f, -1.0f, 0.5f, 3.0f, 0.0f});
  const std::vector<int32_t> window{0, 0, 1, 3, 4};
  ls::TokenCounts counts;
  ls::apply_penalties(c, window, 2.0f, 0.5f, 0.25f, counts);
  const std::vector<float> want{-0.25f, -2.75f, 0.5f, 0.75f, -0.75f};
  for (const auto& cd : c) BOOST_TEST(cd.logit == want[cd.id], boost::test_tools::tolerance(1e-6f));
  // The same on a reordered (not identity) list.
  auto r = from_logits({2.0f, -1.0f, 0.5f, 3.0f, 0.0f});
  r.sort();
  ls::apply_penalties(r, window, 2.0f, 0.5f, 0.25f, counts);
  for (const auto& cd : r) BOOST_TEST(cd.logit == want[cd.id], boost::test_tools::tolerance(1e-6f));
}

BOOST_AUTO_TEST_CASE(logit_bias_adds_and_bans_and_rejects_ids_outside_the_vocabulary) {
  auto c = from_logits({1, 2, 3});
  const std::vector<lf::LogitBias> b{{0, 1.5f}, {2, -INFINITY}};
  ls::apply_logit_bias(c, b, 3);
  BOOST_TEST(c[0].logit == 2.5f);
  BOOST_TEST(std::isinf(c[2].logit));
  const std::vector<lf::LogitBias> bad{{7, 1.0f}};
  try {
    ls::apply_logit_bias(c, bad, 3);
    BOOST_FAIL("no error");
  } catch (const lf::ConfigError& e) {
    BOOST_TEST(std::string(e.what()).find("logit bias for token 7, but the vocabulary has 3 tokens") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(mirostat_v2_truncates_by_surprise_and_updates_mu) {
  // Surprise -log2 p: 1.32, 1.74, 2.32, 3.32. tau 1 -> mu 2 keeps ids 0, 1, renormalized 4/7, 3/7.
  ls::MirostatV2 m{.tau = 1.0f, .eta = 0.1f};
  m.reset();
  BOOST_TEST(m.mu == 2.0f);
  auto c = from_probs({0.4, 0.3, 0.2, 0.1});
  lf::SamplerRng rng(1);
  const std::size_t i = m.select(c, rng);
  BOOST_TEST(ids(c) == (Ids{0, 1}), boost::test_tools::per_element());
  BOOST_TEST(c[0].p == 4.0 / 7, boost::test_tools::tolerance(1e-6));
  const double surprise = -std::log2(c[i].id == 0 ? 4.0 / 7 : 3.0 / 7);  // 0.807 or 1.222
  BOOST_TEST(m.mu == 2.0 - 0.1 * (surprise - 1.0), boost::test_tools::tolerance(1e-5));
  // mu below every surprise still keeps the most likely token.
  ls::MirostatV2 low{.tau = 0.1f, .eta = 0.1f};
  low.reset();
  auto d = from_probs({0.4, 0.3, 0.2, 0.1});
  BOOST_TEST(low.select(d, rng) == 0u);
  BOOST_TEST(d.size() == 1u);
}

BOOST_AUTO_TEST_CASE(rng_draw_follows_the_documented_algorithm) {
  // mt19937_64, top 53 bits / 2^53, first candidate whose running sum exceeds it.
  auto c = from_probs({0.4, 0.3, 0.2, 0.1});
  c.softmax();
  lf::SamplerRng rng(42);
  std::mt19937_64 ref(42);
  for (int i = 0; i < 200; ++i) {
    const double u = static_cast<double>(ref() >> 11) / 9007199254740992.0;
    const int32_t want = u < 0.4 ? 0 : u < 0.7 ? 1 : u < 0.9 ? 2 : 3;
    BOOST_TEST(c[rng.pick(c)].id == want);
  }
}

BOOST_AUTO_TEST_SUITE_END()
