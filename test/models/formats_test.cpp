// SPDX-License-Identifier: MIT
// Model files beyond GGUF against their reference outputs: Hugging Face folders (tiny-random-llama,
// tiny-gpt2: reference.json from independent NumPy / candle runs) and llama2.c checkpoints
// (stories260K.bin: llama2.c's own expected output), plus the round trips through `.lmf` and GGUF.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <fstream>
#include <filesystem>
#include <numeric>

#include <llmforge/io/lmf.hpp>
#include <llmforge/io/safetensors.hpp>
#include <llmforge/tokenizer/gguf_export.hpp>

#include "common/model_fixtures.hpp"

namespace lf = llmforge;
namespace t = llmforge::test;
namespace utf = boost::unit_test;
namespace fs = std::filesystem;

namespace {

const auto kTinyLlama = t::testdata("hf/tiny-random-llama");
const auto kLlamaTok = t::testdata("hf-tokenizers/llama2");
const auto kTinyGpt2 = t::testdata("hf/tiny-gpt2");
const auto kStoriesBin = t::testdata("llama2c/stories260K.bin");
const auto kTok512 = t::testdata("llama2c/tok512.bin");
const auto kStoriesGguf = t::testdata("gguf/stories260K.gguf");

// Largest difference between the reference's top-10 [id, logit] pairs of each position and ours
// (the reference ids must also be our top 10, in order up to near-ties).
double top10_error(const std::vector<float>& all, std::size_t vocab, const nlohmann::json& top10) {
  double worst = 0;
  for (std::size_t p = 0; p < top10.size(); ++p) {
    const float* row = all.data() + p * vocab;
    for (const auto& pair : top10[p]) {
      const auto id = pair[0].get<std::size_t>();
      worst = std::max(worst, static_cast<double>(std::abs(row[id] - pair[1].get<float>())));
    }
    std::vector<int32_t> order(vocab);
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + 10, order.end(), [&](int32_t a, int32_t b) { return row[a] > row[b]; });
    BOOST_TEST_INFO("position " << p);
    BOOST_TEST(order[0] == top10[p][0][0].get<int32_t>());
  }
  return worst;
}

std::vector<int32_t> greedy(const lf::Model& m, std::vector<int32_t> ids, std::size_t n) {
  auto s = m.new_session(t::reference_session(ids.size() + n + 1));
  std::vector<float> logits(m.config().vocab_size);
  m.forward(s, ids, logits);
  std::vector<int32_t> out;
  for (std::size_t i = 0; i < n; ++i) {
    const int32_t next = t::argmax(logits);
    out.push_back(next);
    const std::vector<int32_t> one{next};
    m.forward(s, one, logits);
  }
  return out;
}

fs::path temp_path(const std::string& name) {
  auto dir = fs::temp_directory_path() / "llmforge_formats_test";
  fs::create_directories(dir);
  return dir / name;
}

// Writes a SafeTensors file holding `names` of `src` (F32), as F16 if `to_f16`.
void write_safetensors(const fs::path& out, const lf::io::SafeTensorsFile& src, const std::vector<std::string>& names, bool to_f16) {
  nlohmann::json header = nlohmann::json::object();
  std::string data;
  for (const auto& n : names) {
    const auto* t = src.find(n);
    BOOST_REQUIRE(t && t->dtype == lf::io::StDType::F32);
    const auto* f = reinterpret_cast<const float*>(src.data(*t));
    const std::size_t count = t->size / 4, begin = data.size();
    for (std::size_t i = 0; i < count; ++i) {
      if (to_f16) {
        const auto h = lf::f32_to_f16(f[i]);
        data.append(reinterpret_cast<const char*>(&h), 2);
      } else {
        data.append(reinterpret_cast<const char*>(f + i), 4);
      }
    }
    header[n] = {{"dtype", to_f16 ? "F16" : "F32"}, {"shape", std::vector<std::size_t>(t->shape.begin(), t->shape.end())},
                 {"data_offsets", {begin, data.size()}}};
  }
  std::string h = header.dump();
  while ((h.size() + 8) % 8 != 0) h += ' ';
  const uint64_t n = h.size();
  std::ofstream o(out, std::ios::binary);
  o.write(reinterpret_cast<const char*>(&n), 8);
  o << h << data;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(formats)

BOOST_AUTO_TEST_CASE(sharded_hf_checkpoint_loads_exactly_like_the_single_file,
                     *utf::precondition(t::needs_file(kTinyLlama / "reference.json"))) {
  const auto src = lf::io::SafeTensorsFile::open(kTinyLlama / "model.safetensors");
  std::vector<std::string> first, second;
  for (const auto& ti : src.tensors()) (ti.name.find("layers.1.") != std::string::npos || ti.name == "lm_head.weight" ? second : first).push_back(ti.name);
  const auto dir = temp_path("sharded-llama");
  fs::create_directories(dir);
  fs::copy_file(kTinyLlama / "config.json", dir / "config.json", fs::copy_options::overwrite_existing);
  write_safetensors(dir / "model-00001-of-00002.safetensors", src, first, false);
  write_safetensors(dir / "model-00002-of-00002.safetensors", src, second, false);
  nlohmann::json index = {{"metadata", nlohmann::json::object()}, {"weight_map", nlohmann::json::object()}};
  for (const auto& n : first) index["weight_map"][n] = "model-00001-of-00002.safetensors";
  for (const auto& n : second) index["weight_map"][n] = "model-00002-of-00002.safetensors";
  std::ofstream(dir / "model.safetensors.index.json") << index.dump(1);
  const std::vector<int32_t> ids{1, 2, 3};
  const auto want = t::all_logits(*lf::load_model(kTinyLlama, {.load_tokenizer = false}), ids);
  BOOST_TEST(t::all_logits(*lf::load_model(dir, {.load_tokenizer = false}), ids) == want, boost::test_tools::per_element());

}

BOOST_AUTO_TEST_CASE(f16_hf_checkpoint_is_within_f16_rounding_of_the_reference,
                     *utf::precondition(t::needs_file(kTinyLlama / "reference.json"))) {
  const auto src = lf::io::SafeTensorsFile::open(kTinyLlama / "model.safetensors");
  std::vector<std::string> all;
  for (const auto& ti : src.tensors()) all.push_back(ti.name);
  const auto dir16 = temp_path("f16-llama");
  fs::create_directories(dir16);
  fs::copy_file(kTinyLlama / "config.json", dir16 / "config.json", fs::copy_options::overwrite_existing);
  write_safetensors(dir16 / "model.safetensors", src, all, true);
  const auto m16 = lf::load_model(dir16, {.load_tokenizer = false});
  const auto ref = t::read_json(kTinyLlama / "reference.json");
  const auto got = t::all_logits(*m16, ref["prompt_ids"].get<std::vector<int32_t>>());
  const double err = top10_error(got, 32000, ref["top10_logits_per_position"]);
  BOOST_TEST_MESSAGE("tiny-random-llama as F16 SafeTensors: max |logit - reference| over the top-10 = " << err);
  BOOST_TEST(err < 5e-3);
}

BOOST_AUTO_TEST_CASE(hf_tiny_random_llama_reproduces_reference_logits_and_greedy_ids,
                     *utf::precondition(t::needs_file(kTinyLlama / "reference.json"))) {
  const auto ref = t::read_json(kTinyLlama / "reference.json");
  auto m = lf::load_model(kTinyLlama, {.tokenizer = fs::exists(kLlamaTok) ? kLlamaTok : fs::path()});
  BOOST_TEST(m->config().arch == "llama");
  BOOST_TEST(m->config().vocab_size == 32000u);
  const auto prompt = ref["prompt_ids"].get<std::vector<int32_t>>();
  const auto all = t::all_logits(*m, prompt);
  const double err = top10_error(all, 32000, ref["top10_logits_per_position"]);
  BOOST_TEST_MESSAGE("tiny-random-llama: max |logit - reference| over the top-10 = " << err);
  BOOST_TEST(err < 1e-4);
  const auto first16 = ref["last_position_logits_ids_0_15"].get<std::vector<float>>();
  const std::vector<float> got16(all.end() - 32000, all.end() - 32000 + 16);
  BOOST_TEST(t::max_abs_diff(got16, first16) < 1e-4);
  BOOST_TEST(greedy(*m, prompt, 8) == ref["generated_ids"].get<std::vector<int32_t>>(), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(hf_tiny_random_llama_loads_with_load_time_quantization,
                     *utf::precondition(t::needs_file(kTinyLlama / "reference.json"))) {
  // Rows of 16 values: Q8_0 (blocks of 32) cannot hold them, F16 can.
  auto m = lf::load_model(kTinyLlama, {.quantize = lf::GgmlType::F16, .load_tokenizer = false});
  const auto ref = t::read_json(kTinyLlama / "reference.json");
  const auto all = t::all_logits(*m, ref["prompt_ids"].get<std::vector<int32_t>>());
  BOOST_TEST(top10_error(all, 32000, ref["top10_logits_per_position"]) < 2e-3);
}

BOOST_AUTO_TEST_CASE(hf_tiny_gpt2_reproduces_reference_tokens_logits_and_greedy_ids,
                     *utf::precondition(t::needs_file(kTinyGpt2 / "reference.json"))) {
  const auto ref = t::read_json(kTinyGpt2 / "reference.json");
  auto m = lf::load_model(kTinyGpt2);
  BOOST_TEST(m->config().arch == "gpt2");
  const auto ids = m->tokenizer().encode(ref["prompt"].get<std::string>(), {.add_special = false});
  BOOST_TEST(ids == ref["prompt_ids"].get<std::vector<int32_t>>(), boost::test_tools::per_element());
  const auto prompt = ref["prompt_ids"].get<std::vector<int32_t>>();
  const auto all = t::all_logits(*m, prompt);
  const double err = top10_error(all, 50257, ref["top10_logits_per_position"]);
  BOOST_TEST_MESSAGE("tiny-gpt2: max |logit - reference| over the top-10 = " << err);
  BOOST_TEST(err < 1e-4);
  BOOST_TEST(greedy(*m, prompt, 8) == ref["generated_ids"].get<std::vector<int32_t>>(), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(llama2c_stories260k_greedy_200_steps_equal_llama2c_expected_text,
                     *utf::precondition(t::needs_file(kStoriesBin)) * utf::precondition(t::needs_file(kTok512))) {
  const std::string expected = t::read_file(t::testdata("llama2c/stories260K.greedy200.expected.txt"));
  const auto ref = t::read_json(t::testdata("llama2c/stories260K.greedy200.reference.json"));
  std::shared_ptr<const lf::Model> m = lf::load_model(kStoriesBin, {.tokenizer = kTok512});
  BOOST_TEST(m->config().num_kv_heads == 4u);
  const auto tokens = ref["tokens"].get<std::vector<int32_t>>();
  const auto all = t::all_logits(*m, std::vector<int32_t>(tokens.begin(), tokens.begin() + 4));
  for (std::size_t p = 0; p < 4; ++p) {
    const std::vector<float> row(all.begin() + p * 512, all.begin() + (p + 1) * 512);
    BOOST_TEST(t::max_abs_diff(row, ref["logits"][p].get<std::vector<float>>()) < 1e-4);
  }
  lf::Generator gen(m, {.context = 256, .threads = 2});
  const std::vector<int32_t> bos{1};
  auto r = gen.generate_tokens(bos, {.max_tokens = 200, .stop_at_eos = false});
  BOOST_TEST(r.text == expected);
}

// What `llmforge convert` does: every tensor as stored (GGUF names and layouts), the metadata, and
// the tokenizer of `tok` (if given) as GGUF tokenizer keys.
template <class Writer>
void write_converted(const lf::io::GgufFile& f, const fs::path& out, const lf::tokenizer::Tokenizer* tok = nullptr,
                     const std::string& pre = "") {
  Writer w;
  lf::io::Metadata md = f.metadata();
  if (tok) lf::tokenizer::add_gguf_tokenizer_metadata(tok->vocab(), md, pre);
  w.set_all(md);
  for (const auto& t : f.tensors()) w.add_tensor(t.name, t.shape, t.ggml_type(), f.data(t));
  w.write(out);
}

BOOST_AUTO_TEST_CASE(hf_folder_to_gguf_runs_identically_and_keeps_the_tokenizer,
                     *utf::precondition(t::needs_file(kTinyGpt2 / "reference.json")) *
                         utf::precondition(t::needs_file(kTinyLlama / "reference.json"))) {
  {
    const auto ref = t::read_json(kTinyGpt2 / "reference.json");
    const auto folder = lf::load_model(kTinyGpt2);
    const auto out = temp_path("tiny-gpt2.gguf");
    write_converted<lf::io::GgufWriter>(*lf::open_model_file(kTinyGpt2), out, &folder->tokenizer(), "gpt-2");
    const auto gguf = lf::load_model(out);
    BOOST_TEST(lf::io::GgufFile::open(out).find_tensor("blk.0.attn_qkv.weight")->shape == (lf::Shape{6, 2}));
    const std::string prompt = ref["prompt"].get<std::string>();
    BOOST_TEST(gguf->tokenizer().encode(prompt, {.add_special = false}) == ref["prompt_ids"].get<std::vector<int32_t>>(),
               boost::test_tools::per_element());
    const auto ids = ref["prompt_ids"].get<std::vector<int32_t>>();
    BOOST_TEST(t::all_logits(*gguf, ids) == t::all_logits(*folder, ids), boost::test_tools::per_element());
  }
  if (fs::exists(kLlamaTok / "tokenizer.json")) {
    const auto folder = lf::load_model(kTinyLlama, {.tokenizer = kLlamaTok});
    const auto out = temp_path("tiny-random-llama.gguf");
    write_converted<lf::io::GgufWriter>(*lf::open_model_file(kTinyLlama), out, &folder->tokenizer());
    const auto gguf = lf::load_model(out);
    for (const char* text : {"Hello world", " Once upon a time, there was a little girl named Lily.", "naïve café 123"}) {
      BOOST_TEST_INFO(text);
      BOOST_TEST(gguf->tokenizer().encode(text) == folder->tokenizer().encode(text), boost::test_tools::per_element());
    }
    const std::vector<int32_t> ids{1, 2, 3, 15043, 3186};
    BOOST_TEST(t::all_logits(*gguf, ids) == t::all_logits(*folder, ids), boost::test_tools::per_element());
  }
}

BOOST_AUTO_TEST_CASE(gguf_to_lmf_gives_identical_logits_and_verifies, *utf::precondition(t::needs_file(kStoriesGguf))) {
  const auto out = temp_path("stories260K.lmf");
  write_converted<lf::io::LmfWriter>(*lf::open_model_file(kStoriesGguf), out);
  BOOST_TEST(!lf::io::verify_lmf(out).first_bad);
  const auto a = lf::load_model(kStoriesGguf), b = lf::load_model(out);
  const auto ids = a->tokenizer().encode("Once upon a time, there was");
  BOOST_TEST(b->tokenizer().encode("Once upon a time, there was") == ids, boost::test_tools::per_element());
  BOOST_TEST(t::all_logits(*b, ids) == t::all_logits(*a, ids), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
