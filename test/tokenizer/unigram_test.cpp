// SPDX-License-Identifier: MIT
// SentencePiece Unigram: Viterbi picks the highest-scoring segmentation; unknown runs collapse to one UNK.
#include <boost/test/unit_test.hpp>

#include <llmforge/tokenizer.hpp>

namespace lt = llmforge::tokenizer;

namespace {

// A hand-made Unigram vocabulary. For "ab" (normalized "▁ab") the candidate segmentations score:
//   ▁ab = -4.0,  ▁a + b = -1.5 - 2.0 = -3.5,  ▁ + ab = -1.0 - 1.0 = -2.0 (best),  ▁ + a + b = -5.0.
lt::Tokenizer make_unigram() {
  const std::string json = R"({
    "normalizer": null,
    "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": false},
    "model": {"type": "Unigram", "unk_id": 0, "vocab": [
      ["<unk>", 0.0], ["\u2581", -1.0], ["a", -2.0], ["b", -2.0], ["\u2581a", -1.5], ["ab", -1.0], ["\u2581ab", -4.0]
    ]}})";
  return lt::tokenizer_from_hf_json(json);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(unigram)

BOOST_AUTO_TEST_CASE(viterbi_picks_the_best_total_score) {
  const auto tok = make_unigram();
  BOOST_TEST(lt::model_kind_name(tok.kind()) == "Unigram");
  BOOST_TEST(tok.encode("ab", {.add_special = false}) == (std::vector<int32_t>{1, 5}));
  // "a" alone: ▁a (-1.5) beats ▁ + a (-3.0).
  BOOST_TEST(tok.encode("a", {.add_special = false}) == (std::vector<int32_t>{4}));
}

BOOST_AUTO_TEST_CASE(unknown_code_points_become_one_unk_per_run) {
  const auto tok = make_unigram();
  // 'c' has no piece: UNK with score min(-4.0) - 10; two in a row collapse.
  BOOST_TEST(tok.encode("abc", {.add_special = false}) == (std::vector<int32_t>{1, 5, 0}));
  BOOST_TEST(tok.encode("cc", {.add_special = false}) == (std::vector<int32_t>{1, 0}));
}

BOOST_AUTO_TEST_CASE(decode_restores_spaces) {
  const auto tok = make_unigram();
  const auto ids = tok.encode("ab a", {.add_special = false});
  BOOST_TEST(ids == (std::vector<int32_t>{1, 5, 4}));
  BOOST_TEST(tok.decode(ids) == "ab a");
}

BOOST_AUTO_TEST_SUITE_END()
