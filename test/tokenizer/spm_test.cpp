// SPDX-License-Identifier: MIT
// SentencePiece (SPM) tokenizer from GGUF: encodings and decodes against llama.cpp, llama2.c and sentencepiece.
#include <boost/test/unit_test.hpp>

#include <nlohmann/json.hpp>

#include <llmforge/io/gguf_reader.hpp>
#include <llmforge/tokenizer.hpp>

#include "common/test_data.hpp"
#include "tokenizer/vectors.hpp"

namespace lt = llmforge::tokenizer;
using llmforge::test::needs_file;
using llmforge::test::testdata;

BOOST_AUTO_TEST_SUITE(spm)

BOOST_AUTO_TEST_CASE(stories260k_prompt_encodings_match_reference,
                     *boost::unit_test::precondition(needs_file(testdata("gguf/stories260K.reference.json")))) {
  const auto tok = lt::load_tokenizer(testdata("gguf/stories260K.gguf"));
  BOOST_TEST(tok.vocab_size() == 512u);
  BOOST_TEST(tok.bos_id() == 1);
  BOOST_TEST(tok.eos_id() == 2);
  const auto ref = nlohmann::json::parse(llmforge::test::read_file(testdata("gguf/stories260K.reference.json")));
  int n = 0;
  for (const auto& [text, ids] : ref["prompt_encodings"].items()) {
    const auto want = ids.get<std::vector<int32_t>>();
    BOOST_TEST(tok.encode(text) == want, "prompt '" << text << "'");
    ++n;
  }
  BOOST_TEST(n == 4);
  const auto greedy = ref["greedy_ids"].get<std::vector<int32_t>>();
  BOOST_TEST(tok.decode(greedy) == ref["greedy_text"].get<std::string>());
}

BOOST_AUTO_TEST_CASE(llama_spm_vocab_reproduces_llama_cpp_vectors,
                     *boost::unit_test::precondition(needs_file(testdata("llama.cpp-vocab/ggml-vocab-llama-spm.gguf")))) {
  const auto tok = lt::load_tokenizer(testdata("llama.cpp-vocab/ggml-vocab-llama-spm.gguf"));
  const auto cases = llmforge::test::read_llama_vectors(testdata("llama.cpp-vocab/ggml-vocab-llama-spm.gguf.inp"),
                                                        testdata("llama.cpp-vocab/ggml-vocab-llama-spm.gguf.out"));
  BOOST_TEST(cases.size() == 46u);
  std::size_t pass = 0;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto got = tok.encode(cases[i].text, {.add_special = false});
    BOOST_TEST(got == cases[i].ids, "case " << i << " '" << cases[i].text << "': got "
                                            << llmforge::test::ids_to_string(got) << ", want "
                                            << llmforge::test::ids_to_string(cases[i].ids));
    pass += got == cases[i].ids;
    BOOST_TEST(tok.decode(got) == cases[i].text, "round trip of case " << i);
  }
  BOOST_TEST_MESSAGE("ggml-vocab-llama-spm: " << pass << "/" << cases.size());
}

BOOST_AUTO_TEST_CASE(llama2_vectors_with_bos,
                     *boost::unit_test::precondition(needs_file(testdata("tokenizer-vectors/llama2-spm.json")))) {
  const auto tok = lt::load_tokenizer(testdata("llama.cpp-vocab/ggml-vocab-llama-spm.gguf"));
  const auto ref = nlohmann::json::parse(llmforge::test::read_file(testdata("tokenizer-vectors/llama2-spm.json")));
  std::size_t n = 0;
  for (const auto& c : ref["cases"]) {
    const auto text = c["text"].get<std::string>();
    BOOST_TEST(tok.encode(text) == c["ids"].get<std::vector<int32_t>>(), "text '" << text << "'");
    ++n;
  }
  BOOST_TEST(n == 5u);
}

BOOST_AUTO_TEST_CASE(greedy200_ids_decode_to_llama2c_output,
                     *boost::unit_test::precondition(
                         needs_file(testdata("llama2c/stories260K.greedy200.reference.json")))) {
  const auto tok = lt::load_tokenizer(testdata("gguf/stories260K.gguf"));
  const auto ref =
      nlohmann::json::parse(llmforge::test::read_file(testdata("llama2c/stories260K.greedy200.reference.json")));
  const auto ids = ref["tokens"].get<std::vector<int32_t>>();
  BOOST_TEST(ids.size() == 201u);
  const std::string want = llmforge::test::read_file(testdata("llama2c/stories260K.greedy200.expected.txt"));
  BOOST_TEST(tok.decode(ids) == want);
  lt::StreamDecoder stream(tok);
  std::string streamed;
  for (const int32_t id : ids) streamed += stream.push(id);
  streamed += stream.flush();
  BOOST_TEST(streamed == want);
}

BOOST_AUTO_TEST_CASE(stream_decoder_keeps_space_after_prompt_context) {
  const auto tok = lt::load_tokenizer(testdata("gguf/stories260K.gguf"));
  const auto prompt = tok.encode("Once upon a time");
  const auto full = tok.encode("Once upon a time there was");
  const std::span<const int32_t> rest(full.data() + prompt.size(), full.size() - prompt.size());
  lt::StreamDecoder stream(tok, prompt);
  std::string text;
  for (const int32_t id : rest) text += stream.push(id);
  text += stream.flush();
  BOOST_TEST(text == " there was");
}

BOOST_AUTO_TEST_CASE(byte_fallback_decodes_multibyte_characters_only_when_complete) {
  const auto tok = lt::load_tokenizer(testdata("gguf/stories260K.gguf"));
  const std::string text = "caf\xC3\xA9 \xE2\x9C\x93";  // "café ✓" has no tokens in a 512-piece vocabulary
  const auto ids = tok.encode(text, {.add_special = false});
  BOOST_TEST(tok.decode(ids) == text);
  lt::StreamDecoder stream(tok);
  for (const int32_t id : ids) {
    const std::string piece = stream.push(id);
    BOOST_TEST(lt::utf8::is_valid(piece), "piece of token " << id << " is not complete UTF-8");
  }
  BOOST_TEST(stream.flush().empty());
}

BOOST_AUTO_TEST_SUITE_END()
