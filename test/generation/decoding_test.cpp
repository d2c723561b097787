// SPDX-License-Identifier: MIT
// Speculative decoding, prefix reuse between calls, and saved sequence states, on the per-architecture
// reference models (../shared/reference/arch) whose greedy continuations llama.cpp recorded.
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
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
const auto golden = t::arch_golden;
const lf::SessionOptions kF32Session{.context = 256, .threads = 2, .cache_type_k = lf::KvType::F32, .cache_type_v = lf::KvType::F32};

/// A prompt of `n` tokens from the reference prompts' ids, repeated.
std::vector<int32_t> long_prompt(std::size_t n) {
  std::vector<int32_t> ids;
  for (const char* p : {"p0", "p1", "p2", "p3"})
    for (int32_t id : golden("qwen2-f32", p)["prompt_ids"].get<std::vector<int32_t>>()) ids.push_back(id);
  std::vector<int32_t> out;
  while (out.size() < n) out.push_back(ids[out.size() % ids.size()]);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(speculative, *utf::precondition(t::needs_file(arch_model("qwen2-f32"))))

// The target's greedy tokens (llama.cpp's greedy_ids, which the plain run reproduces on these models)
// are exactly what speculative decoding produces, with a quantized copy of the model drafting.
BOOST_DATA_TEST_CASE(a_draft_model_changes_nothing_but_the_speed,
                     bdata::make({"qwen2", "llama3rope", "gpt2"}) * bdata::make({"p0", "p1", "p2", "p3"}), model, prompt) {
  const std::string name = model;
  const auto gold = golden(name + "-f32", prompt);
  const std::vector<int32_t> ids = gold["prompt_ids"];
  const std::vector<int32_t> greedy = gold["greedy_ids"];
  auto target = t::cached_model(arch_model(name + "-f32"));
  lf::Generator plain(target, kF32Session), spec(target, kF32Session);
  const auto a = plain.generate_tokens(ids, {.max_tokens = greedy.size(), .stop_at_eos = false});
  auto drafter = std::make_shared<lf::DraftModelDrafter>(t::cached_model(arch_model(name + "-q8_0")), target->config().vocab_size);
  for (std::size_t n : {1u, 4u, 8u}) {
    const auto b = spec.generate_tokens(ids, {.max_tokens = greedy.size(), .stop_at_eos = false, .drafter = drafter, .draft_tokens = n});
    BOOST_TEST(b.tokens == a.tokens, boost::test_tools::per_element());
    BOOST_TEST(b.draft_proposed > 0u);
    BOOST_TEST_MESSAGE(name << " " << prompt << " draft-n " << n << ": accepted " << b.draft_accepted << " of " << b.draft_proposed);
  }
  // The plain run is llama.cpp's greedy continuation (the fidelity tests allow one flip at a near-tie).
  std::size_t same = 0;
  for (std::size_t i = 0; i < greedy.size() && i < a.tokens.size() && a.tokens[i] == greedy[i]; ++i) ++same;
  BOOST_TEST(same >= greedy.size() / 2);
}

BOOST_AUTO_TEST_CASE(the_q8_draft_of_a_model_is_mostly_right) {
  // A q8_0 copy agrees with its f32 model on most greedy steps: a useful drafter, not a trivial one.
  auto target = t::cached_model(arch_model("qwen2-f32"));
  auto drafter = std::make_shared<lf::DraftModelDrafter>(t::cached_model(arch_model("qwen2-q8_0")), target->config().vocab_size);
  lf::Generator gen(target, kF32Session);
  std::size_t proposed = 0, accepted = 0;
  for (const char* p : {"p0", "p1", "p2", "p3"}) {
    const auto r = gen.generate_tokens(golden("qwen2-f32", p)["prompt_ids"].get<std::vector<int32_t>>(),
                                       {.max_tokens = 32, .stop_at_eos = false, .drafter = drafter, .draft_tokens = 4});
    proposed += r.draft_proposed, accepted += r.draft_accepted;
  }
  BOOST_TEST_MESSAGE("qwen2 q8_0 draft: accepted " << accepted << " of " << proposed);
  BOOST_TEST(accepted * 2 > proposed);
}

BOOST_AUTO_TEST_CASE(prompt_lookup_and_seeded_sampling_are_unchanged_too) {
  // Every token is still drawn from the target's logits with the same random stream, so even seeded
  // sampling gives the same tokens with a drafter; prompt lookup guesses from repeated n-grams.
  auto target = t::cached_model(arch_model("llama3rope-f32"));
  const auto ids = long_prompt(60);
  auto chain = lf::SamplerChain{}.temperature(0.7f).top_k(40).top_p(0.95f).min_p(0.0f).seed(5);
  lf::Generator plain(target, kF32Session), spec(target, kF32Session);
  const auto a = plain.generate_tokens(ids, {.max_tokens = 40, .sampler = chain, .stop_at_eos = false});
  const auto b = spec.generate_tokens(ids, {.max_tokens = 40, .sampler = chain, .stop_at_eos = false,
                                            .drafter = std::make_shared<lf::NgramDrafter>(), .draft_tokens = 6});
  BOOST_TEST(b.tokens == a.tokens, boost::test_tools::per_element());
  BOOST_TEST(b.draft_proposed > 0u);
  const auto g = spec.generate_tokens(ids, {.max_tokens = 40, .stop_at_eos = false, .drafter = std::make_shared<lf::NgramDrafter>()});
  lf::Generator plain2(target, kF32Session);
  BOOST_TEST(g.tokens == plain2.generate_tokens(ids, {.max_tokens = 40, .stop_at_eos = false}).tokens, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(ngram_lookup_proposes_what_followed_the_last_occurrence) {
  lf::NgramDrafter d(3, 1);
  const std::vector<int32_t> ctx{5, 6, 7, 8, 9, 1, 5, 6, 7};
  BOOST_TEST(d.propose(ctx, 3) == (std::vector<int32_t>{8, 9, 1}), boost::test_tools::per_element());
  BOOST_TEST(d.propose(ctx, 1) == (std::vector<int32_t>{8}), boost::test_tools::per_element());
  BOOST_TEST(d.propose(std::vector<int32_t>{1, 2, 3}, 4).empty());
  BOOST_CHECK_THROW(lf::NgramDrafter(1, 2), lf::ConfigError);
}

BOOST_AUTO_TEST_CASE(a_draft_with_another_vocabulary_is_refused) {
  auto m = t::cached_model(arch_model("qwen2-q8_0"));
  BOOST_CHECK_THROW(lf::DraftModelDrafter(m, m->config().vocab_size + 1), lf::ConfigError);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(prefix_reuse, *utf::precondition(t::needs_file(arch_model("qwen2-f32"))))

BOOST_AUTO_TEST_CASE(a_second_request_with_a_shared_200_token_prefix_runs_only_its_new_tokens) {
  auto m = t::cached_model(arch_model("qwen2-f32"));
  const auto all = long_prompt(230);
  const std::vector<int32_t> first(all.begin(), all.begin() + 200);
  std::vector<int32_t> second(all.begin(), all.begin() + 200);
  second.insert(second.end(), all.begin() + 200, all.end());
  lf::Generator gen(m, kF32Session);
  const auto a = gen.generate_tokens(first, {.max_tokens = 4, .stop_at_eos = false});
  BOOST_TEST(a.prompt_cached == 0u);
  const auto b = gen.generate_tokens(second, {.max_tokens = 8, .stop_at_eos = false});
  // 200 shared tokens (more only if the first answer happens to start like the new tokens).
  BOOST_TEST(b.prompt_cached >= 200u);
  BOOST_TEST(b.prompt_cached <= 203u);
  BOOST_TEST(b.prompt_processed() == second.size() - b.prompt_cached);
  // Same tokens as a fresh generator (for the greedy steps, up to near-ties of ~1e-6).
  lf::Generator fresh(m, kF32Session);
  BOOST_TEST(fresh.generate_tokens(second, {.max_tokens = 8, .stop_at_eos = false}).tokens == b.tokens,
             boost::test_tools::per_element());
  // The generated tokens are part of the cache too: continuing the output reuses them.
  std::vector<int32_t> third = second;
  third.insert(third.end(), b.tokens.begin(), b.tokens.end());
  third.push_back(all[5]);
  const auto c = gen.generate_tokens(third, {.max_tokens = 2, .stop_at_eos = false});
  BOOST_TEST(c.prompt_cached == second.size() + b.tokens.size() - 1);  // the last sampled token was never run
  const auto d = gen.generate_tokens(third, {.max_tokens = 2, .stop_at_eos = false, .reuse_prefix = false});
  BOOST_TEST(d.prompt_cached == 0u);
}

BOOST_AUTO_TEST_CASE(cancellation_is_checked_between_prefill_chunks) {
  auto m = t::cached_model(arch_model("qwen2-f32"));
  auto cancel = lf::CancelToken::make();
  lf::Generator gen(m, kF32Session);
  cancel.request_stop();
  const auto r = gen.generate_tokens(long_prompt(200), {.max_tokens = 4, .cancel = cancel, .prefill_chunk = 16});
  BOOST_TEST((r.reason == lf::StopReason::Cancelled));
  BOOST_TEST(r.tokens.empty());
  BOOST_TEST(gen.cached_tokens().empty());
  BOOST_CHECK_THROW(gen.generate_tokens(long_prompt(8), {.prefill_chunk = 0}), lf::ConfigError);
}

BOOST_AUTO_TEST_CASE(chunked_prefill_gives_the_logits_of_one_pass) {
  auto m = t::cached_model(arch_model("llama3rope-f32"));
  const auto ids = long_prompt(100);
  lf::Generator a(m, kF32Session), b(m, kF32Session);
  const auto x = a.generate_tokens(ids, {.max_tokens = 12, .stop_at_eos = false});
  const auto y = b.generate_tokens(ids, {.max_tokens = 12, .stop_at_eos = false, .prefill_chunk = 7});
  BOOST_TEST(x.tokens == y.tokens, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(sequence_state, *utf::precondition(t::needs_file(arch_model("qwen2-f32"))))

/// Logits of the last token of `rest` run after restoring `state`, and of a fresh prefill of all.
void check_restored_logits(const lf::Model& m, const lf::SequenceState& state, const std::vector<int32_t>& rest,
                           const lf::SessionOptions& so) {
  const std::size_t V = m.config().vocab_size;
  std::vector<int32_t> all = state.tokens;
  all.insert(all.end(), rest.begin(), rest.end());
  lf::Session fresh = m.new_session(so);
  std::vector<float> want(V), got(V);
  m.forward(fresh, all, want);
  lf::Session s = m.new_session(so);
  s.kv.restore(state.kv);
  s.pos = state.tokens.size();
  m.forward(s, rest, got);
  BOOST_TEST(t::max_abs_diff(got, want) <= 1e-5);
}

BOOST_DATA_TEST_CASE(restore_and_reload_give_the_logits_of_a_fresh_prefill, bdata::make({"f32", "f16"}), kv_name) {
  const lf::KvType kv = lf::parse_kv_type(kv_name);
  auto m = t::cached_model(arch_model("qwen2-f32"));
  const lf::SessionOptions so{.context = 256, .threads = 2, .cache_type_k = kv, .cache_type_v = kv};
  const auto ids = long_prompt(180);
  const std::vector<int32_t> prefix(ids.begin(), ids.begin() + 150), rest(ids.begin() + 150, ids.end());
  lf::Generator gen(m, so);
  (void)gen.generate_tokens(prefix, {.max_tokens = 1});
  auto state = lf::save_state(gen);
  BOOST_TEST(state.tokens.size() == prefix.size());  // the one sampled token was not run
  check_restored_logits(*m, state, rest, so);

  const auto file = std::filesystem::temp_directory_path() / ("llmforge_state_test_" + std::to_string(static_cast<int>(kv)) + ".bin");
  lf::save_state_file(file, *m, state);
  const auto loaded = lf::load_state_file(file, *m);
  BOOST_TEST(loaded.tokens == state.tokens, boost::test_tools::per_element());
  check_restored_logits(*m, loaded, rest, so);

  // Fork: two generators continue from the same restored state.
  lf::Generator g1(m, so), g2(m, so);
  lf::restore_state(g1, loaded);
  lf::restore_state(g2, loaded);
  const auto r1 = g1.generate_tokens(ids, {.max_tokens = 6, .stop_at_eos = false});
  const auto r2 = g2.generate_tokens(ids, {.max_tokens = 6, .stop_at_eos = false});
  BOOST_TEST(r1.prompt_cached == prefix.size());
  BOOST_TEST(r1.tokens == r2.tokens, boost::test_tools::per_element());
  std::filesystem::remove(file);
}

BOOST_AUTO_TEST_CASE(damaged_or_foreign_state_files_are_refused) {
  auto m = t::cached_model(arch_model("qwen2-f32"));
  lf::Generator gen(m, kF32Session);
  (void)gen.generate_tokens(long_prompt(20), {.max_tokens = 1});
  const auto file = std::filesystem::temp_directory_path() / "llmforge_state_damaged.bin";
  lf::save_state_file(file, *m, lf::save_state(gen));
  std::string bytes = t::read_file(file);
  auto write = [&](const std::string& b) { std::ofstream(file, std::ios::binary | std::ios::trunc) << b; };

  BOOST_CHECK_THROW((void)lf::load_state_file(file, *t::cached_model(arch_model("qwen2-q8_0"))), lf::ConfigError);
  std::string flipped = bytes;
  flipped[bytes.size() / 2] ^= 0x20;
  write(flipped);
  BOOST_CHECK_EXCEPTION((void)lf::load_state_file(file, *m), lf::FormatError,
                        [](const lf::FormatError& e) { return std::string(e.what()).find("checksum") != std::string::npos; });
  write(bytes.substr(0, bytes.size() - 100));
  BOOST_CHECK_THROW((void)lf::load_state_file(file, *m), lf::FormatError);
  write(bytes.substr(0, 10));
  BOOST_CHECK_THROW((void)lf::load_state_file(file, *m), lf::FormatError);
  write("not a state file at all");
  BOOST_CHECK_THROW((void)lf::load_state_file(file, *m), lf::FormatError);
  std::filesystem::remove(file);
  BOOST_CHECK_THROW((void)lf::load_state_file(file, *m), lf::IoError);

  // A state of another cache type does not restore into this cache.
  lf::Generator f16(m, {.context = 256, .threads = 2});
  BOOST_CHECK_THROW(lf::restore_state(f16, lf::save_state(gen)), lf::ConfigError);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(context_shift, *utf::precondition(t::needs_file(arch_model("qwen2-f32"))))

BOOST_DATA_TEST_CASE(generation_goes_on_past_the_context, bdata::make({"qwen2-f32", "gpt2-f32", "gemma2-f32"}), model) {
  auto m = t::cached_model(arch_model(model));
  lf::Generator gen(m, {.context = 32, .threads = 2});
  const std::vector<int32_t> ids = golden(std::string(model), "p0")["prompt_ids"];
  const auto r = gen.generate_tokens(ids, {.max_tokens = 80, .stop_at_eos = false, .context_shift = true, .shift_keep = 4});
  BOOST_TEST(r.tokens.size() == 80u);
  BOOST_TEST((r.reason == lf::StopReason::MaxTokens));
  BOOST_TEST(r.context_shifts >= 3u);
  // The first shift_keep tokens stay; the cache holds exactly the tokens it says.
  const auto held = gen.cached_tokens();
  BOOST_TEST(std::vector<int32_t>(held.begin(), held.begin() + 4) == std::vector<int32_t>(ids.begin(), ids.begin() + 4),
             boost::test_tools::per_element());
  BOOST_TEST(held.size() == gen.session().pos);
  // Without the option the same request stops with ContextFull.
  lf::Generator plain(m, {.context = 32, .threads = 2});
  BOOST_TEST((plain.generate_tokens(ids, {.max_tokens = 80, .stop_at_eos = false}).reason == lf::StopReason::ContextFull));
}

// After a shift, the kept tokens sit at new positions. Layer 0's keys depend only on a token and its
// position, so they must equal those a fresh run of the kept tokens computes (this checks the
// re-rotation); deeper layers' keys legitimately differ (they were computed while the dropped tokens
// were visible), so the next-token logits are only close to the fresh run's, not equal.
BOOST_DATA_TEST_CASE(shifted_keys_are_those_of_the_new_positions, bdata::make({"qwen2-f32", "llama3rope-f32", "gemma2-f32"}), model) {
  auto m = t::cached_model(arch_model(model));
  const lf::SessionOptions so{.context = 48, .threads = 2, .cache_type_k = lf::KvType::F32, .cache_type_v = lf::KvType::F32};
  lf::Generator gen(m, so);
  const std::vector<int32_t> ids = golden(std::string(model), "p1")["prompt_ids"];
  const auto r = gen.generate_tokens(ids, {.max_tokens = 20, .stop_at_eos = false, .context_shift = true, .shift_keep = 3});
  BOOST_REQUIRE(r.context_shifts == 1u);
  const std::vector<int32_t> held(gen.cached_tokens().begin(), gen.cached_tokens().end());
  lf::Session fresh = m->new_session(so);
  std::vector<float> logits(m->config().vocab_size);
  m->forward(fresh, held, logits);
  const std::size_t w = m->config().num_kv_heads * m->config().head_dim;
  std::vector<float> a(w), b(w);
  double worst = 0, scale = 0;
  for (std::size_t p = 0; p < held.size(); ++p) {
    gen.session().kv.load_k(0, p, a.data());
    fresh.kv.load_k(0, p, b.data());
    for (std::size_t i = 0; i < w; ++i) worst = std::max<double>(worst, std::abs(a[i] - b[i])), scale = std::max<double>(scale, std::abs(b[i]));
  }
  BOOST_TEST_MESSAGE(model << ": layer-0 keys after the shift, max |diff| = " << worst << " (largest key " << scale << ")");
  BOOST_TEST(worst <= 1e-5 * std::max(1.0, scale));
}

BOOST_AUTO_TEST_SUITE_END()
