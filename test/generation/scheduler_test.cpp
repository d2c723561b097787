// SPDX-License-Identifier: MIT
// Scheduler (generation/scheduler.hpp): requests from several threads run in one batch and give the
// tokens of single runs; the queue is bounded; cancel tokens and shutdown end requests cleanly.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include <llmforge/llmforge.hpp>

#include "common/model_fixtures.hpp"
#include "common/test_data.hpp"
#include "generation/arch_data.hpp"

namespace lf = llmforge;
namespace t = llmforge::test;
namespace utf = boost::unit_test;

namespace {
using t::arch_model;
std::vector<int32_t> prompt_ids(const std::string& p) { return t::arch_prompt_ids("qwen2-f32", p); }
}  // namespace

BOOST_AUTO_TEST_SUITE(scheduler, *utf::precondition(t::needs_file(arch_model("qwen2-f32"))))

BOOST_AUTO_TEST_CASE(requests_from_several_threads_give_the_tokens_of_single_runs) {
  auto m = t::cached_model(arch_model("qwen2-f32"));
  lf::Scheduler sched(m, {.batch = {.slots = 3, .context = 128, .threads = 2}});
  const lf::GenerateOptions o{.max_tokens = 12, .stop_at_eos = false};
  const std::vector<std::string> prompts{"p0", "p1", "p2", "p3", "p0", "p2"};
  std::vector<std::promise<lf::GenerationResult>> results(prompts.size());
  std::vector<std::thread> clients;
  for (std::size_t c = 0; c < 3; ++c)
    clients.emplace_back([&, c] {
      for (std::size_t i = c; i < prompts.size(); i += 3)
        BOOST_REQUIRE(sched.submit({prompt_ids(prompts[i]), o, {}, [&, i](lf::GenerationResult&& r) { results[i].set_value(std::move(r)); }, {}}));
    });
  for (auto& th : clients) th.join();
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    auto r = results[i].get_future().get();
    lf::Generator alone(m, {.context = 128, .threads = 2});
    BOOST_TEST(r.tokens == alone.generate_tokens(prompt_ids(prompts[i]), o).tokens, boost::test_tools::per_element());
  }
  const auto st = sched.stats();
  BOOST_TEST(st.completed == prompts.size());
  BOOST_TEST(st.tokens == prompts.size() * 12);
  BOOST_TEST(st.rows > st.steps);  // some passes carried several sequences
}

BOOST_AUTO_TEST_CASE(a_full_queue_refuses_and_every_accepted_request_completes) {
  auto m = t::cached_model(arch_model("qwen2-f32"));
  std::atomic<int> done{0};
  int accepted = 0;
  {
    lf::Scheduler sched(m, {.batch = {.slots = 1, .context = 128, .threads = 1}, .max_queue = 2});
    for (int i = 0; i < 20; ++i)
      accepted += sched.submit({prompt_ids("p1"), {.max_tokens = 64, .stop_at_eos = false}, {}, [&](lf::GenerationResult&&) { ++done; }, {}});
    BOOST_TEST(accepted < 20);
    BOOST_TEST(sched.stats().rejected == static_cast<uint64_t>(20 - accepted));
    while (done.load() < accepted) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  BOOST_TEST(done.load() == accepted);
}

BOOST_AUTO_TEST_CASE(cancel_tokens_errors_and_shutdown_end_requests) {
  auto m = t::cached_model(arch_model("qwen2-f32"));
  std::promise<lf::GenerationResult> cancelled, at_shutdown;
  std::promise<std::string> error;
  {
    lf::Scheduler sched(m, {.batch = {.slots = 2, .context = 256, .threads = 1}});
    auto token = lf::CancelToken::make();
    std::atomic<int> pieces{0};
    BOOST_REQUIRE(sched.submit({prompt_ids("p0"), {.max_tokens = 200, .stop_at_eos = false, .cancel = token},
                                [&](std::string_view) { if (++pieces == 3) token.request_stop(); },
                                [&](lf::GenerationResult&& r) { cancelled.set_value(std::move(r)); }, {}}));
    const auto r = cancelled.get_future().get();
    BOOST_TEST((r.reason == lf::StopReason::Cancelled));
    BOOST_TEST(r.tokens.size() < 200u);
    BOOST_REQUIRE(sched.submit({std::vector<int32_t>(300, 5), {}, {}, {}, [&](std::exception_ptr e) {
                                  try { std::rethrow_exception(e); } catch (const std::exception& x) { error.set_value(x.what()); }
                                }}));
    BOOST_TEST(error.get_future().get().find("a batch slot holds") != std::string::npos);
    BOOST_REQUIRE(sched.submit({prompt_ids("p2"), {.max_tokens = 250, .stop_at_eos = false}, {},
                                [&](lf::GenerationResult&& res) { at_shutdown.set_value(std::move(res)); }, {}}));
  }  // destroyed while running
  const auto s = at_shutdown.get_future().get();
  BOOST_TEST((s.reason == lf::StopReason::Cancelled || s.reason == lf::StopReason::MaxTokens));
}

BOOST_AUTO_TEST_SUITE_END()
