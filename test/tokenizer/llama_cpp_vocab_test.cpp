// SPDX-License-Identifier: MIT
// Every llama.cpp vocabulary GGUF with test-tokenizer-0 vectors: 100% of cases must match.
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <llmforge/tokenizer.hpp>

#include "common/test_data.hpp"
#include "tokenizer/vectors.hpp"

namespace lt = llmforge::tokenizer;
namespace bdata = boost::unit_test::data;
using llmforge::test::testdata;

namespace {

const char* const kVocabs[] = {"llama-spm", "phi-3",     "gpt-2",          "mpt",           "falcon",
                               "starcoder", "refact",    "deepseek-llm",   "deepseek-coder", "bert-bge"};

}  // namespace

BOOST_AUTO_TEST_SUITE(llama_cpp_vocab)

BOOST_DATA_TEST_CASE(reproduces_test_tokenizer_0_vectors, bdata::make(kVocabs), name) {
  const std::string base = std::string("llama.cpp-vocab/ggml-vocab-") + name + ".gguf";
  if (!std::filesystem::exists(testdata(base)) || !std::filesystem::exists(testdata(base + ".out"))) {
    BOOST_TEST_MESSAGE("skipped: " << testdata(base).string() << " is not present");
    return;
  }
  const auto tok = lt::load_tokenizer(testdata(base));
  const auto cases = llmforge::test::read_llama_vectors(testdata(base + ".inp"), testdata(base + ".out"));
  std::size_t pass = 0, round_trips = 0, lossless = 0;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto got = tok.encode(cases[i].text, {.add_special = false, .parse_special = false});
    BOOST_TEST(got == cases[i].ids, name << " case " << i << " '" << cases[i].text << "': got ["
                                         << llmforge::test::ids_to_string(got) << "], want ["
                                         << llmforge::test::ids_to_string(cases[i].ids) << "]");
    pass += got == cases[i].ids;
    // WordPiece lowercases and drops whitespace, so only the other models must round-trip.
    if (tok.kind() != lt::ModelKind::WordPiece) {
      ++lossless;
      const std::string back = tok.decode(got);
      BOOST_TEST(back == cases[i].text, name << " case " << i << " does not round-trip: '" << back << "'");
      round_trips += back == cases[i].text;
    }
  }
  BOOST_TEST_MESSAGE("ggml-vocab-" << name << ": " << pass << "/" << cases.size() << " encodings equal, "
                                   << round_trips << "/" << lossless << " round trips");
}

BOOST_AUTO_TEST_SUITE_END()
