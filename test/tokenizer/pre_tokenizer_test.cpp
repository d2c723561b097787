// SPDX-License-Identifier: MIT
// Named pre-tokenizers: GGUF names qwen2 and llama-bpe (llama.cpp's regexes) reproduce llama.cpp's vectors
// with vocabularies taken from other formats; regex splitting follows Unicode categories.
#include <boost/test/unit_test.hpp>

#include <nlohmann/json.hpp>

#include <llmforge/tokenizer.hpp>

#include "common/test_data.hpp"
#include "tokenizer/vectors.hpp"

namespace lt = llmforge::tokenizer;
using llmforge::test::needs_file;
using llmforge::test::testdata;

namespace {

std::size_t count_matches(const lt::Tokenizer& tok, const std::string& vectors) {
  const auto cases = llmforge::test::read_llama_vectors(testdata(vectors + ".inp"), testdata(vectors + ".out"));
  std::size_t pass = 0;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto got = tok.encode(cases[i].text, {.add_special = false});
    BOOST_TEST(got == cases[i].ids, vectors << " case " << i << " '" << cases[i].text << "': got ["
                                            << llmforge::test::ids_to_string(got) << "]");
    pass += got == cases[i].ids;
  }
  BOOST_TEST(cases.size() == 46u);
  return pass;
}

std::vector<std::string> split(const char* pre, std::string_view text) {
  const auto* info = lt::find_pre_tokenizer(pre);
  BOOST_REQUIRE(info != nullptr);
  const lt::PreTokenizer p(info->regexes);
  std::vector<std::string> out;
  for (auto piece : p.split(text)) out.emplace_back(piece);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(pre_tokenizer)

BOOST_AUTO_TEST_CASE(gguf_qwen2_pre_tokenizer_reproduces_qwen2_vectors,
                     *boost::unit_test::precondition(needs_file(testdata("hf-tokenizers/qwen3/tokenizer.json")))) {
  // Build GGUF-style metadata (tokens, types, merges, pre = "qwen2") from Qwen's tokenizer.json, the
  // way convert_hf_to_gguf.py does, and tokenize through the GGUF path.
  const auto j = nlohmann::json::parse(llmforge::test::read_file(testdata("hf-tokenizers/qwen3/tokenizer.json")));
  std::vector<std::string> tokens;
  for (const auto& [tok, id] : j["model"]["vocab"].items()) {
    if (tokens.size() <= id.get<std::size_t>()) tokens.resize(id.get<std::size_t>() + 1);
    tokens[id.get<std::size_t>()] = tok;
  }
  std::vector<int32_t> types(tokens.size(), 1);
  for (const auto& t : j["added_tokens"]) {
    const auto id = t["id"].get<std::size_t>();
    if (tokens.size() <= id) tokens.resize(id + 1), types.resize(id + 1, 1);
    tokens[id] = t["content"].get<std::string>();
    types[id] = 3;
  }
  std::vector<std::string> merges;
  for (const auto& m : j["model"]["merges"]) merges.push_back(m[0].get<std::string>() + " " + m[1].get<std::string>());
  const auto array = [](auto elem, const auto& values) {
    auto a = std::make_shared<llmforge::io::ArrayValue>();
    a->element_type = elem;
    for (const auto& v : values) a->items.emplace_back(v);
    return std::shared_ptr<const llmforge::io::ArrayValue>(a);
  };
  llmforge::io::Metadata md("qwen2-from-json");
  md.set("tokenizer.ggml.model", std::string("gpt2"));
  md.set("tokenizer.ggml.pre", std::string("qwen2"));
  md.set("tokenizer.ggml.tokens", array(llmforge::io::ValueType::String, tokens));
  md.set("tokenizer.ggml.token_type", array(llmforge::io::ValueType::I32, types));
  md.set("tokenizer.ggml.merges", array(llmforge::io::ValueType::String, merges));
  md.set("tokenizer.ggml.eos_token_id", uint32_t{151645});
  const auto tok = lt::Tokenizer::from_gguf(md);
  const std::size_t pass = count_matches(tok, "llama.cpp-vocab/ggml-vocab-qwen2.gguf");
  BOOST_TEST_MESSAGE("GGUF pre 'qwen2' with Qwen vocabulary vs ggml-vocab-qwen2.gguf.out: " << pass << "/46");
}

BOOST_AUTO_TEST_CASE(gguf_llama_bpe_pre_tokenizer_reproduces_llama3_vectors,
                     *boost::unit_test::precondition(needs_file(testdata("tiktoken/llama3-tokenizer.model")))) {
  // Llama 3's vocabulary from the tiktoken file, split with llama.cpp's "llama-bpe" regexes.
  const auto base = lt::load_tokenizer(testdata("tiktoken/llama3-tokenizer.model"));
  const auto* info = lt::find_pre_tokenizer("llama-bpe");
  BOOST_REQUIRE(info != nullptr);
  BOOST_TEST(info->ignore_merges);
  const lt::Tokenizer tok(base.vocab(), &info->regexes);
  const std::size_t pass = count_matches(tok, "llama.cpp-vocab/ggml-vocab-llama-bpe.gguf");
  BOOST_TEST_MESSAGE("GGUF pre 'llama-bpe' with Llama 3 ranks vs ggml-vocab-llama-bpe.gguf.out: " << pass << "/46");
}

BOOST_AUTO_TEST_CASE(gpt2_split_uses_unicode_letter_and_number_classes) {
  // ' ?\p{L}+' keeps accented and non-Latin letters in one word; ' ?\p{N}+' takes any digit script;
  // '\s+(?!\S)' leaves the last space of a run to the next word.
  BOOST_TEST(split("gpt-2", "Ça va   déjà ٣٤ мир's") ==
             (std::vector<std::string>{"Ça", " va", "  ", " déjà", " ٣٤", " мир", "'s"}));
}

BOOST_AUTO_TEST_CASE(llama3_split_groups_digits_by_three) {
  BOOST_TEST(split("llama3", "1234567 ok") == (std::vector<std::string>{"123", "456", "7", " ok"}));
}

BOOST_AUTO_TEST_CASE(every_named_pre_tokenizer_compiles) {
  for (const auto& p : lt::pre_tokenizers()) {
    BOOST_TEST_CONTEXT(p.names.front()) {
      const lt::PreTokenizer pre(p.regexes);
      const std::string text = "Hello, world! 12345 \xE4\xB8\xAD\xE6\x96\x87  \n\t x";
      std::string joined;
      for (auto piece : pre.split(text)) joined += piece;
      BOOST_TEST(joined == text);  // splitting never loses or reorders bytes
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
