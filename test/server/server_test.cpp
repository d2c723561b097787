// SPDX-License-Identifier: MIT
// Tests for the server's headers (examples/server): request validation with errors naming the field,
// the slot scheduler (greedy equals the Generator, requests joining and leaving between steps do not
// disturb each other, bounded queue, cancellation, deadlines, prefix reuse), SHA-256, Base64.
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <llmforge/llmforge.hpp>

#include "common/model_fixtures.hpp"
#include "common/test_data.hpp"
#include "protocol.hpp"
#include "scheduler.hpp"
#include "sha256.hpp"

namespace lf = llmforge;
namespace sv = llmforge::server;
namespace t = llmforge::test;
namespace utf = boost::unit_test;
using namespace std::chrono_literals;

namespace {

std::filesystem::path stories() { return t::source_dir() / "models/stories260K.gguf"; }

/// Expects `f` to throw an ApiError with `status` whose param is `param` and whose message contains `text`.
template <class F>
void expect_error(F&& f, int status, const std::string& param, const std::string& text) {
  try {
    f();
    BOOST_ERROR("no ApiError thrown (expected param '" << param << "')");
  } catch (const sv::ApiError& e) {
    BOOST_TEST(e.status == status);
    BOOST_TEST(e.param == param);
    BOOST_TEST(std::string(e.what()).find(text) != std::string::npos, "message '" << e.what() << "' lacks '" << text << "'");
  }
}

sv::Json chat_body() { return sv::Json::parse(R"({"model": "m", "messages": [{"role": "user", "content": "hi"}]})"); }

/// Runs jobs on a scheduler and collects their results.
struct Collected {
  std::mutex mu;
  std::vector<sv::ChoiceResult> results;
  std::string streamed;
  std::promise<void> done;
};

std::shared_ptr<sv::Job> make_job(const lf::Model& m, const std::string& prompt, std::size_t max_tokens, std::shared_ptr<Collected> c) {
  auto job = std::make_shared<sv::Job>();
  job->prompt = m.tokenizer().encode(prompt);
  job->sampler = lf::SamplerConfig{};
  job->sampler.temperature = 0;
  job->stop.max_tokens = max_tokens;
  job->on_token = [c](const sv::TokenEvent& e) {
    std::lock_guard lock(c->mu);
    c->streamed += e.text;
  };
  job->on_choice_done = [c](const sv::ChoiceResult& r) {
    std::lock_guard lock(c->mu);
    c->results.push_back(r);
  };
  job->on_done = [c] { c->done.set_value(); };
  return job;
}

std::unique_ptr<sv::Scheduler> make_scheduler(std::shared_ptr<const lf::Model> m, std::size_t slots, std::size_t queue) {
  auto engine = std::make_unique<sv::BatchEngine>(m, slots, lf::SessionOptions{.context = 256, .threads = 1});
  return std::make_unique<sv::Scheduler>(m, std::move(engine), sv::Scheduler::Options{queue});
}

std::string generator_text(std::shared_ptr<const lf::Model> m, const std::string& prompt, std::size_t n) {
  lf::Generator gen(m, {.context = 256, .threads = 1});
  return gen.generate(prompt, {.max_tokens = n}).text;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(protocol)

BOOST_AUTO_TEST_CASE(malformed_json_and_non_objects_are_400) {
  expect_error([] { (void)sv::parse_body("{\"model\": "); }, 400, "", "not valid JSON");
  expect_error([] { (void)sv::parse_body("[1, 2]"); }, 400, "", "must be a JSON object");
  expect_error([] { (void)sv::parse_body(""); }, 400, "", "empty");
}

BOOST_AUTO_TEST_CASE(every_wrong_field_is_named) {
  auto with = [](const char* key, sv::Json v) {
    auto j = chat_body();
    j[key] = std::move(v);
    return j;
  };
  expect_error([&] { (void)sv::parse_openai_generation(with("temperature", "hot"), true); }, 400, "temperature", "must be a number");
  expect_error([&] { (void)sv::parse_openai_generation(with("temperature", 3), true); }, 400, "temperature", "[0, 2]");
  expect_error([&] { (void)sv::parse_openai_generation(with("top_p", 0), true); }, 400, "top_p", "(0, 1]");
  expect_error([&] { (void)sv::parse_openai_generation(with("max_tokens", 1.5), true); }, 400, "max_tokens", "integer");
  expect_error([&] { (void)sv::parse_openai_generation(with("max_tokens", -1), true); }, 400, "max_tokens", "must be in");
  expect_error([&] { (void)sv::parse_openai_generation(with("n", 0), true); }, 400, "n", "[1, 16]");
  expect_error([&] { (void)sv::parse_openai_generation(with("stream", "yes"), true); }, 400, "stream", "boolean");
  expect_error([&] { (void)sv::parse_openai_generation(with("stop", 5), true); }, 400, "stop", "string or an array");
  expect_error([&] { (void)sv::parse_openai_generation(with("stop", sv::Json::array({"a", 1})), true); }, 400, "stop", "stop[1]");
  expect_error([&] { (void)sv::parse_openai_generation(with("seed", "x"), true); }, 400, "seed", "integer");
  expect_error([&] { (void)sv::parse_openai_generation(with("top_logprobs", 3), true); }, 400, "top_logprobs", "logprobs");
  expect_error([&] { (void)sv::parse_openai_generation(with("logit_bias", sv::Json{{"abc", 1}}), true); }, 400, "logit_bias", "not a token id");
  expect_error([&] { (void)sv::parse_openai_generation(with("model", 7), true); }, 400, "model", "must be a string");
  expect_error([&] { (void)sv::parse_openai_generation(with("messages", "hi"), true); }, 400, "messages", "must be an array");
  expect_error([&] { (void)sv::parse_openai_generation(with("messages", sv::Json::array({{{"role", "robot"}}})), true); }, 400,
               "messages[0].role", "must be system");
  expect_error([&] { (void)sv::parse_openai_generation(with("messages", sv::Json::array({{{"role", "user"}, {"content", 3}}})), true); }, 400,
               "messages[0].content", "must be a string");
  expect_error([&] { (void)sv::parse_openai_generation(sv::Json{{"model", "m"}}, false); }, 400, "prompt", "required");
  expect_error([&] { (void)sv::parse_openai_generation(sv::Json{{"prompt", "x"}}, false); }, 400, "model", "required");
  expect_error([&] { (void)sv::parse_openai_generation(sv::Json{{"model", "m"}, {"prompt", sv::Json::array({1, -2})}}, false); }, 400, "prompt",
               "prompt[1]");
  expect_error([&] { (void)sv::parse_openai_generation(sv::Json{{"model", "m"}, {"prompt", "x"}, {"logprobs", 9}}, false); }, 400, "logprobs",
               "[0, 5]");
  expect_error([&] { (void)sv::parse_ollama_generation(sv::Json{{"model", "m"}, {"options", {{"temperature", "x"}}}}, false); }, 400,
               "options.temperature", "must be a number");
  expect_error([&] { (void)sv::parse_ollama_generation(sv::Json{{"model", "m"}, {"options", 3}}, false); }, 400, "options", "object");
  expect_error([&] { (void)sv::parse_openai_embeddings(sv::Json{{"model", "m"}, {"input", 3}}); }, 400, "input", "string or a non-empty array");
  expect_error([&] { (void)sv::parse_openai_embeddings(sv::Json{{"model", "m"}, {"input", "x"}, {"encoding_format", "hex"}}); }, 400,
               "encoding_format", "float or base64");
  expect_error([&] { (void)sv::parse_ollama_embed(sv::Json{{"model", "m"}, {"input", sv::Json::array({"a", 2})}}); }, 400, "input", "input[1]");
}

BOOST_AUTO_TEST_CASE(valid_requests_carry_their_settings) {
  auto j = chat_body();
  j.update(sv::Json::parse(R"({"temperature": 0, "top_p": 0.5, "max_tokens": 7, "seed": 42, "n": 2, "stop": "x",
                               "logprobs": true, "top_logprobs": 3, "stream": true, "stream_options": {"include_usage": true}})"));
  const auto r = sv::parse_openai_generation(j, true);
  BOOST_TEST(r.sampler.temperature == 0.0f);
  BOOST_TEST(r.sampler.top_p == 0.5f);
  BOOST_TEST(*r.max_tokens == 7u);
  BOOST_TEST(*r.seed == 42u);
  BOOST_TEST(r.n == 2u);
  BOOST_TEST(r.stop == std::vector<std::string>{"x"}, boost::test_tools::per_element());
  BOOST_TEST(r.logprobs);
  BOOST_TEST(r.top_logprobs == 3u);
  BOOST_TEST(r.stream);
  BOOST_TEST(r.include_usage);
  const auto c = sv::parse_openai_generation(sv::Json::parse(R"({"model": "m", "prompt": [1, 403], "logprobs": 2})"), false);
  BOOST_TEST(*c.prompt_tokens == (std::vector<int32_t>{1, 403}), boost::test_tools::per_element());
  BOOST_TEST(c.top_logprobs == 2u);
  const auto o = sv::parse_ollama_generation(sv::Json::parse(R"({"model": "m", "prompt": "p", "options": {"num_predict": 5, "seed": 1}})"), false);
  BOOST_TEST(o.stream);  // Ollama streams unless told not to
  BOOST_TEST(*o.max_tokens == 5u);
  BOOST_TEST(o.sampler.top_k == 40);  // Ollama's defaults
  const auto e = sv::parse_openai_embeddings(sv::Json::parse(R"({"model": "m", "input": ["a", "b"], "encoding_format": "base64"})"));
  BOOST_TEST(e.texts.size() == 2u);
  BOOST_TEST(e.base64);
}

BOOST_AUTO_TEST_CASE(error_bodies_follow_each_api) {
  const sv::ApiError e(400, "'n' must be in [1, 16], got 0", "n");
  const auto o = sv::openai_error(e);
  BOOST_TEST(o["error"]["message"] == "'n' must be in [1, 16], got 0");
  BOOST_TEST(o["error"]["param"] == "n");
  BOOST_TEST(o["error"]["type"] == "invalid_request_error");
  BOOST_TEST(sv::ollama_error(e)["error"] == "'n' must be in [1, 16], got 0");
}

BOOST_AUTO_TEST_CASE(sha256_base64_and_key_comparison) {
  BOOST_TEST(sv::sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  BOOST_TEST(sv::sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  BOOST_TEST(sv::sha256_hex(std::string(1000, 'a')) == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3");
  BOOST_TEST(sv::base64("Man", 3) == "TWFu");
  BOOST_TEST(sv::base64("Ma", 2) == "TWE=");
  BOOST_TEST(sv::base64("M", 1) == "TQ==");
  const float one = 1.0f;  // 00 00 80 3f
  BOOST_TEST(sv::base64(&one, 4) == "AACAPw==");
  BOOST_TEST(sv::constant_time_equal("secret", "secret"));
  BOOST_TEST(!sv::constant_time_equal("secret", "secreT"));
  BOOST_TEST(!sv::constant_time_equal("secret", "secret2"));
  BOOST_TEST(!sv::constant_time_equal("", "x"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(scheduler)

BOOST_AUTO_TEST_CASE(greedy_job_equals_the_generator, *utf::precondition(t::needs_file(stories()))) {
  auto m = t::cached_model(stories());
  auto s = make_scheduler(m, 2, 4);
  auto c = std::make_shared<Collected>();
  auto f = c->done.get_future();
  BOOST_REQUIRE(s->submit(make_job(*m, "Once upon a time", 40, c)));
  BOOST_REQUIRE(f.wait_for(30s) == std::future_status::ready);
  BOOST_REQUIRE(c->results.size() == 1u);
  BOOST_TEST(c->results[0].text == generator_text(m, "Once upon a time", 40));
  BOOST_TEST(c->streamed == c->results[0].text);
}

BOOST_AUTO_TEST_CASE(jobs_joining_and_leaving_do_not_disturb_each_other, *utf::precondition(t::needs_file(stories()))) {
  auto m = t::cached_model(stories());
  auto s = make_scheduler(m, 3, 16);
  const std::vector<std::string> prompts{"Once upon a time", "The little dog", "Lily and Tom went", "One day, a cat", "The sun was"};
  const std::vector<std::size_t> lengths{30, 5, 20, 12, 25};  // different lengths: sequences leave at different steps
  std::vector<std::shared_ptr<Collected>> cs;
  std::vector<std::future<void>> fs;
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    cs.push_back(std::make_shared<Collected>());
    fs.push_back(cs.back()->done.get_future());
    BOOST_REQUIRE(s->submit(make_job(*m, prompts[i], lengths[i], cs.back())));
    if (i == 2) std::this_thread::sleep_for(2ms);  // later ones join a running batch
  }
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    BOOST_REQUIRE(fs[i].wait_for(30s) == std::future_status::ready);
    BOOST_TEST_CONTEXT("prompt " << i) {
      BOOST_REQUIRE(cs[i]->results.size() == 1u);
      BOOST_TEST(cs[i]->results[0].text == generator_text(m, prompts[i], lengths[i]));
    }
  }
  BOOST_TEST(s->stats().active == 0u);
}

BOOST_AUTO_TEST_CASE(a_full_queue_refuses_jobs, *utf::precondition(t::needs_file(stories()))) {
  auto m = t::cached_model(stories());
  auto s = make_scheduler(m, 1, 1);
  std::promise<void> release;
  auto gate = release.get_future().share();
  auto c1 = std::make_shared<Collected>(), c2 = std::make_shared<Collected>(), c3 = std::make_shared<Collected>();
  auto f1 = c1->done.get_future(), f2 = c2->done.get_future();
  auto started = std::make_shared<std::promise<void>>();
  auto j1 = make_job(*m, "Once upon a time", 4, c1);
  j1->on_start = [gate, started] {
    started->set_value();
    gate.wait();  // holds the scheduler thread: the one slot stays busy
  };
  BOOST_REQUIRE(s->submit(j1));
  started->get_future().wait();
  BOOST_TEST(s->submit(make_job(*m, "The dog", 4, c2)));      // takes the one queue place
  BOOST_TEST(!s->submit(make_job(*m, "The cat", 4, c3)));     // refused: the caller answers 503
  BOOST_TEST(s->stats().rejected == 1u);
  release.set_value();
  BOOST_TEST((f1.wait_for(30s) == std::future_status::ready));
  BOOST_TEST((f2.wait_for(30s) == std::future_status::ready));
}

BOOST_AUTO_TEST_CASE(cancellation_and_deadline_stop_within_one_token, *utf::precondition(t::needs_file(stories()))) {
  auto m = t::cached_model(stories());
  auto s = make_scheduler(m, 2, 4);
  auto c = std::make_shared<Collected>();
  auto f = c->done.get_future();
  auto job = make_job(*m, "Once upon a time", 1000, c);
  job->stop.stop_at_eos = false;
  auto cancel = lf::CancelToken::make();
  job->stop.cancel = cancel;
  auto tokens = std::make_shared<std::size_t>(0);
  job->on_token = [cancel, tokens](const sv::TokenEvent&) {
    if (++*tokens == 3) cancel.request_stop();
  };
  BOOST_REQUIRE(s->submit(job));
  BOOST_REQUIRE(f.wait_for(30s) == std::future_status::ready);
  BOOST_TEST(c->results[0].reason == lf::StopReason::Cancelled);
  BOOST_TEST(c->results[0].tokens.size() == 3u);

  auto d = std::make_shared<Collected>();
  auto g = d->done.get_future();
  auto late = make_job(*m, "Once upon a time", 1000, d);
  late->stop.deadline = std::chrono::steady_clock::now() - 1ms;
  BOOST_REQUIRE(s->submit(late));
  BOOST_REQUIRE(g.wait_for(30s) == std::future_status::ready);
  BOOST_TEST(d->results[0].reason == lf::StopReason::Deadline);
  BOOST_TEST(d->results[0].tokens.empty());
}

BOOST_AUTO_TEST_CASE(a_repeated_prompt_reuses_the_cached_prefix, *utf::precondition(t::needs_file(stories()))) {
  auto m = t::cached_model(stories());
  auto s = make_scheduler(m, 1, 4);
  const std::string prompt = "Once upon a time, there was a little girl named Lily. She liked to";
  std::vector<std::string> texts;
  std::vector<std::size_t> cached;
  for (int k = 0; k < 2; ++k) {
    auto c = std::make_shared<Collected>();
    auto f = c->done.get_future();
    auto job = make_job(*m, prompt, 10, c);
    BOOST_REQUIRE(s->submit(job));
    BOOST_REQUIRE(f.wait_for(30s) == std::future_status::ready);
    texts.push_back(c->results[0].text);
    cached.push_back(job->cached_prompt_tokens);
  }
  const std::size_t n = m->tokenizer().encode(prompt).size();
  BOOST_TEST(cached[0] == 0u);
  BOOST_TEST(cached[1] == n - 1);  // all but the last prompt token came from the cache
  BOOST_TEST(texts[0] == texts[1]);
  BOOST_TEST(s->stats().cached_prompt_tokens == n - 1);
}

BOOST_AUTO_TEST_CASE(n_choices_use_consecutive_seeds_and_stop_strings_apply, *utf::precondition(t::needs_file(stories()))) {
  auto m = t::cached_model(stories());
  auto s = make_scheduler(m, 1, 4);
  auto c = std::make_shared<Collected>();
  auto f = c->done.get_future();
  auto job = make_job(*m, "Once upon a time", 32, c);
  job->n = 3;
  job->stop.stop = {"le gi"};
  BOOST_REQUIRE(s->submit(job));
  BOOST_REQUIRE(f.wait_for(30s) == std::future_status::ready);
  BOOST_REQUIRE(c->results.size() == 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    BOOST_TEST(c->results[i].choice == i);
    BOOST_TEST(c->results[i].text == ", there was a litt");  // greedy: every choice the same, cut at the stop string
    BOOST_TEST(c->results[i].reason == lf::StopReason::StopString);
  }
}

BOOST_AUTO_TEST_CASE(stop_cancels_queued_and_running_jobs, *utf::precondition(t::needs_file(stories()))) {
  auto m = t::cached_model(stories());
  auto s = make_scheduler(m, 1, 8);
  std::vector<std::shared_ptr<Collected>> cs;
  std::vector<std::future<void>> fs;
  for (int i = 0; i < 4; ++i) {
    cs.push_back(std::make_shared<Collected>());
    fs.push_back(cs.back()->done.get_future());
    auto job = make_job(*m, "Once upon a time", 200, cs.back());
    job->stop.stop_at_eos = false;
    BOOST_REQUIRE(s->submit(job));
  }
  s->stop();
  for (auto& f : fs) BOOST_TEST((f.wait_for(5s) == std::future_status::ready));  // every on_done ran
  BOOST_TEST(!s->submit(make_job(*m, "x", 1, std::make_shared<Collected>())));
}

BOOST_AUTO_TEST_SUITE_END()
