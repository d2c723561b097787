// SPDX-License-Identifier: MIT
// Tests for generation/stop_conditions.hpp: StopTracker's checks before each step and per token
// (the text side - stop strings, end-of-generation ids - is driven through Generator in generator_test).
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <string>

#include <llmforge/generation/stop_conditions.hpp>

#include "generation/fake_model.hpp"

namespace lf = llmforge;
namespace t = llmforge::test;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

BOOST_AUTO_TEST_SUITE(stop_conditions)

BOOST_AUTO_TEST_CASE(stop_tracker_checks_budget_cancel_and_deadline_before_each_step) {
  auto cancel = lf::CancelToken::make();
  lf::StopConditions c;
  c.max_tokens = 2;
  c.cancel = cancel;
  const auto now = Clock::now();
  c.deadline = now + 1s;
  lf::StopTracker st(c, nullptr);
  std::string out;
  BOOST_TEST(!st.before_step(now).has_value());
  BOOST_TEST(!st.on_token(7, out).has_value());
  BOOST_TEST(!st.on_token(7, out).has_value());
  BOOST_TEST((st.before_step(now) == lf::StopReason::MaxTokens));
  BOOST_TEST((st.before_step(now + 2s) == lf::StopReason::Deadline));
  cancel.request_stop();
  BOOST_TEST((st.before_step(now) == lf::StopReason::Cancelled));
  cancel.clear();
  BOOST_TEST((st.before_step(now) == lf::StopReason::MaxTokens));
}

BOOST_AUTO_TEST_CASE(stop_tracker_decodes_text_and_reports_the_ending_token) {
  const auto tok = t::test_tokenizer();
  lf::StopConditions c;
  c.stop = {"ld!"};
  c.stop_tokens = {t::kEn};
  const std::vector<int32_t> prompt{t::kBos};
  lf::StopTracker st(c, tok.get(), prompt);
  std::string out;
  BOOST_TEST(!st.on_token(t::kHello, out).has_value());
  BOOST_TEST(!st.on_token(t::kWor, out).has_value());
  BOOST_TEST(out == " Hello wor");  // the vocabulary has no dummy prefix, so the space stays
  BOOST_TEST((st.on_token(t::kEot, out) == lf::StopReason::EndOfSequence));
  BOOST_TEST(st.stop_token() == t::kEot);
  BOOST_TEST(st.generated() == 2u);  // the end-of-generation token is not counted
  lf::StopTracker again(c, tok.get(), prompt);
  std::string text;
  BOOST_TEST((again.on_token(t::kEn, text) == lf::StopReason::StopToken));
  BOOST_TEST(!again.on_token(t::kLd, text).has_value());
  BOOST_TEST((again.on_token(t::kBang, text) == lf::StopReason::StopString));
  BOOST_TEST(text.empty());
  BOOST_TEST(again.matched_stop() == "ld!");
  BOOST_TEST(again.finish(text));
}

BOOST_AUTO_TEST_SUITE_END()
