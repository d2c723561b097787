// SPDX-License-Identifier: MIT
// Special and added tokens: parsed only on request (added tokens always), lstrip/rstrip, BOS/EOS rules.
#include <boost/test/unit_test.hpp>

#include <llmforge/tokenizer.hpp>

#include "common/test_data.hpp"

namespace lt = llmforge::tokenizer;
using llmforge::test::needs_file;
using llmforge::test::testdata;

namespace {

std::vector<int32_t> concat(std::initializer_list<std::vector<int32_t>> parts) {
  std::vector<int32_t> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(special_tokens)

BOOST_AUTO_TEST_CASE(control_token_text_is_plain_text_unless_parse_special,
                     *boost::unit_test::precondition(needs_file(testdata("hf-tokenizers/qwen3/tokenizer.json")))) {
  const auto tok = lt::load_tokenizer(testdata("hf-tokenizers/qwen3"));
  const int32_t start = tok.token_id("<|im_start|>"), end = tok.token_id("<|im_end|>");
  BOOST_TEST(start == 151644);
  BOOST_TEST(end == 151645);
  BOOST_TEST(tok.is_eog(end));
  const lt::EncodeOptions parse{.add_special = false, .parse_special = true};
  const lt::EncodeOptions plain{.add_special = false, .parse_special = false};
  BOOST_TEST(tok.encode("<|im_start|>user\nhi<|im_end|>", parse) ==
             concat({{start}, tok.encode("user\nhi", plain), {end}}));
  const auto as_text = tok.encode("<|im_start|>", plain);
  BOOST_TEST(as_text.size() > 1u);
  BOOST_TEST(tok.decode(as_text) == "<|im_start|>");
  // Control tokens vanish from decoded text unless asked for.
  const std::vector<int32_t> ids = {start, 872, end};
  BOOST_TEST(tok.decode(ids).find("<|im_start|>") == std::string::npos);
  BOOST_TEST(tok.decode(ids, {.render_special = true}).find("<|im_start|>") == 0u);
}

BOOST_AUTO_TEST_CASE(spm_adds_dummy_prefix_after_a_special_token,
                     *boost::unit_test::precondition(needs_file(testdata("llama.cpp-vocab/ggml-vocab-llama-spm.gguf")))) {
  const auto tok = lt::load_tokenizer(testdata("llama.cpp-vocab/ggml-vocab-llama-spm.gguf"));
  const auto ids = tok.encode("<s>Hello</s>", {.add_special = true, .parse_special = true});
  BOOST_TEST(ids == concat({{1, 1}, tok.encode("Hello", {.add_special = false}), {2}}));
  BOOST_TEST(tok.encode("", {.add_special = true}) == std::vector<int32_t>{1});
  BOOST_TEST(tok.encode("", {.add_special = false}).empty());
}

BOOST_AUTO_TEST_CASE(phi3_special_tokens_swallow_following_whitespace,
                     *boost::unit_test::precondition(needs_file(testdata("llama.cpp-vocab/ggml-vocab-phi-3.gguf")))) {
  const auto tok = lt::load_tokenizer(testdata("llama.cpp-vocab/ggml-vocab-phi-3.gguf"));
  const int32_t user = tok.token_id("<|user|>");
  BOOST_TEST(user == 32010);
  // "▁Hi" is 6324 in the LLaMA vocabulary (see tokenizer-vectors/llama2-spm.json, "Hi everyone").
  // <|user|> is a control token: plain text by default, split with parse_special, and then it
  // swallows the newline after it (llama.cpp gives Phi-3's special tokens rstrip).
  BOOST_TEST(tok.encode("<|user|>\nHi", {.add_special = false, .parse_special = true}) ==
             (std::vector<int32_t>{user, 6324}));
  BOOST_TEST(tok.encode("<|user|>\nHi", {.add_special = false}).size() > 2u);
  BOOST_TEST(tok.is_eog(tok.token_id("<|end|>")));
}

BOOST_AUTO_TEST_CASE(wordpiece_wraps_in_cls_sep_and_decodes_like_hf,
                     *boost::unit_test::precondition(needs_file(testdata("llama.cpp-vocab/ggml-vocab-bert-bge.gguf")))) {
  const auto tok = lt::load_tokenizer(testdata("llama.cpp-vocab/ggml-vocab-bert-bge.gguf"));
  const auto ids = tok.encode("Hello World!");
  // BERT base uncased: [CLS] hello world ! [SEP]
  BOOST_TEST(ids == (std::vector<int32_t>{101, 7592, 2088, 999, 102}));
  BOOST_TEST(tok.decode(ids) == "hello world!");
}

BOOST_AUTO_TEST_CASE(gpt2_eos_is_end_of_generation) {
  const auto p = testdata("llama.cpp-vocab/ggml-vocab-gpt-2.gguf");
  if (!std::filesystem::exists(p)) return;
  const auto tok = lt::load_tokenizer(p);
  BOOST_TEST(tok.eos_id() == 50256);
  BOOST_TEST(tok.is_eog(50256));
  BOOST_TEST(!tok.is_eog(0));
  // GPT-2 adds no BOS.
  BOOST_TEST(tok.encode("Hello", {.add_special = true}) == tok.encode("Hello", {.add_special = false}));
}

BOOST_AUTO_TEST_SUITE_END()
