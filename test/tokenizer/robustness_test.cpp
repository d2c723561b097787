// SPDX-License-Identifier: MIT
// Random bytes (including invalid UTF-8) never crash a tokenizer; streaming never emits broken UTF-8.
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <random>

#include <llmforge/tokenizer.hpp>

#include "common/test_data.hpp"

namespace lt = llmforge::tokenizer;
namespace bdata = boost::unit_test::data;
using llmforge::test::testdata;

namespace {

const char* const kTokenizers[] = {
    "gguf/stories260K.gguf",
    "llama.cpp-vocab/ggml-vocab-llama-spm.gguf",
    "llama.cpp-vocab/ggml-vocab-gpt-2.gguf",
    "llama.cpp-vocab/ggml-vocab-deepseek-llm.gguf",
    "llama.cpp-vocab/ggml-vocab-falcon.gguf",
    "llama.cpp-vocab/ggml-vocab-bert-bge.gguf",
    "hf-tokenizers/qwen3/tokenizer.json",
    "hf-tokenizers/llama2/tokenizer.json",
    "sentencepiece/llama2-tokenizer.model",
    "tiktoken/llama3-tokenizer.model",
};

// Random strings mixing ASCII, valid multi-byte UTF-8, whitespace runs and arbitrary bytes.
std::string random_text(std::mt19937& rng) {
  static const char* const kPieces[] = {" ", "  ", "\n", "\t", "\r\n", "'s", "\xC3\xA9", "\xE2\x96\x81", "\xF0\x9F\xA6\x99",
                                        "\xE4\xB8\xAD", "<s>", "</s>", "<|endoftext|>", "<0x0A>", "123", "\xEF\xBF\xBD"};
  std::uniform_int_distribution<int> len(0, 64), kind(0, 3), byte(0, 255), piece(0, std::size(kPieces) - 1);
  std::string s;
  for (int i = 0, n = len(rng); i < n; ++i) {
    switch (kind(rng)) {
      case 0: s += static_cast<char>(byte(rng)); break;                  // any byte, often invalid UTF-8
      case 1: s += static_cast<char>('a' + byte(rng) % 26); break;
      default: s += kPieces[piece(rng)]; break;
    }
  }
  return s;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(robustness)

BOOST_DATA_TEST_CASE(random_bytes_never_crash_and_stream_stays_valid, bdata::make(kTokenizers), name) {
  if (!std::filesystem::exists(testdata(name))) {
    BOOST_TEST_MESSAGE("skipped: " << testdata(name).string() << " is not present");
    return;
  }
  const auto tok = lt::load_tokenizer(testdata(name));
  std::mt19937 rng(1234);
  for (int iter = 0; iter < 300; ++iter) {
    const std::string text = random_text(rng);
    for (const bool special : {false, true}) {
      const auto ids = tok.encode(text, {.add_special = true, .parse_special = special});
      for (const int32_t id : ids) BOOST_REQUIRE(id >= 0 && static_cast<std::size_t>(id) < tok.vocab_size());
      const std::string whole = tok.decode(ids);
      BOOST_TEST(lt::utf8::is_valid(whole));
      lt::StreamDecoder stream(tok);
      std::string streamed;
      for (const int32_t id : ids) {
        const std::string piece = stream.push(id);
        BOOST_TEST(lt::utf8::is_valid(piece), name << ": streamed piece of token " << id << " is broken UTF-8");
        streamed += piece;
      }
      streamed += stream.flush();
      if (!tok.vocab().clean_spaces)
        BOOST_TEST(streamed == whole, name << ": streamed text differs from decode() for input " << iter);
      // Valid UTF-8 input without special-token text comes back unchanged from lossless tokenizers.
      if (!special && lt::utf8::is_valid(text) && tok.kind() != lt::ModelKind::WordPiece &&
          tok.vocab().normalization == lt::Normalization::None && text.find('<') == std::string::npos &&
          tok.vocab().special.unk < 0)
        BOOST_TEST(whole == text, name << ": round trip failed for input " << iter);
    }
  }
  // Random raw bytes and very long inputs.
  std::uniform_int_distribution<int> byte(0, 255);
  std::string noise(20000, '\0');
  for (char& c : noise) c = static_cast<char>(byte(rng));
  BOOST_TEST(!tok.encode(noise).empty());
  BOOST_TEST(!tok.encode(std::string(100000, ' ')).empty());
  BOOST_TEST(!tok.encode(std::string(100000, 'a')).empty());
  BOOST_TEST(!tok.encode(std::string(30000, '\n') + std::string(30000, '7')).empty());
}

BOOST_AUTO_TEST_CASE(invalid_utf8_is_byte_fallback_in_spm_and_replacement_in_bpe) {
  const auto spm = lt::load_tokenizer(testdata("llama.cpp-vocab/ggml-vocab-llama-spm.gguf"));
  // SentencePiece keeps the bytes: <0xFF> is id 0xFF + 3.
  const auto ids = spm.encode("\xFF", {.add_special = false});
  BOOST_TEST(ids == (std::vector<int32_t>{29871, 0xFF + 3}));
  const auto bpe = lt::load_tokenizer(testdata("llama.cpp-vocab/ggml-vocab-gpt-2.gguf"));
  // llama.cpp turns the invalid byte into U+FFFD before byte-level BPE.
  BOOST_TEST(bpe.encode("\xFF", {.add_special = false}) == bpe.encode("\xEF\xBF\xBD", {.add_special = false}));
}

BOOST_AUTO_TEST_SUITE_END()
