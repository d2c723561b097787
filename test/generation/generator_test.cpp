// SPDX-License-Identifier: MIT
// Tests for generation/generator.hpp and stop_conditions.hpp: stop strings split across tokens,
// end-of-generation tokens, token budgets, deadlines and cancellation within one token, timings.
// Most cases use a scripted model (test/generation/fake_model.hpp) whose texts are known by hand.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <llmforge/llmforge.hpp>

#include "common/model_fixtures.hpp"
#include "generation/fake_model.hpp"

namespace lf = llmforge;
namespace t = llmforge::test;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

const std::vector<int32_t> kPrompt{t::kBos, t::kThe};

struct Run {
  lf::GenerationResult result;
  std::vector<std::string> pieces;  ///< what the streaming callback received, in order
  std::string streamed() const {
    std::string s;
    for (const auto& p : pieces) s += p;
    return s;
  }
};

Run run(std::shared_ptr<const lf::Model> model, lf::GenerateOptions opt) {
  lf::Generator gen(std::move(model), {.context = 64, .threads = 1});
  Run r;
  r.result = gen.generate_tokens(kPrompt, std::move(opt), [&](std::string_view p) { r.pieces.emplace_back(p); });
  return r;
}
Run run(const std::vector<int32_t>& script, lf::GenerateOptions opt) {
  return run(std::make_shared<t::FakeModel>(script), std::move(opt));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(generator)

BOOST_AUTO_TEST_CASE(without_stop_strings_every_token_is_streamed_at_once) {
  // " Hello" " wor" "ld" "!" -> " Hello world!" (the prompt is context, so the leading space stays).
  const auto r = run({t::kHello, t::kWor, t::kLd, t::kBang}, {.max_tokens = 4, .stop = {"xyz"}});
  BOOST_TEST(r.result.text == " Hello world!");
  BOOST_TEST(r.pieces == (std::vector<std::string>{" Hello", " wor", "ld", "!"}), boost::test_tools::per_element());
  BOOST_TEST(r.result.reason == lf::StopReason::MaxTokens);
  BOOST_TEST(r.result.tokens.size() == 4u);
}

BOOST_AUTO_TEST_CASE(a_stop_string_split_across_tokens_is_never_emitted) {
  // " Hello world!": "o wo" spans " Hello" | " wor" -> output " Hell". "ld!" spans "ld" | "!" -> " Hello wor".
  for (auto [stop, want] : {std::pair{"o wo", " Hell"}, std::pair{"ld!", " Hello wor"}, std::pair{" He", ""}}) {
    const auto r = run({t::kHello, t::kWor, t::kLd, t::kBang, t::kThe}, {.max_tokens = 16, .stop = {stop}});
    BOOST_TEST_INFO("stop " << stop);
    BOOST_TEST(r.result.text == want);
    BOOST_TEST(r.streamed() == want);
    BOOST_TEST(r.result.reason == lf::StopReason::StopString);
    BOOST_TEST(r.result.stop_string == stop);
  }
}

BOOST_AUTO_TEST_CASE(streaming_holds_back_only_a_possible_stop_prefix) {
  // " Hello" " EN" "D" "!" with stop "END": after " EN" only "EN" is held, so " " goes out at once.
  const auto r = run({t::kHello, t::kEn, t::kD, t::kBang}, {.max_tokens = 8, .stop = {"END"}});
  BOOST_TEST(r.pieces == (std::vector<std::string>{" Hello", " "}), boost::test_tools::per_element());
  BOOST_TEST(r.result.text == " Hello ");
  BOOST_TEST(r.result.tokens.size() == 3u);  // the token that completed the stop string counts
}

BOOST_AUTO_TEST_CASE(the_earliest_stop_string_wins_and_utf8_is_never_split) {
  const auto a = run({t::kHello, t::kWor, t::kLd, t::kBang}, {.max_tokens = 8, .stop = {"ld!", "o wo"}});
  BOOST_TEST(a.result.text == " Hell");
  BOOST_TEST(a.result.stop_string == "o wo");
  // " caf" C3 A9 "!" = " café!"; stop "é!" -> " caf". The lone C3 byte is never streamed by itself.
  const auto b = run({t::kCaf, t::kByteC3, t::kByteA9, t::kBang}, {.max_tokens = 8, .stop = {"\xC3\xA9!"}});
  BOOST_TEST(b.result.text == " caf");
  const auto c = run({t::kCaf, t::kByteC3, t::kByteA9, t::kBang}, {.max_tokens = 4});
  BOOST_TEST(c.pieces == (std::vector<std::string>{" caf", "\xC3\xA9", "!"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(held_back_text_is_released_when_generation_ends_otherwise) {
  // Stop "!!" never completes: the held "!" is released at max_tokens and at EOS.
  const auto a = run({t::kHello, t::kBang}, {.max_tokens = 2, .stop = {"!!"}});
  BOOST_TEST(a.result.text == " Hello!");
  const auto b = run({t::kHello, t::kBang, t::kEos}, {.max_tokens = 8, .stop = {"!!"}});
  BOOST_TEST(b.result.text == " Hello!");
  BOOST_TEST(b.result.reason == lf::StopReason::EndOfSequence);
}

BOOST_AUTO_TEST_CASE(every_end_of_generation_token_of_the_vocabulary_stops) {
  // EOS (tokenizer.ggml.eos_token_id), EOT (eot_token_id), EOM (eom_token_id) and the well-known
  // end-of-turn marker <|im_end|>: each ends generation, is not output and is reported.
  for (int32_t end : {t::kEos, t::kEot, t::kEom, t::kImEnd}) {
    const auto r = run({t::kHello, end, t::kWor}, {.max_tokens = 8});
    BOOST_TEST_INFO("token " << end);
    BOOST_TEST(r.result.reason == lf::StopReason::EndOfSequence);
    BOOST_TEST(r.result.tokens == std::vector<int32_t>{t::kHello}, boost::test_tools::per_element());
    BOOST_TEST(r.result.stop_token == end);
    BOOST_TEST(r.result.text == " Hello");
  }
  const auto go_on = run({t::kHello, t::kEos, t::kWor}, {.max_tokens = 3, .stop_at_eos = false});
  BOOST_TEST(go_on.result.tokens.size() == 3u);
  BOOST_TEST(go_on.result.reason == lf::StopReason::MaxTokens);
}

BOOST_AUTO_TEST_CASE(caller_stop_tokens_end_generation) {
  lf::GenerateOptions opt{.max_tokens = 8};
  opt.stop_tokens = {t::kLd};
  const auto r = run({t::kHello, t::kWor, t::kLd, t::kBang}, opt);
  BOOST_TEST(r.result.reason == lf::StopReason::StopToken);
  BOOST_TEST(r.result.text == " Hello wor");
  BOOST_TEST(std::string(r.result.reason_text()) == "stop_token");
}

BOOST_AUTO_TEST_CASE(max_tokens_bounds_output_and_skips_the_unused_forward_pass) {
  auto model = std::make_shared<t::FakeModel>(std::vector<int32_t>{t::kHello});
  const auto r = run(model, {.max_tokens = 5});
  BOOST_TEST(r.result.tokens.size() == 5u);
  BOOST_TEST(model->passes() == 5u);  // prefill + 4 decode steps; the 5th token needs none
  const auto none = run({t::kHello}, {.max_tokens = 0});
  BOOST_TEST(none.result.tokens.empty());
  BOOST_TEST(none.result.reason == lf::StopReason::MaxTokens);
}

BOOST_AUTO_TEST_CASE(a_full_context_stops_generation) {
  // Context 16, prompt 2: positions 2..15 take 14 forwarded tokens, the 15th is sampled but not run.
  lf::Generator gen(std::make_shared<t::FakeModel>(std::vector<int32_t>{t::kHello}), {.context = 16, .threads = 1});
  const auto r = gen.generate_tokens(kPrompt, {.max_tokens = 100});
  BOOST_TEST(r.reason == lf::StopReason::ContextFull);
  BOOST_TEST(r.tokens.size() == 15u);
}

BOOST_AUTO_TEST_CASE(cancellation_from_the_callback_stops_before_the_next_token) {
  auto cancel = lf::CancelToken::make();
  lf::Generator gen(std::make_shared<t::FakeModel>(std::vector<int32_t>{t::kHello}), {.context = 64, .threads = 1});
  int pieces = 0;
  lf::GenerateOptions opt{.max_tokens = 50};
  opt.cancel = cancel;
  const auto r = gen.generate_tokens(kPrompt, opt, [&](std::string_view) {
    if (++pieces == 3) cancel.request_stop();
  });
  BOOST_TEST(r.reason == lf::StopReason::Cancelled);
  BOOST_TEST(r.tokens.size() == 3u);
  // A cancelled request produces nothing, not even a prefill.
  auto model = std::make_shared<t::FakeModel>(std::vector<int32_t>{t::kHello});
  std::atomic<bool> flag{true};
  const auto before = run(model, {.max_tokens = 50, .cancel = &flag});
  BOOST_TEST(before.result.tokens.empty());
  BOOST_TEST(before.result.reason == lf::StopReason::Cancelled);
  BOOST_TEST(model->passes() == 0u);
}

BOOST_AUTO_TEST_CASE(cancellation_from_another_thread_stops_within_one_token) {
  // 10 ms per forward pass. The other thread cancels once 3 pieces have been streamed; at most the
  // token being computed at that moment may still come out.
  auto cancel = lf::CancelToken::make();
  lf::Generator gen(std::make_shared<t::FakeModel>(std::vector<int32_t>{t::kHello}, 10ms), {.context = 128, .threads = 1});
  std::atomic<int> streamed{0};
  std::atomic<int> at_cancel{-1};
  std::thread canceller([&] {
    while (streamed.load() < 3) std::this_thread::sleep_for(1ms);
    at_cancel = streamed.load();
    cancel.request_stop();
  });
  lf::GenerateOptions opt{.max_tokens = 100};
  opt.cancel = cancel;
  const auto r = gen.generate_tokens(kPrompt, opt, [&](std::string_view) { ++streamed; });
  canceller.join();
  BOOST_TEST(r.reason == lf::StopReason::Cancelled);
  BOOST_TEST(static_cast<int>(r.tokens.size()) <= at_cancel.load() + 1);
  BOOST_TEST(r.tokens.size() < 100u);
}

BOOST_AUTO_TEST_CASE(the_deadline_stops_within_one_token) {
  // 20 ms per forward pass, deadline 100 ms after the start: no token may be sampled after the
  // deadline, so at most one streams after it (sampled just before) and the call returns within about
  // one pass of it (the generous bound allows for a loaded machine).
  lf::Generator gen(std::make_shared<t::FakeModel>(std::vector<int32_t>{t::kHello}, 20ms), {.context = 128, .threads = 1});
  const auto deadline = Clock::now() + 100ms;
  int late = 0;
  const auto r = gen.generate_tokens(kPrompt, {.max_tokens = 100, .deadline = deadline}, [&](std::string_view) {
    if (Clock::now() > deadline) ++late;
  });
  const auto overshoot = Clock::now() - deadline;
  BOOST_TEST(r.reason == lf::StopReason::Deadline);
  BOOST_TEST(late <= 1);
  BOOST_TEST(r.tokens.size() < 100u);
  BOOST_TEST(std::chrono::duration<double>(overshoot).count() < 0.02 + 0.25);
  const auto past = gen.generate_tokens(kPrompt, {.max_tokens = 10, .deadline = Clock::now() - 1ms});
  BOOST_TEST(past.tokens.empty());
  BOOST_TEST(past.reason == lf::StopReason::Deadline);
}

BOOST_AUTO_TEST_CASE(the_result_reports_counts_timings_and_logprobs_per_token) {
  // 5 ms per pass: prefill >= 5 ms, first token after the prefill, 4 tokens over 3 decode passes.
  lf::Generator gen(std::make_shared<t::FakeModel>(std::vector<int32_t>{t::kHello, t::kWor, t::kLd, t::kBang}, 5ms),
                    {.context = 64, .threads = 1});
  lf::GenerateOptions opt{.max_tokens = 4, .sampler = lf::SamplerChain::greedy().logprobs(2)};
  std::vector<int32_t> seen;
  opt.on_token = [&](int32_t id, const lf::StepLogprobs* lp) {
    BOOST_TEST((lp && lp->chosen.id == id));
    seen.push_back(id);
  };
  const auto r = gen.generate_tokens(kPrompt, opt);
  BOOST_TEST(seen == r.tokens, boost::test_tools::per_element());
  BOOST_TEST(r.prompt_tokens.size() == 2u);
  BOOST_TEST(r.tokens.size() == 4u);
  BOOST_TEST(r.prompt_seconds >= 0.005);
  BOOST_TEST(r.time_to_first_token >= r.prompt_seconds);
  BOOST_TEST(r.generate_seconds >= 0.015);
  BOOST_TEST(r.prompt_tps() > 0);
  BOOST_TEST(r.generate_tps() > 0);
  BOOST_TEST(r.generate_tps() < 4 / 0.015);
  BOOST_REQUIRE(r.logprobs.size() == 4u);
  for (std::size_t i = 0; i < 4; ++i) {
    BOOST_TEST(r.logprobs[i].chosen.id == r.tokens[i]);
    BOOST_TEST(r.logprobs[i].chosen.logprob == 0.0f);  // greedy: the final distribution is one token
  }
}

BOOST_AUTO_TEST_CASE(dry_text_breakers_are_resolved_from_the_model_vocabulary) {
  // With DRY's default text breakers the Generator binds the vocabulary; sampling would throw otherwise.
  const auto r = run({t::kHello, t::kWor}, {.max_tokens = 3, .sampler = lf::SamplerChain::greedy().dry(0.8f)});
  BOOST_TEST(r.result.tokens.size() == 3u);
}

BOOST_AUTO_TEST_CASE(stories260k_greedy_story_stops_inside_a_word) {
  // llama.cpp's greedy continuation of "Once upon a time" is ", there was a little girl named Lily.";
  // the stop string "le gi" spans "little" and " girl".
  const auto path = std::filesystem::path(LLMFORGE_SOURCE_DIR) / "models/stories260K.gguf";
  lf::Generator gen(t::cached_model(path), {.context = 128, .threads = 1});
  std::string streamed;
  const auto r = gen.generate("Once upon a time", {.max_tokens = 32, .stop = {"le gi"}},
                              [&](std::string_view p) { streamed += p; });
  BOOST_TEST(r.text == ", there was a litt");
  BOOST_TEST(streamed == r.text);
  BOOST_TEST(r.reason == lf::StopReason::StopString);
}

BOOST_AUTO_TEST_CASE(stories260k_seeded_sampling_is_reproducible_and_starts_fresh_per_call) {
  // Same seed -> same story, also when the chain passed in was used before (generate() resets it).
  const auto path = std::filesystem::path(LLMFORGE_SOURCE_DIR) / "models/stories260K.gguf";
  lf::Generator gen(t::cached_model(path), {.context = 128, .threads = 1});
  auto chain = lf::SamplerChain{}.temperature(1.0f).top_k(0).top_p(1).min_p(0).seed(11);
  const auto a = gen.generate("Once upon a time", {.max_tokens = 24, .sampler = chain, .stop_at_eos = false});
  for (int i = 0; i < 5; ++i) (void)chain.sample(std::vector<float>(512, 0.0f));
  const auto b = gen.generate("Once upon a time", {.max_tokens = 24, .sampler = chain, .stop_at_eos = false});
  BOOST_TEST(a.tokens == b.tokens, boost::test_tools::per_element());
  const auto c = gen.generate("Once upon a time", {.max_tokens = 24, .sampler = chain.seed(12), .stop_at_eos = false});
  BOOST_TEST((c.tokens != a.tokens));
}

BOOST_AUTO_TEST_SUITE_END()
