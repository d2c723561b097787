// SPDX-License-Identifier: MIT
// Unknown models, unknown pre-tokenizers and malformed tokenizer files are precise errors, never guesses.
#include <boost/test/unit_test.hpp>

#include <llmforge/tokenizer.hpp>

#include "common/test_data.hpp"

namespace lt = llmforge::tokenizer;
using llmforge::test::testdata;

namespace {

llmforge::io::Metadata spm_metadata() {
  return llmforge::io::GgufFile::open(testdata("gguf/stories260K.gguf")).metadata();
}

bool message_has(const std::exception& e, std::initializer_list<const char*> parts) {
  const std::string m = e.what();
  for (const char* p : parts)
    if (m.find(p) == std::string::npos) {
      BOOST_TEST_MESSAGE("message was: " << m);
      return false;
    }
  return true;
}

}  // namespace

// Every case reads files of ../shared/testdata; without it the suite is skipped with a message.
BOOST_AUTO_TEST_SUITE(errors, *boost::unit_test::precondition(llmforge::test::needs_file(testdata("PROVENANCE.md"))))

BOOST_AUTO_TEST_CASE(unknown_tokenizer_model_is_named_with_the_supported_ones) {
  auto md = spm_metadata();
  md.set("tokenizer.ggml.model", std::string("rwkv-world"));
  BOOST_CHECK_EXCEPTION((void)lt::Tokenizer::from_gguf(md), llmforge::TokenizerError, [](const auto& e) {
    return message_has(e, {"'rwkv-world'", "supported", "llama", "gpt2", "bert"});
  });
}

BOOST_AUTO_TEST_CASE(unknown_pre_tokenizer_is_named_with_the_supported_ones) {
  auto md = llmforge::io::GgufFile::open(testdata("llama.cpp-vocab/ggml-vocab-gpt-2.gguf")).metadata();
  md.set("tokenizer.ggml.pre", std::string("my-new-model"));
  BOOST_CHECK_EXCEPTION((void)lt::Tokenizer::from_gguf(md), llmforge::TokenizerError, [](const auto& e) {
    return message_has(e, {"'my-new-model'", "supported", "llama3", "qwen2", "deepseek-coder", "command-r"});
  });
}

BOOST_AUTO_TEST_CASE(missing_tokenizer_and_mismatched_arrays_are_errors) {
  llmforge::io::Metadata empty("x.gguf");
  BOOST_CHECK_THROW((void)lt::Tokenizer::from_gguf(empty), llmforge::TokenizerError);
  auto md = spm_metadata();
  auto arr = std::make_shared<llmforge::io::ArrayValue>();
  arr->element_type = llmforge::io::ValueType::F32;
  arr->items = {0.0f, 1.0f};
  md.set("tokenizer.ggml.scores", std::shared_ptr<const llmforge::io::ArrayValue>(arr));
  BOOST_CHECK_EXCEPTION((void)lt::Tokenizer::from_gguf(md), llmforge::TokenizerError,
                        [](const auto& e) { return message_has(e, {"tokenizer.ggml.scores", "2 entries", "512"}); });
  auto md2 = spm_metadata();
  md2.set("tokenizer.ggml.bos_token_id", uint32_t{4096});
  BOOST_CHECK_EXCEPTION((void)lt::Tokenizer::from_gguf(md2), llmforge::TokenizerError,
                        [](const auto& e) { return message_has(e, {"bos_token_id", "4096"}); });
}

BOOST_AUTO_TEST_CASE(token_ids_outside_the_vocabulary_are_rejected_by_decode) {
  const auto tok = lt::load_tokenizer(testdata("gguf/stories260K.gguf"));
  const std::vector<int32_t> bad = {5, 512};
  BOOST_CHECK_THROW((void)tok.decode(bad), llmforge::TokenizerError);
  BOOST_CHECK_THROW((void)tok.token_to_piece(-1), llmforge::TokenizerError);
  lt::StreamDecoder s(tok);
  BOOST_CHECK_THROW((void)s.push(100000), llmforge::TokenizerError);
}

BOOST_AUTO_TEST_CASE(unsupported_hf_components_are_named) {
  const std::string json = R"({"model": {"type": "WordLevel", "vocab": {"a": 0}}})";
  BOOST_CHECK_EXCEPTION((void)lt::tokenizer_from_hf_json(json), llmforge::TokenizerError,
                        [](const auto& e) { return message_has(e, {"'WordLevel'", "BPE, WordPiece, Unigram"}); });
  const std::string json2 =
      R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": []}, "pre_tokenizer": {"type": "UnicodeScripts"}})";
  BOOST_CHECK_EXCEPTION((void)lt::tokenizer_from_hf_json(json2), llmforge::TokenizerError,
                        [](const auto& e) { return message_has(e, {"'UnicodeScripts'", "supported"}); });
  BOOST_CHECK_THROW((void)lt::tokenizer_from_hf_json("{\"model\": "), llmforge::FormatError);
}

BOOST_AUTO_TEST_CASE(truncated_or_corrupt_sentencepiece_models_are_format_errors) {
  const auto p = testdata("sentencepiece/llama2-tokenizer.model");
  if (!std::filesystem::exists(p)) return;
  const std::string data = llmforge::test::read_file(p);
  // Cutting the file in the middle of a piece leaves a length that runs past the end.
  for (std::size_t cut : {1ul, 2ul, 7ul, 1000ul, data.size() / 2 + 3, data.size() - 1}) {
    try {
      (void)lt::tokenizer_from_sentencepiece(std::string_view(data).substr(0, cut));
    } catch (const llmforge::Error&) {
      continue;  // a clean, typed error is what we want; some cuts land on a message boundary
    }
  }
  std::string bad = data;
  bad[0] = '\x0F';  // field 1 with wire type 7
  BOOST_CHECK_THROW((void)lt::tokenizer_from_sentencepiece(bad), llmforge::FormatError);
}

BOOST_AUTO_TEST_CASE(malformed_tiktoken_lines_are_format_errors) {
  BOOST_CHECK_THROW((void)lt::tokenizer_from_tiktoken("IQ== 0\nIg== 5\n"), llmforge::FormatError);
  BOOST_CHECK_THROW((void)lt::tokenizer_from_tiktoken("not base64! 0\n"), llmforge::FormatError);
  BOOST_CHECK_THROW((void)lt::tokenizer_from_tiktoken(""), llmforge::FormatError);
}

BOOST_AUTO_TEST_CASE(unrecognised_files_list_the_supported_formats) {
  BOOST_CHECK_THROW((void)lt::load_tokenizer(testdata("does-not-exist.gguf")), llmforge::IoError);
  BOOST_CHECK_EXCEPTION((void)lt::load_tokenizer(testdata("PROVENANCE.md")), llmforge::TokenizerError,
                        [](const auto& e) { return message_has(e, {"PROVENANCE.md", "GGUF", "tokenizer.json"}); });
}

BOOST_AUTO_TEST_SUITE_END()
