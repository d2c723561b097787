// SPDX-License-Identifier: MIT
// Tokenizers loaded from tokenizer.json, SentencePiece .model, tiktoken and GPT-2 files reproduce reference ids.
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <llmforge/tokenizer.hpp>

#include "common/test_data.hpp"
#include "tokenizer/vectors.hpp"

namespace lt = llmforge::tokenizer;
namespace bdata = boost::unit_test::data;
using llmforge::test::testdata;

namespace {

struct Source {
  const char* tokenizer;  // path under testdata/
  const char* vectors;    // llama.cpp vectors base (X.inp / X.out) or ggml prompt file
  bool llama_vectors;
};

std::ostream& operator<<(std::ostream& os, const Source& s) { return os << s.tokenizer << " vs " << s.vectors; }

const Source kSources[] = {
    {"hf-tokenizers/llama2/tokenizer.json", "llama.cpp-vocab/ggml-vocab-llama-spm.gguf", true},
    {"hf-tokenizers/qwen3/tokenizer.json", "llama.cpp-vocab/ggml-vocab-qwen2.gguf", true},
    {"hf-tokenizers/qwen3", "llama.cpp-vocab/ggml-vocab-qwen2.gguf", true},
    {"tiktoken/llama3-tokenizer.model", "llama.cpp-vocab/ggml-vocab-llama-bpe.gguf", true},
    {"sentencepiece/llama2-tokenizer.model", "llama.cpp-vocab/ggml-vocab-llama-spm.gguf", true},
    {"hf/tiny-gpt2/tokenizer.json", "tokenizer-vectors/ggml-prompts/gpt-2.txt", false},
    {"hf/tiny-gpt2", "llama.cpp-vocab/ggml-vocab-gpt-2.gguf", true},
    {"gpt2-bpe", "tokenizer-vectors/ggml-prompts/gpt-2.txt", false},
    {"llama.cpp-vocab/ggml-vocab-gpt-2.gguf", "tokenizer-vectors/ggml-prompts/gpt-2.txt", false},
};

}  // namespace


BOOST_AUTO_TEST_SUITE(loaders)

BOOST_DATA_TEST_CASE(reproduces_reference_ids, bdata::make(kSources), src) {
  const auto tok_path = testdata(src.tokenizer);
  const auto vec = testdata(std::string(src.vectors) + (src.llama_vectors ? ".out" : ""));
  if (!std::filesystem::exists(tok_path) || !std::filesystem::exists(vec)) {
    BOOST_TEST_MESSAGE("skipped: " << tok_path.string() << " or " << vec.string() << " is not present");
    return;
  }
  const auto tok = lt::load_tokenizer(tok_path);
  const auto cases = src.llama_vectors ? llmforge::test::read_llama_vectors(testdata(std::string(src.vectors) + ".inp"), vec)
                                       : llmforge::test::read_ggml_prompts(vec);
  BOOST_TEST(!cases.empty());
  std::size_t pass = 0, round_trips = 0;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto got = tok.encode(cases[i].text, {.add_special = false});
    BOOST_TEST(got == cases[i].ids, src.tokenizer << " case " << i << " '" << cases[i].text << "': got ["
                                                  << llmforge::test::ids_to_string(got) << "], want ["
                                                  << llmforge::test::ids_to_string(cases[i].ids) << "]");
    pass += got == cases[i].ids;
    const std::string back = tok.decode(got);
    BOOST_TEST(back == cases[i].text, src.tokenizer << " case " << i << " does not round-trip: '" << back << "'");
    round_trips += back == cases[i].text;
  }
  BOOST_TEST_MESSAGE(src.tokenizer << " vs " << src.vectors << ": " << pass << "/" << cases.size() << " encodings equal, "
                                   << round_trips << "/" << cases.size() << " round trips");
}

BOOST_AUTO_TEST_CASE(gpt_neox_vocab_with_gpt2_split_reproduces_ggml_prompts,
                     *boost::unit_test::precondition(
                         llmforge::test::needs_file(testdata("llama.cpp-vocab/ggml-vocab-gpt-neox.gguf")))) {
  // The GPT-NeoX GGUF predates tokenizer.ggml.pre; its tokenizer.json uses GPT-2's ByteLevel split.
  auto g = llmforge::io::GgufFile::open(testdata("llama.cpp-vocab/ggml-vocab-gpt-neox.gguf"));
  auto md = g.metadata();
  md.set("tokenizer.ggml.pre", std::string("gpt-neox"));
  const auto tok = lt::Tokenizer::from_gguf(md);
  const auto cases = llmforge::test::read_ggml_prompts(testdata("tokenizer-vectors/ggml-prompts/gpt-neox.txt"));
  std::size_t pass = 0;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto got = tok.encode(cases[i].text, {.add_special = false});
    BOOST_TEST(got == cases[i].ids, "case " << i << " '" << cases[i].text << "'");
    pass += got == cases[i].ids;
    BOOST_TEST(tok.decode(got) == cases[i].text);
  }
  BOOST_TEST(cases.size() == 100u);
  BOOST_TEST_MESSAGE("gpt-neox.txt with ggml-vocab-gpt-neox.gguf: " << pass << "/" << cases.size());
}

BOOST_AUTO_TEST_CASE(llama3_tiktoken_adds_begin_of_text_and_knows_eot) {
  const auto p = testdata("tiktoken/llama3-tokenizer.model");
  if (!std::filesystem::exists(p)) return;
  const auto tok = lt::load_tokenizer(p);
  BOOST_TEST(tok.vocab_size() == 128256u);
  BOOST_TEST(tok.bos_id() == 128000);
  BOOST_TEST(tok.is_eog(128009));  // <|eot_id|>
  BOOST_TEST(tok.is_eog(128001));  // <|end_of_text|>
  const auto ids = tok.encode("<|start_header_id|>user<|end_header_id|>", {.add_special = true, .parse_special = true});
  BOOST_TEST(ids == (std::vector<int32_t>{128000, 128006, 882, 128007}));
  // Without parse_special the marker is plain text.
  BOOST_TEST(tok.encode("<|eot_id|>", {.add_special = false}).size() > 1u);
}

BOOST_AUTO_TEST_SUITE_END()
