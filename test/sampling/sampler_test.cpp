// SPDX-License-Identifier: MIT
// Tests for sampling/sampler.hpp: validation, greedy, stage order, determinism, log-probs and distribution.
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <random>

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



namespace {

/// Logits whose softmax is exactly 0.4, 0.3, 0.2, 0.1.
std::vector<float> probs_4321() {
  return {std::log(0.4f), std::log(0.3f), std::log(0.2f), std::log(0.1f)};
}
/// A chain with every truncation off and temperature 1: only the stages a test turns on act.
lf::SamplerChain plain() { return lf::SamplerChain{}.top_k(0).top_p(1).min_p(0).temperature(1).seed(1); }

std::map<int32_t, double> final_distribution(const lf::SamplerChain& s) {
  std::map<int32_t, double> out;
  for (const auto& c : s.last_distribution()) out[c.id] = c.p;
  return out;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const lf::ConfigError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

BOOST_AUTO_TEST_CASE(default_order_is_llama_cpp_s) {
  const auto& order = lf::SamplerConfig{}.stages;
  std::string names;
  for (auto s : order) names += std::string(lf::to_string(s)) + ";";
  BOOST_TEST(names == "penalties;dry;top_k;typ_p;top_p;min_p;xtc;temperature;");
  BOOST_TEST((lf::parse_stage_order("penalties;dry;top_k;typ_p;top_p;min_p;xtc;temperature") == order));
  BOOST_TEST((lf::parse_stage_order("top-k, temp,typical") ==
              std::vector<lf::SamplerStage>{lf::SamplerStage::TopK, lf::SamplerStage::Temperature, lf::SamplerStage::TypicalP}));
}

BOOST_AUTO_TEST_CASE(stage_order_changes_the_result) {
  // min-p 0.6 before temperature 2 keeps p >= 0.24 of {0.4, 0.3, 0.2, 0.1}: ids 0, 1.
  // After temperature 2 the probabilities are proportional to sqrt(p): 0.632, 0.548, 0.447, 0.316
  // (normalized 0.326, 0.282, 0.230, 0.163), and min-p 0.6 keeps >= 0.6 * 0.326 = 0.196: ids 0, 1, 2.
  using S = lf::SamplerStage;
  auto a = plain().min_p(0.6f).temperature(2).stages({S::MinP, S::Temperature});
  auto b = plain().min_p(0.6f).temperature(2).stages({S::Temperature, S::MinP});
  (void)a.sample(probs_4321());
  (void)b.sample(probs_4321());
  BOOST_TEST(a.last_distribution().size() == 2u);
  BOOST_TEST(b.last_distribution().size() == 3u);
  // a: sqrt(0.4) : sqrt(0.3) renormalized.
  const auto da = final_distribution(a);
  BOOST_TEST(da.at(0) == std::sqrt(0.4) / (std::sqrt(0.4) + std::sqrt(0.3)), boost::test_tools::tolerance(1e-5));
  // b: sqrt(0.4) : sqrt(0.3) : sqrt(0.2).
  const auto db = final_distribution(b);
  BOOST_TEST(db.at(2) == std::sqrt(0.2) / (std::sqrt(0.4) + std::sqrt(0.3) + std::sqrt(0.2)), boost::test_tools::tolerance(1e-5));
}

BOOST_AUTO_TEST_CASE(final_distribution_is_renormalized_after_truncation) {
  auto s = plain().top_k(3);  // 0.4, 0.3, 0.2 over 0.9
  (void)s.sample(probs_4321());
  const auto d = final_distribution(s);
  BOOST_TEST(d.size() == 3u);
  BOOST_TEST(d.at(0) == 0.4 / 0.9, boost::test_tools::tolerance(1e-5));
  BOOST_TEST(d.at(2) == 0.2 / 0.9, boost::test_tools::tolerance(1e-5));
}

BOOST_AUTO_TEST_CASE(stages_left_out_of_the_order_do_not_run) {
  auto s = plain().top_k(1).stages({lf::SamplerStage::Temperature});
  (void)s.sample(probs_4321());
  BOOST_TEST(s.last_distribution().size() == 4u);
}

BOOST_AUTO_TEST_CASE(greedy_honours_penalties_placed_after_truncation) {
  // Order top-k, penalties, temperature 0: top-k 2 keeps ids 0 (5) and 1 (4); repeat penalty 5 on
  // both gives 1 and 0.8, so id 0 wins. With the default order (penalties first) id 2 (3.9, never
  // repeated) wins against 1 and 0.8.
  using S = lf::SamplerStage;
  const std::vector<float> logits{5.0f, 4.0f, 3.9f};
  auto late = lf::SamplerChain::greedy().top_k(2).repeat_penalty(5).stages({S::TopK, S::Penalties, S::Temperature});
  auto early = lf::SamplerChain::greedy().top_k(2).repeat_penalty(5);
  for (auto* s : {&late, &early}) s->accept(0), s->accept(1);
  BOOST_TEST(late.sample(logits) == 0);
  BOOST_TEST(early.sample(logits) == 2);
}

BOOST_AUTO_TEST_CASE(penalty_window_is_the_last_n_accepted_tokens) {
  // Window 2 holds tokens 1, 1 (token 0 fell out): id 1 at 3 / 2 = 1.5 loses to id 0 at 2.
  auto s = lf::SamplerChain::greedy().repeat_penalty(2.0f, 2);
  s.accept(0), s.accept(1), s.accept(1);
  BOOST_TEST(s.sample(std::vector<float>{2.0f, 3.0f}) == 0);
  auto all = lf::SamplerChain::greedy().repeat_penalty(2.0f, -1).frequency_penalty(0.1f);
  all.accept(0);
  for (int i = 0; i < 100; ++i) all.accept(1);  // -1 = the whole history: 0 at 1 - 0.1 beats 1 at 1.5 - 10
  BOOST_TEST(all.sample(std::vector<float>{2.0f, 3.0f}) == 0);
}

BOOST_AUTO_TEST_CASE(logit_bias_runs_first_and_can_ban_the_best_token) {
  auto s = lf::SamplerChain::greedy().logit_bias(0, -INFINITY).logit_bias(3, 2.0f);
  BOOST_TEST(s.sample(probs_4321()) == 3);  // ln 0.1 + 2 = -0.30 > ln 0.3 = -1.20
  auto all = lf::SamplerChain::greedy().logit_bias(0, -INFINITY);
  BOOST_TEST(error_of([&] { (void)all.sample(std::vector<float>{1.0f}); }).find("no token has a finite logit") != std::string::npos);
  auto outside = lf::SamplerChain::greedy().logit_bias(9, 1.0f);
  BOOST_TEST(error_of([&] { (void)outside.sample(probs_4321()); }).find("vocabulary has 4 tokens") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(xtc_with_probability_one_always_excludes_top_choices) {
  auto s = plain().xtc(1.0f, 0.25f);  // 0.4 and 0.3 pass the threshold: 0.4 is excluded every time
  for (int i = 0; i < 100; ++i) BOOST_TEST(s.sample(probs_4321()) != 0);
  auto off = plain().xtc(0.0f, 0.25f);
  (void)off.sample(probs_4321());
  BOOST_TEST(off.last_distribution().size() == 4u);
}

BOOST_AUTO_TEST_CASE(dry_in_the_chain_uses_token_breakers_and_demands_a_vocabulary_for_text) {
  // History 1 2 3 4 1 2 3: token 4 loses 2^(3-2) = 2 with multiplier 1, base 2 (see dry_test).
  std::vector<float> logits(6, 0.0f);
  logits[4] = 1.5f;  // would win without DRY; 1.5 - 2 = -0.5 loses to id 0 at 0
  auto s = lf::SamplerChain::greedy().dry(1.0f, 2.0f, 2, -1).dry_breaker_tokens({});
  for (int32_t id : {1, 2, 3, 4, 1, 2, 3}) s.accept(id);
  BOOST_TEST(s.sample(logits) == 0);
  auto text = lf::SamplerChain::greedy().dry(1.0f);
  BOOST_TEST(text.needs_vocabulary());
  BOOST_TEST(error_of([&] { (void)text.sample(logits); }).find("bind_vocabulary") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(dynamic_temperature_in_the_chain_flattens_by_entropy) {
  // T = 1.42322 (see stages_test): p_i proportional to p_i^(1 / 1.42322).
  auto s = plain().dynamic_temperature(0.5f, 1.0f);
  (void)s.sample(probs_4321());
  const auto d = final_distribution(s);
  double z = 0;
  for (double p : {0.4, 0.3, 0.2, 0.1}) z += std::pow(p, 1 / 1.42322);
  BOOST_TEST(d.at(3) == std::pow(0.1, 1 / 1.42322) / z, boost::test_tools::tolerance(1e-4));
}

BOOST_AUTO_TEST_CASE(mirostat_v2_draws_from_the_truncated_set_reproducibly) {
  // tau 1: mu starts at 2 and keeps ids 0 and 1 only (surprises 1.32, 1.74 bits <= 2).
  auto a = plain().mirostat_v2(1.0f, 0.1f).seed(3);
  auto b = plain().mirostat_v2(1.0f, 0.1f).seed(3);
  const int32_t first = a.sample(probs_4321());
  BOOST_TEST((first == 0 || first == 1));
  BOOST_TEST(a.last_distribution().size() == 2u);
  BOOST_TEST(b.sample(probs_4321()) == first);
  for (int i = 0; i < 50; ++i) BOOST_TEST(a.sample(probs_4321()) == b.sample(probs_4321()));
}

BOOST_AUTO_TEST_CASE(seeded_draws_match_the_documented_rng) {
  // Stage-free chain (temperature 1, no truncation): the draw walks the candidates sorted by logit.
  std::mt19937_64 ref(42);
  auto s = plain().seed(42);
  for (int i = 0; i < 100; ++i) {
    const double u = static_cast<double>(ref() >> 11) / 9007199254740992.0;
    const int32_t want = u < 0.4 ? 0 : u < 0.7 ? 1 : u < 0.9 ? 2 : 3;
    BOOST_TEST(s.sample(probs_4321()) == want);
  }
}

BOOST_AUTO_TEST_CASE(different_seeds_give_different_sequences) {
  auto a = plain().seed(1), b = plain().seed(2);
  std::vector<int32_t> sa, sb;
  for (int i = 0; i < 64; ++i) sa.push_back(a.sample(probs_4321())), sb.push_back(b.sample(probs_4321()));
  BOOST_TEST((sa != sb));
}

BOOST_AUTO_TEST_CASE(final_logprobs_describe_the_distribution_drawn_from) {
  auto s = plain().top_k(2).logprobs(5);  // final distribution 4/7, 3/7
  const int32_t id = s.sample(probs_4321());
  const auto* lp = s.last_logprobs();
  BOOST_REQUIRE(lp);
  BOOST_TEST(lp->chosen.id == id);
  BOOST_TEST(lp->chosen.logprob == std::log(id == 0 ? 4.0 / 7 : 3.0 / 7), boost::test_tools::tolerance(1e-5));
  BOOST_REQUIRE(lp->top.size() == 2u);  // only two tokens survive
  BOOST_TEST(lp->top[0].id == 0);
  BOOST_TEST(lp->top[1].logprob == std::log(3.0 / 7), boost::test_tools::tolerance(1e-5));
  auto g = lf::SamplerChain::greedy().logprobs(3);
  (void)g.sample(probs_4321());
  BOOST_TEST(g.last_logprobs()->chosen.logprob == 0.0f);
  BOOST_TEST(plain().last_logprobs() == nullptr);
}

BOOST_AUTO_TEST_CASE(model_logprobs_are_the_log_softmax_of_the_raw_logits) {
  auto s = lf::SamplerChain::greedy().logprobs(3, lf::LogprobSource::Model);
  const std::vector<float> logits{1.0f, 3.0f, 2.0f, 0.0f};  // + any constant: same log-softmax
  BOOST_TEST(s.sample(logits) == 1);
  const double z = std::exp(1.0) + std::exp(3.0) + std::exp(2.0) + 1;
  const auto* lp = s.last_logprobs();
  BOOST_TEST(lp->chosen.logprob == 3 - std::log(z), boost::test_tools::tolerance(1e-5));
  BOOST_REQUIRE(lp->top.size() == 3u);
  BOOST_TEST((lp->top[0].id == 1 && lp->top[1].id == 2 && lp->top[2].id == 0));
  BOOST_TEST(lp->top[2].logprob == 1 - std::log(z), boost::test_tools::tolerance(1e-5));
}

BOOST_AUTO_TEST_CASE(every_invalid_setting_names_the_stage_and_the_range) {
  using C = lf::SamplerChain;
  const std::vector<std::pair<std::function<void()>, std::string>> cases{
      {[] { C{}.temperature(-0.5f); }, "temperature must be a finite number >= 0 (0 = greedy), got -0.5"},
      {[] { C{}.dynamic_temperature(-1); }, "temperature range must be a finite number >= 0"},
      {[] { C{}.dynamic_temperature(0.5f, 0); }, "temperature exponent must be a finite number > 0, got 0"},
      {[] { C{}.top_k(-1); }, "top-k must be >= 0 (0 = off), got -1"},
      {[] { C{}.top_p(0); }, "top-p must be in (0, 1] (1 = off), got 0"},
      {[] { C{}.min_p(1.5f); }, "min-p must be in [0, 1] (0 = off), got 1.5"},
      {[] { C{}.typical_p(0); }, "typical-p must be in (0, 1] (1 = off), got 0"},
      {[] { C{}.xtc(1.5f, 0.1f); }, "xtc probability must be in [0, 1] (0 = off), got 1.5"},
      {[] { C{}.xtc(0.5f, -0.1f); }, "xtc threshold must be in [0, 1]"},
      {[] { C{}.repeat_penalty(0); }, "repeat penalty must be a finite number > 0 (1 = off), got 0"},
      {[] { C{}.repeat_penalty(1.1f, -2); }, "penalties last-n must be >= -1"},
      {[] { C{}.presence_penalty(NAN); }, "presence penalty must be a finite number"},
      {[] { C{}.frequency_penalty(INFINITY); }, "frequency penalty must be a finite number"},
      {[] { C{}.dry(-1); }, "dry multiplier must be a finite number >= 0 (0 = off), got -1"},
      {[] { C{}.dry(0.8f, 0.5f); }, "dry base must be a finite number >= 1, got 0.5"},
      {[] { C{}.dry(0.8f, 1.75f, 0); }, "dry allowed length must be >= 1, got 0"},
      {[] { C{}.dry(0.8f, 1.75f, 2, -5); }, "dry penalty last-n must be >= -1"},
      {[] { C{}.mirostat_v2(0, 0.1f); }, "mirostat tau must be a finite number > 0, got 0"},
      {[] { C{}.mirostat_v2(5, 2); }, "mirostat eta must be in (0, 1], got 2"},
      {[] { lf::SamplerConfig c; c.mirostat = 1; lf::SamplerChain{c}; }, "mirostat must be 0 (off) or 2 (mirostat v2), got 1"},
      {[] { C{}.logit_bias(-3, 1); }, "logit bias token ids must be >= 0, got -3"},
      {[] { C{}.logit_bias(3, NAN); }, "logit bias must be a number or -inf"},
      {[] { C{}.stages({lf::SamplerStage::TopK, lf::SamplerStage::TopK}); }, "sampler stage 'top_k' is listed twice"},
      {[] { (void)lf::parse_stage_order("top_k;bogus"); }, "unknown sampler stage 'bogus'; known: penalties, dry"},
  };
  for (const auto& [f, want] : cases) {
    const std::string got = error_of(f);
    BOOST_TEST_INFO("expected: " << want);
    BOOST_TEST(got.find(want) != std::string::npos, "got: " << got);
    BOOST_TEST(got.rfind("invalid sampler setting: ", 0) == 0u, "got: " << got);
  }
}

BOOST_AUTO_TEST_CASE(nan_logits_count_as_banned) {
  auto s = plain();
  const std::vector<float> logits{NAN, 0.0f, NAN};
  for (int i = 0; i < 20; ++i) BOOST_TEST(s.sample(logits) == 1);
}

BOOST_AUTO_TEST_CASE(a_rejected_setting_leaves_the_chain_unchanged) {
  auto s = lf::SamplerChain{}.top_k(7);
  BOOST_CHECK_THROW(s.top_k(-1), lf::ConfigError);
  BOOST_TEST(s.config().top_k == 7);
}

BOOST_AUTO_TEST_SUITE_END()
