// SPDX-License-Identifier: MIT
// Every tiny512 variant against llama.cpp's goldens, for the three prompts, the way llama.cpp produced
// them: the prompt in one batch (logits at every position), then the teacher-forced ids one token at
// a time, in both kernel modes.
//  - Exact mode (LoadOptions::exact): last-position cosine >= 0.9999, the same argmax, >= 15 of 16
//    teacher-forced argmaxes. On AVX2 the quantized kernels follow llama.cpp's operation order exactly,
//    so there every logit in the goldens' top-8 lists (all prompt positions, all 16 steps) must also
//    agree to 1e-4; F16 (activations rounded to F16 like llama.cpp, its summation order) to 1e-3
//    (measured <= 5e-4), elsewhere to the reference README's 2e-2.
//  - Default mode (repacked weights, blocks summed in another order): the same argmax and >= 15/16
//    teacher-forced argmaxes, and cosine >= 0.9995. Why not 0.9999: a different float summation order
//    moves a product by ~1e-7 relative, and now and then that moves an activation across a rounding
//    boundary of the next Q8 quantization; one such flipped int8 moves these random-weight models'
//    logits by up to ~0.2 (measured: q4_k_m 0.99975-0.99979, q3_k_m p2 0.99976, q8_0 p1 0.99991; the
//    variants without a flip stay at 1.0000000). The reference README puts exact float64 math without
//    activation quantization at ~0.9996 from the same goldens, so 0.9995 is the scale of legitimate
//    disagreement, not of a wrong kernel (those are caught bit-tight against the scalar reference in
//    test/kernels).
#include <boost/test/unit_test.hpp>

#include <cstring>

#include "common/model_fixtures.hpp"

namespace lf = llmforge;
namespace t = llmforge::test;
namespace utf = boost::unit_test;

namespace {

// Largest |mine - golden| over a golden top-8 list ([[id, logit], ...]).
double top8_diff(std::span<const float> mine, const nlohmann::json& top8) {
  double d = 0;
  for (const auto& e : top8) d = std::max(d, std::abs(double(mine[e[0].get<int>()]) - e[1].get<double>()));
  return d;
}

void check_variant(const std::string& variant, bool exact) {
  const auto path = t::reference("models/tiny512-" + variant + ".gguf");
  const auto& m = *t::cached_model(path, exact);
  const std::size_t vocab = m.config().vocab_size;
  const bool exact_order = exact && std::strcmp(lf::kernels::target_name(), "AVX2") == 0;
  for (const char* p : {"p0", "p1", "p2"}) {
    BOOST_TEST_CONTEXT(variant << " " << p << (exact ? " (exact)" : " (default)")) {
      const std::string stem = "golden/tiny512-" + variant + "." + p;
      const auto ref = t::read_json(t::reference(stem + ".json"));
      const auto prompt = ref["prompt_ids"].get<std::vector<int32_t>>();
      const auto forced = ref["forced_ids"].get<std::vector<int32_t>>();
      const auto want_last = t::read_f32(t::reference(stem + ".logits_last.f32"));
      lf::Session s = m.new_session(t::reference_session(prompt.size() + forced.size() + 1));
      std::vector<float> logits(prompt.size() * vocab);
      m.forward(s, prompt, logits, true);
      double worst = 0;
      for (std::size_t i = 0; i < prompt.size(); ++i)
        worst = std::max(worst, top8_diff(std::span<const float>(logits).subspan(i * vocab, vocab), ref["prompt_top8"][i]));
      const std::vector<float> last(logits.end() - static_cast<std::ptrdiff_t>(vocab), logits.end());
      const double cos = t::cosine(last, want_last);
      BOOST_TEST(cos >= (exact ? 0.9999 : 0.9995), "cosine " << cos);
      // The exact mode must pick the reference's token. The default mode may pick another one only at a
      // near-tie of the reference (top-2 gap under 0.05): its own top-8 logits differ by up to ~0.2 on these
      // tiny chaotic models when a summation-order change moves one Q8 activation rounding (measured:
      // q5_0 p1 picks 426 where the reference has 493 at 9.135 and 426 at 9.105).
      const int32_t mine = t::argmax(last), theirs = t::argmax(want_last);
      if (exact) BOOST_TEST(mine == theirs);
      else BOOST_TEST(want_last[theirs] - want_last[mine] < 0.05, "argmax " << mine << " vs reference " << theirs);
      // Teacher forcing, one token per step: step s predicts before forced_ids[s] is fed.
      int agree = 0;
      std::vector<float> step = last;
      for (std::size_t i = 0; i < forced.size(); ++i) {
        if (i > 0) m.forward(s, std::span<const int32_t>(&forced[i - 1], 1), step);
        agree += t::argmax(step) == ref["forced"][i]["argmax"].get<int32_t>();
        worst = std::max(worst, top8_diff(step, ref["forced"][i]["top8"]));
      }
      BOOST_TEST(agree >= 15, agree << "/16 teacher-forced steps agree");
      if (variant == "f16") BOOST_TEST(worst <= (exact_order ? 1e-3 : 2e-2), "largest top-8 logit difference " << worst);
      else if (exact_order) BOOST_TEST(worst <= 1e-4, "largest top-8 logit difference " << worst);
      BOOST_TEST_MESSAGE(variant << " " << p << (exact ? " exact" : " default") << ": cosine " << cos << ", forced " << agree << "/16, largest top-8 diff " << worst);
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(tiny512_variants, *utf::precondition(t::needs_file(t::reference("models/tiny512-q4_0.gguf"))))

BOOST_AUTO_TEST_CASE(f16) {
  check_variant("f16", true);
  check_variant("f16", false);
}
BOOST_AUTO_TEST_CASE(q8_0) {
  check_variant("q8_0", true);
  check_variant("q8_0", false);
}
BOOST_AUTO_TEST_CASE(q4_0) {
  check_variant("q4_0", true);
  check_variant("q4_0", false);
}
BOOST_AUTO_TEST_CASE(q4_1) {
  check_variant("q4_1", true);
  check_variant("q4_1", false);
}
BOOST_AUTO_TEST_CASE(q5_0) {
  check_variant("q5_0", true);
  check_variant("q5_0", false);
}
BOOST_AUTO_TEST_CASE(q5_1) {
  check_variant("q5_1", true);
  check_variant("q5_1", false);
}
BOOST_AUTO_TEST_CASE(q2_k) {
  check_variant("q2_k", true);
  check_variant("q2_k", false);
}
BOOST_AUTO_TEST_CASE(q3_k_m) {
  check_variant("q3_k_m", true);
  check_variant("q3_k_m", false);
}
BOOST_AUTO_TEST_CASE(q4_k_m) {
  check_variant("q4_k_m", true);
  check_variant("q4_k_m", false);
}
BOOST_AUTO_TEST_CASE(q5_k_m) {
  check_variant("q5_k_m", true);
  check_variant("q5_k_m", false);
}
BOOST_AUTO_TEST_CASE(q6_k) {
  check_variant("q6_k", true);
  check_variant("q6_k", false);
}
BOOST_AUTO_TEST_CASE(iq4_nl) {
  check_variant("iq4_nl", true);
  check_variant("iq4_nl", false);
}

BOOST_AUTO_TEST_SUITE_END()
