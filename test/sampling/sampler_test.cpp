// SPDX-License-Identifier: MIT
// Tests for sampling/sampler.hpp: validation, greedy, truncation stages, determinism and distribution.
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <map>
#include <vector>

#include <llmforge/sampling/sampler.hpp>

namespace lf = llmforge;

BOOST_AUTO_TEST_SUITE(sampler)

BOOST_AUTO_TEST_CASE(invalid_settings_throw_config_error_naming_the_allowed_range) {
  auto msg_of = [](auto&& f) {
    try {
      f();
    } catch (const lf::ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  BOOST_TEST(msg_of([] { lf::SamplerChain{}.temperature(-1); }).find("temperature must be") != std::string::npos);
  BOOST_TEST(msg_of([] { lf::SamplerChain{}.temperature(NAN); }).find("temperature") != std::string::npos);
  BOOST_TEST(msg_of([] { lf::SamplerChain{}.top_p(0); }).find("top-p must be in (0, 1]") != std::string::npos);
  BOOST_TEST(msg_of([] { lf::SamplerChain{}.top_p(1.5f); }).find("top-p") != std::string::npos);
  BOOST_TEST(msg_of([] { lf::SamplerChain{}.top_k(-3); }).find("top-k must be >= 0") != std::string::npos);
  BOOST_TEST(msg_of([] { lf::SamplerChain{}.min_p(-0.1f); }).find("min-p must be in [0, 1]") != std::string::npos);
  BOOST_TEST(msg_of([] { lf::SamplerChain{}.repeat_penalty(0); }).find("repeat penalty") != std::string::npos);
  lf::SamplerConfig c;
  c.top_p = 2;
  BOOST_CHECK_THROW(lf::SamplerChain{c}, lf::ConfigError);
}

BOOST_AUTO_TEST_CASE(greedy_sampling_picks_argmax_with_ties_to_lowest_id) {
  auto s = lf::SamplerChain::greedy();
  const std::vector<float> logits{0.1f, 3.0f, -2.0f, 3.0f, 1.0f};
  BOOST_TEST(s.sample(logits) == 1);
}

BOOST_AUTO_TEST_CASE(top_k_one_is_greedy_at_any_temperature) {
  auto s = lf::SamplerChain{}.top_k(1).top_p(1).min_p(0).temperature(5).seed(3);
  const std::vector<float> logits{0.1f, 0.2f, 2.5f, 0.3f};
  for (int i = 0; i < 50; ++i) BOOST_TEST(s.sample(logits) == 2);
}

BOOST_AUTO_TEST_CASE(same_seed_gives_same_sequence_and_reset_restarts_it) {
  std::vector<float> logits(100);
  for (std::size_t i = 0; i < logits.size(); ++i) logits[i] = std::sin(static_cast<float>(i));
  auto a = lf::SamplerChain{}.top_k(0).top_p(1).min_p(0).temperature(1).seed(42);
  auto b = lf::SamplerChain{}.top_k(0).top_p(1).min_p(0).temperature(1).seed(42);
  std::vector<int32_t> sa, sb;
  for (int i = 0; i < 100; ++i) sa.push_back(a.sample(logits));
  for (int i = 0; i < 100; ++i) sb.push_back(b.sample(logits));
  BOOST_TEST(sa == sb, boost::test_tools::per_element());
  a.reset();
  std::vector<int32_t> sa2;
  for (int i = 0; i < 100; ++i) sa2.push_back(a.sample(logits));
  BOOST_TEST(sa2 == sa, boost::test_tools::per_element());
}

// With no truncation and temperature 1, frequencies follow softmax(logits). 20000 draws: the
// standard error of a frequency near 0.5 is 0.0035, so 0.02 is a > 5-sigma bound.
BOOST_AUTO_TEST_CASE(temperature_one_samples_follow_softmax) {
  const std::vector<float> logits{0.0f, 1.0f, 2.0f, -1.0f};
  double z = 0;
  for (float l : logits) z += std::exp(l);
  auto s = lf::SamplerChain{}.top_k(0).top_p(1).min_p(0).temperature(1).seed(11);
  std::map<int32_t, int> counts;
  const int n = 20000;
  for (int i = 0; i < n; ++i) ++counts[s.sample(logits)];
  for (int32_t id = 0; id < 4; ++id) BOOST_TEST(std::abs(counts[id] / double(n) - std::exp(logits[id]) / z) < 0.02);
}

BOOST_AUTO_TEST_CASE(top_p_keeps_smallest_set_reaching_the_mass) {
  // probabilities ~ [0.64, 0.24, 0.09, 0.03]: top-p 0.8 keeps ids 0 and 1 only.
  const std::vector<float> logits{3.0f, 2.0f, 1.0f, -0.2f};
  auto s = lf::SamplerChain{}.top_k(0).top_p(0.8f).min_p(0).temperature(1).seed(5);
  for (int i = 0; i < 500; ++i) {
    const int32_t id = s.sample(logits);
    BOOST_TEST((id == 0 || id == 1));
  }
}

BOOST_AUTO_TEST_CASE(min_p_drops_tokens_below_fraction_of_the_best) {
  // p(best) ~ 0.64; min-p 0.3 keeps tokens with p >= 0.19: ids 0 and 1.
  const std::vector<float> logits{3.0f, 2.0f, 1.0f, -0.2f};
  auto s = lf::SamplerChain{}.top_k(0).top_p(1).min_p(0.3f).temperature(1).seed(9);
  for (int i = 0; i < 500; ++i) {
    const int32_t id = s.sample(logits);
    BOOST_TEST((id == 0 || id == 1));
  }
}

BOOST_AUTO_TEST_CASE(repeat_penalty_lowers_recent_tokens) {
  auto s = lf::SamplerChain::greedy().repeat_penalty(2.0f);
  s.accept(0);
  const std::vector<float> logits{3.0f, 2.0f};  // 3/2 = 1.5 < 2 -> id 1 wins
  BOOST_TEST(s.sample(logits) == 1);
}

BOOST_AUTO_TEST_SUITE_END()
