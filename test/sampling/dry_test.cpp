// SPDX-License-Identifier: MIT
// Tests for sampling/dry.hpp: breaker resolution from text and the DRY penalty on hand-made windows.
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <string>
#include <vector>

#include <llmforge/sampling/dry.hpp>

namespace lf = llmforge;
namespace ls = llmforge::sampling;

namespace {

/// Ten tokens with logit 0; returns the logits after DRY.
std::vector<float> dry_logits(const std::vector<int32_t>& window, const lf::DryBreakers& breakers, float multiplier = 1.0f,
                              float base = 2.0f, int allowed = 2, std::size_t vocab = 10) {
  lf::Candidates c;
  c.assign(std::vector<float>(vocab, 0.0f));
  ls::DryScratch scratch;
  ls::apply_dry(c, window, breakers, multiplier, base, allowed, scratch);
  std::vector<float> out(vocab);
  for (const auto& cd : c) out[static_cast<std::size_t>(cd.id)] = cd.logit;
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(dry)

BOOST_AUTO_TEST_CASE(penalizes_the_token_that_would_extend_a_repeat) {
  // 1 2 3 4 1 2 3: the end "1 2 3" occurred before, followed by 4. Repeat length 3, allowed 2:
  // penalty 1 * 2^(3 - 2) = 2 on token 4 only ("2 3" and "3" also recur but are followed by 4 too).
  const auto l = dry_logits({1, 2, 3, 4, 1, 2, 3}, lf::DryBreakers{});
  for (int32_t id = 0; id < 10; ++id) BOOST_TEST(l[static_cast<std::size_t>(id)] == (id == 4 ? -2.0f : 0.0f));
}

BOOST_AUTO_TEST_CASE(repeats_up_to_the_allowed_length_are_free) {
  // 5 6 7 5 6: repeat "5 6" of length 2 -> 2^0 = 1 on token 7 with allowed 2, nothing with allowed 3.
  BOOST_TEST(dry_logits({5, 6, 7, 5, 6}, lf::DryBreakers{})[7] == -1.0f);
  BOOST_TEST(dry_logits({5, 6, 7, 5, 6}, lf::DryBreakers{}, 1.0f, 2.0f, 3)[7] == 0.0f);
}

BOOST_AUTO_TEST_CASE(the_longest_repeat_decides_and_the_multiplier_scales) {
  // 1 2 9 2 8 1 2: "1 2" (length 2) was followed by 9; "2" (length 1 < allowed) by 9 and 8.
  // multiplier 0.5, base 3: 0.5 * 3^0 = 0.5 on 9; 8 free.
  const auto l = dry_logits({1, 2, 9, 2, 8, 1, 2}, lf::DryBreakers{}, 0.5f, 3.0f);
  BOOST_TEST(l[9] == -0.5f);
  BOOST_TEST(l[8] == 0.0f);
}

BOOST_AUTO_TEST_CASE(a_breaker_limits_how_far_back_a_repeat_reaches) {
  const std::vector<int32_t> w{1, 2, 3, 4, 1, 2, 3};
  // Breaker 2 sits 1 token from the end: the repeat may be at most 1 long < allowed 2: no penalty.
  BOOST_TEST(dry_logits(w, lf::DryBreakers::from_tokens({{2}}))[4] == 0.0f);
  // Breaker 1 sits 2 tokens from the end: repeats capped at 2 -> 2^0 = 1 on token 4.
  BOOST_TEST(dry_logits(w, lf::DryBreakers::from_tokens({{1}}))[4] == -1.0f);
  // Two-token breaker "2 3" ends at the end: limit 0.
  BOOST_TEST(dry_logits(w, lf::DryBreakers::from_tokens({{2, 3}}))[4] == 0.0f);
  // "2 5" does not match the text, so it limits nothing.
  BOOST_TEST(dry_logits(w, lf::DryBreakers::from_tokens({{2, 5}}))[4] == -2.0f);
}

BOOST_AUTO_TEST_CASE(a_token_that_is_a_breaker_by_itself_is_never_penalized) {
  // 1 2 9 1 2: "1 2" was followed by 9. The nearest breaker (9) is 2 tokens back, so the cap is 2.
  BOOST_TEST(dry_logits({1, 2, 9, 1, 2}, lf::DryBreakers{})[9] == -1.0f);
  BOOST_TEST(dry_logits({1, 2, 9, 1, 2}, lf::DryBreakers::from_tokens({{9}}))[9] == 0.0f);
}

BOOST_AUTO_TEST_CASE(the_exponent_is_clamped_so_the_penalty_stays_finite) {
  // 200 equal tokens: repeat length 199 -> 2^197 would overflow float; the penalty stays finite and huge.
  const auto l = dry_logits(std::vector<int32_t>(200, 5), lf::DryBreakers{});
  BOOST_TEST(std::isfinite(l[5]));
  BOOST_TEST(l[5] < -1e38f);
}

BOOST_AUTO_TEST_CASE(text_breakers_resolve_to_whole_tokens_and_split_sequences) {
  // Tokens: "hello", "lo\n", "wor", "\n", "ab". Breaker "\n": tokens 1 and 3 contain it.
  // Breaker "or!x": token 2 ends with "or", so it heads a sequence whose tail is encode("!x").
  const std::vector<std::string> words{"hello", "lo\n", "wor", "\n", "ab"};
  lf::VocabularyText v{words.size(), [&](int32_t id) { return words[static_cast<std::size_t>(id)]; },
                       [](std::string_view s) { return std::vector<int32_t>{static_cast<int32_t>(100 + s.size())}; }};
  const std::vector<std::string> breakers{"\n", "or!x"};
  lf::DryBreakers b(breakers, v);
  BOOST_TEST(b.breaks_alone(1));
  BOOST_TEST(b.breaks_alone(3));
  BOOST_TEST(!b.breaks_alone(0));
  BOOST_TEST(!b.breaks_alone(2));
  BOOST_REQUIRE(b.tails(2).size() == 1u);
  BOOST_TEST(b.tails(2)[0] == std::vector<int32_t>{102}, boost::test_tools::per_element());  // "!x" has 2 bytes
  BOOST_TEST(b.tails(4).empty());
}

BOOST_AUTO_TEST_SUITE_END()
