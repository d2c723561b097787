// SPDX-License-Identifier: MIT
// Batch (generation/batch.hpp): several sequences in one forward pass per step give the tokens each
// gives alone; sequences join and leave mid-run; prompts are chunked and mixed with decode rows;
// slots reuse cached prefixes; memory budgets and oversized requests fail with the numbers.
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <map>
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
const std::vector<std::string> kPrompts{"p0", "p1", "p2", "p3"};

/// What a Generator alone produces for `ids`.
std::vector<int32_t> alone(std::shared_ptr<const lf::Model> m, const std::vector<int32_t>& ids, lf::GenerateOptions o) {
  lf::Generator g(std::move(m), {.context = 256, .threads = 2});
  return g.generate_tokens(ids, std::move(o)).tokens;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(batch, *utf::precondition(t::needs_file(arch_model("qwen2-f32"))))

// Greedy: a batch of the 4 reference prompts equals the 4 single runs, token for token (gpt2 also
// checks the per-sequence learned position embeddings; the chunked variant mixes prompt chunks with
// decode rows in the same pass).
BOOST_DATA_TEST_CASE(four_prompts_at_once_equal_four_single_runs,
                     bdata::make({"qwen2-f32", "llama3rope-f32", "gpt2-f32", "gemma2-q8_0"}) * bdata::make({512u, 5u}), model, chunk) {
  auto m = t::cached_model(arch_model(model));
  lf::Batch b(m, {.slots = 4, .context = 256, .threads = 2, .max_pass_tokens = chunk});
  const lf::GenerateOptions o{.max_tokens = 16, .stop_at_eos = false};
  std::map<lf::Batch::SequenceId, std::string> which;
  for (const auto& p : kPrompts) which[b.add(prompt_ids(std::string(model).substr(0, std::string(model).find('-')) + "-f32", p), o)] = p;
  std::size_t steps = 0;
  while (b.step() > 0) ++steps;
  BOOST_TEST_MESSAGE(model << " chunk " << chunk << ": " << steps << " steps");
  for (const auto& [id, p] : which) {
    const auto ids = prompt_ids(std::string(model).substr(0, std::string(model).find('-')) + "-f32", p);
    auto r = b.take(id);
    BOOST_REQUIRE(r.has_value());
    BOOST_TEST(r->tokens == alone(m, ids, o), boost::test_tools::per_element());
    BOOST_TEST((r->reason == lf::StopReason::MaxTokens));
    BOOST_TEST(r->prompt_tokens == ids, boost::test_tools::per_element());
  }
}

BOOST_AUTO_TEST_CASE(sequences_join_and_leave_without_disturbing_the_others) {
  auto m = t::cached_model(arch_model("qwen2-f32"));
  lf::Batch b(m, {.slots = 3, .context = 256, .threads = 2});
  const lf::GenerateOptions greedy{.max_tokens = 20, .stop_at_eos = false};
  const auto seeded = lf::GenerateOptions{.max_tokens = 20, .sampler = lf::SamplerChain{}.temperature(0.9f).seed(3), .stop_at_eos = false};
  std::map<lf::Batch::SequenceId, std::string> streamed;
  const auto a = b.add(prompt_ids("qwen2-f32", "p0"), greedy, [&](std::string_view s) { streamed[1] += s; });
  const auto c = b.add(prompt_ids("qwen2-f32", "p1"), seeded);
  for (int i = 0; i < 5; ++i) b.step();
  const auto d = b.add(prompt_ids("qwen2-f32", "p2"), greedy);   // joins mid-run
  const auto e = b.add(prompt_ids("qwen2-f32", "p3"), greedy);   // waits: 3 slots
  BOOST_TEST(b.waiting() == 2u);  // both join at the next step, if there is room
  b.step();
  BOOST_TEST(b.waiting() == 1u);
  BOOST_TEST(b.running() == 3u);
  for (int i = 0; i < 2; ++i) b.step();
  BOOST_TEST(b.cancel(c));                                        // leaves mid-run, frees a slot for e
  BOOST_TEST(!b.cancel(12345));
  b.run_until_done();
  BOOST_TEST(b.take(a)->tokens == alone(m, prompt_ids("qwen2-f32", "p0"), greedy), boost::test_tools::per_element());
  BOOST_TEST(b.take(d)->tokens == alone(m, prompt_ids("qwen2-f32", "p2"), greedy), boost::test_tools::per_element());
  BOOST_TEST(b.take(e)->tokens == alone(m, prompt_ids("qwen2-f32", "p3"), greedy), boost::test_tools::per_element());
  auto rc = b.take(c);
  BOOST_REQUIRE(rc.has_value());
  BOOST_TEST((rc->reason == lf::StopReason::Cancelled));
  // The cancelled sequence's tokens so far are those of its seeded single run.
  auto full = alone(m, prompt_ids("qwen2-f32", "p1"), seeded);
  BOOST_REQUIRE(rc->tokens.size() <= full.size());
  full.resize(rc->tokens.size());
  BOOST_TEST(rc->tokens == full, boost::test_tools::per_element());
  BOOST_TEST(!b.take(a).has_value());  // taken once
  BOOST_TEST(b.idle());
  BOOST_TEST(!streamed[1].empty());
}

BOOST_AUTO_TEST_CASE(a_slot_reuses_the_longest_cached_prefix) {
  auto m = t::cached_model(arch_model("llama3rope-f32"));
  lf::Batch b(m, {.slots = 2, .context = 512, .threads = 2});
  std::vector<int32_t> system;
  while (system.size() < 200)
    for (const auto& p : kPrompts)
      for (int32_t id : prompt_ids("llama3rope-f32", p)) system.push_back(id);
  system.resize(200);
  auto with = [&](const std::string& p) {
    auto ids = system;
    for (int32_t id : prompt_ids("llama3rope-f32", p)) ids.push_back(id);
    return ids;
  };
  const lf::GenerateOptions o{.max_tokens = 6, .stop_at_eos = false};
  const auto first = b.add(with("p0"), o);
  b.run_until_done();
  BOOST_TEST(b.take(first)->prompt_cached == 0u);
  int done = 0;
  lf::GenerationResult second;
  b.add(with("p1"), o, {}, [&](lf::Batch::SequenceId, lf::GenerationResult&& r) { second = std::move(r), ++done; });
  b.run_until_done();
  BOOST_TEST(done == 1);
  BOOST_TEST(second.prompt_cached >= 200u);
  BOOST_TEST(second.prompt_processed() == with("p1").size() - second.prompt_cached);
  BOOST_TEST(second.tokens == alone(m, with("p1"), o), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(budgets_and_oversized_requests_fail_with_the_numbers) {
  auto m = t::cached_model(arch_model("qwen2-f32"));
  const auto kv = m->kv_options();
  const std::size_t per_pos = lf::KvCache::bytes_for(m->config(), 16, kv) / 16;
  lf::Batch b(m, {.slots = 4, .memory_budget = 4 * 100 * per_pos, .threads = 1});
  BOOST_TEST(b.slot_capacity() >= 96u);
  BOOST_TEST(b.slot_capacity() <= 100u);
  BOOST_TEST(b.kv_bytes() <= 4 * 100 * per_pos);
  BOOST_CHECK_EXCEPTION(lf::Batch(m, {.slots = 4, .memory_budget = 100, .threads = 1}), lf::ConfigError,
                        [](const lf::ConfigError& e) { return std::string(e.what()).find("bytes per position") != std::string::npos; });
  BOOST_CHECK_EXCEPTION(lf::Batch(m, {.slots = 4, .context = 400, .memory_budget = 4 * 100 * per_pos, .threads = 1}), lf::ConfigError,
                        [](const lf::ConfigError& e) { return std::string(e.what()).find("the budget is") != std::string::npos; });
  BOOST_CHECK_THROW(lf::Batch(m, {.slots = 0}), lf::ConfigError);
  std::vector<int32_t> long_prompt(b.slot_capacity(), 5);
  BOOST_CHECK_EXCEPTION(b.add(long_prompt, {}), lf::ConfigError,
                        [](const lf::ConfigError& e) { return std::string(e.what()).find("a batch slot holds") != std::string::npos; });
  BOOST_CHECK_THROW(b.add(std::vector<int32_t>{}, {}), lf::ConfigError);
  BOOST_CHECK_THROW(b.add(std::vector<int32_t>{1, 2}, {.sampler = lf::SamplerChain{}.temperature(-1.0f)}), lf::ConfigError);
}

BOOST_AUTO_TEST_CASE(a_sequence_that_fills_its_slot_stops_with_context_full) {
  auto m = t::cached_model(arch_model("qwen2-f32"));
  lf::Batch b(m, {.slots = 1, .context = 16, .threads = 1});
  const auto id = b.add(prompt_ids("qwen2-f32", "p0"), {.max_tokens = 100, .stop_at_eos = false});
  b.run_until_done();
  auto r = b.take(id);
  BOOST_TEST((r->reason == lf::StopReason::ContextFull));
  BOOST_TEST(r->prompt_tokens.size() + r->tokens.size() == 17u);  // 16 positions run, the last sampled token not
}

BOOST_AUTO_TEST_SUITE_END()
