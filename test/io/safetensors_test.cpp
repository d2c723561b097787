// SPDX-License-Identifier: MIT
// SafeTensors, `.lmf` and llama2.c readers on hostile input: every corrupt header or file gives a
// FormatError naming the file and the problem, never a crash (run under ASan/UBSan in CI). The
// hand-made cases are also written to the fuzz corpus folder (LLMFORGE_FUZZ_CORPUS, if set).
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <random>
#include <string>

#include <llmforge/io/llama2c.hpp>
#include <llmforge/io/lmf.hpp>
#include <llmforge/io/safetensors.hpp>
#include <llmforge/models/registry.hpp>

#include "common/test_data.hpp"

namespace lf = llmforge;
namespace fs = std::filesystem;
namespace t = llmforge::test;
namespace utf = boost::unit_test;

namespace {

fs::path temp_dir() {
  auto d = fs::temp_directory_path() / ("llmforge_st_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}

void write(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (const char* corpus = std::getenv("LLMFORGE_FUZZ_CORPUS")) {
    fs::create_directories(fs::path(corpus) / "safetensors");
    std::ofstream(fs::path(corpus) / "safetensors" / p.filename(), std::ios::binary | std::ios::trunc)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
}

std::string le64(uint64_t v) { return std::string(reinterpret_cast<const char*>(&v), 8); }

/// A SafeTensors file: the header text, then `data_bytes` bytes of data.
std::string st_file(const std::string& header, std::size_t data_bytes) { return le64(header.size()) + header + std::string(data_bytes, '\x01'); }

/// Opening `bytes` as SafeTensors throws FormatError whose message names the file and contains `what`.
void expect_rejected(const std::string& name, const std::string& bytes, const std::string& what) {
  const auto p = temp_dir() / (name + ".safetensors");
  write(p, bytes);
  BOOST_TEST_CONTEXT(name) {
    try {
      (void)lf::io::SafeTensorsFile::open(p);
      BOOST_ERROR("opened a corrupt file");
    } catch (const lf::FormatError& e) {
      const std::string msg = e.what();
      BOOST_TEST_INFO(msg);
      BOOST_TEST(msg.find(p.string()) != std::string::npos);
      BOOST_TEST(msg.find(what) != std::string::npos);
    }
  }
}

const std::string kGood = R"({"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"F16","shape":[4],"data_offsets":[16,24]}})";

}  // namespace

BOOST_AUTO_TEST_SUITE(safetensors)

BOOST_AUTO_TEST_CASE(a_valid_file_opens_with_views_into_the_mapping) {
  const auto p = temp_dir() / "good.safetensors";
  write(p, st_file(kGood, 24));
  const auto f = lf::io::SafeTensorsFile::open(p);
  BOOST_TEST(f.tensors().size() == 2u);
  const auto* a = f.find("a");
  BOOST_REQUIRE(a);
  BOOST_TEST(a->shape == (lf::Shape{2, 2}));
  BOOST_TEST(a->offset == 8 + kGood.size());
  BOOST_TEST((f.find("b")->dtype == lf::io::StDType::F16));
}

BOOST_AUTO_TEST_CASE(corrupt_headers_are_rejected_with_file_and_problem) {
  expect_rejected("tiny", "abc", "fewer than the 8-byte header length");
  expect_rejected("len_past_end", le64(1000) + "{}", "runs past the end of the file");
  expect_rejected("len_huge", le64(~uint64_t{0}) + "{}", "exceeds the format's limit");
  expect_rejected("not_json", st_file("{\"a\": [1, 2", 0), "not valid JSON");
  expect_rejected("not_object", st_file("[1,2,3]      ", 0), "does not start with '{'");
  expect_rejected("entry_not_object", st_file(R"({"a": 3})", 0), "is not described by an object");
  expect_rejected("unknown_dtype", st_file(R"({"a":{"dtype":"F12","shape":[1],"data_offsets":[0,4]}})", 4), "unknown dtype 'F12'");
  expect_rejected("wrong_size", st_file(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8), "but data_offsets span 8 bytes");
  expect_rejected("negative_dim", st_file(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4), "not a non-negative integer");
  expect_rejected("reversed", st_file(R"({"a":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}})", 4), "end before they begin");
  expect_rejected("out_of_file", st_file(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8), "extends past the end of the data");
  expect_rejected("overlap",
                  st_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12),
                  "overlap");
  expect_rejected("duplicate",
                  st_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8),
                  "names 'a' twice");
  expect_rejected("bad_metadata", st_file(R"({"__metadata__":{"format":3}})", 0), "is not a string");
  expect_rejected("no_offsets", st_file(R"({"a":{"dtype":"F32","shape":[1]}})", 4), "no 'data_offsets' pair");
  expect_rejected("overflow", st_file(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,4]}})", 4), "overflows");
}

BOOST_AUTO_TEST_CASE(truncated_and_bit_flipped_real_files_never_crash,
                     *utf::precondition(t::needs_file(t::testdata("hf/tiny-gpt2/model.safetensors")))) {
  const std::string real = t::read_file(t::testdata("hf/tiny-gpt2/model.safetensors"));
  const auto p = temp_dir() / "mutated.safetensors";
  std::size_t rejected = 0;
  for (std::size_t cut : {std::size_t{0}, std::size_t{7}, std::size_t{8}, std::size_t{100}, std::size_t{2439}, std::size_t{2440},
                          real.size() / 2, real.size() - 1}) {
    write(p, real.substr(0, cut));
    try {
      (void)lf::io::SafeTensorsFile::open(p);
    } catch (const lf::FormatError& e) {
      ++rejected;
      BOOST_TEST(std::string(e.what()).find(p.string()) != std::string::npos);
    }
  }
  BOOST_TEST(rejected == 8u);  // every truncation loses data the header points at
  std::mt19937 rng(7);
  const uint64_t header = 8 + 2432;
  for (int i = 0; i < 300; ++i) {
    std::string m = real.substr(0, header + 64);  // header plus some data, so offsets run past the end
    const std::size_t at = rng() % header;
    m[at] = static_cast<char>(m[at] ^ (1 << (rng() % 8)));
    write(p, m);
    try {
      const auto f = lf::io::SafeTensorsFile::open(p);
      for (const auto& ti : f.tensors())
        if (ti.size) (void)f.data(ti)[ti.size - 1];  // validated: inside the mapping
    } catch (const lf::Error&) {
    }
  }
}

BOOST_AUTO_TEST_CASE(sharded_checkpoints_resolve_through_the_index_and_report_missing_shards) {
  const auto dir = temp_dir() / "sharded";
  fs::create_directories(dir);
  write(dir / "model-00001-of-00002.safetensors", st_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 8));
  write(dir / "model-00002-of-00002.safetensors", st_file(R"({"b":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}})", 4));
  write(dir / "model.safetensors.index.json",
        R"({"metadata":{},"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}})");
  const auto c = lf::io::SafeTensorsCheckpoint::open(dir);
  BOOST_TEST(c.files().size() == 2u);
  BOOST_TEST((c.find("b").second->dtype == lf::io::StDType::BF16));
  BOOST_TEST(c.find("b").first->path().find("00002") != std::string::npos);

  write(dir / "model.safetensors.index.json", R"({"weight_map":{"a":"model-00001-of-00002.safetensors","c":"model-00003-of-00003.safetensors"}})");
  try {
    (void)lf::io::SafeTensorsCheckpoint::open(dir);
    BOOST_ERROR("a missing shard was not reported");
  } catch (const lf::FormatError& e) {
    BOOST_TEST(std::string(e.what()).find("shard 'model-00003-of-00003.safetensors'") != std::string::npos);
    BOOST_TEST(std::string(e.what()).find("is missing") != std::string::npos);
  }
  write(dir / "model.safetensors.index.json", R"({"weight_map":{"z":"model-00001-of-00002.safetensors"}})");
  BOOST_CHECK_EXCEPTION((void)lf::io::SafeTensorsCheckpoint::open(dir), lf::FormatError, [](const lf::FormatError& e) {
    return std::string(e.what()).find("'z' is not in shard") != std::string::npos;
  });
  write(dir / "model.safetensors.index.json", R"({"weight_map":{"a":"../../etc/passwd"}})");
  BOOST_CHECK_THROW((void)lf::io::SafeTensorsCheckpoint::open(dir), lf::FormatError);
  write(dir / "model.safetensors.index.json", "{not json");
  BOOST_CHECK_THROW((void)lf::io::SafeTensorsCheckpoint::open(dir), lf::FormatError);
}

BOOST_AUTO_TEST_CASE(hf_folder_with_a_corrupt_checkpoint_or_config_fails_cleanly) {
  const auto dir = temp_dir() / "badfolder";
  fs::create_directories(dir);
  write(dir / "config.json", R"({"model_type":"llama","hidden_size":8,"num_attention_heads":2,"num_hidden_layers":1,
        "intermediate_size":16,"max_position_embeddings":32,"vocab_size":4})");
  write(dir / "model.safetensors", st_file(R"({"model.embed_tokens.weight":{"dtype":"F32","shape":[4,8],"data_offsets":[0,128]}})", 128));
  BOOST_CHECK_EXCEPTION((void)lf::load_model(dir), lf::FormatError, [](const lf::FormatError& e) {
    return std::string(e.what()).find("required tensor 'model.norm.weight' is missing") != std::string::npos;
  });
  write(dir / "model.safetensors", st_file(R"({"model.embed_tokens.weight":{"dtype":"F32","shape":[4,8],"data_offsets":[0,128]}})", 64));
  BOOST_CHECK_THROW((void)lf::load_model(dir), lf::FormatError);
  write(dir / "config.json", R"({"model_type":"bogus"})");
  BOOST_CHECK_EXCEPTION((void)lf::load_model(dir), lf::UnsupportedError, [](const lf::UnsupportedError& e) {
    return std::string(e.what()).find("model_type 'bogus' is not supported") != std::string::npos;
  });
  write(dir / "config.json", R"({"model_type":"llama", "hidden_size": "wide"})");
  BOOST_CHECK_THROW((void)lf::load_model(dir), lf::ConfigError);
  write(dir / "config.json", "{");
  BOOST_CHECK_THROW((void)lf::load_model(dir), lf::FormatError);
}

BOOST_AUTO_TEST_CASE(crc32_matches_the_standard_check_value) {
  BOOST_TEST(lf::io::crc32("123456789", 9) == 0xCBF43926u);  // the CRC-32/ISO-HDLC check value
  const std::string long_text(1000, 'x');
  BOOST_TEST(lf::io::crc32(long_text.data() + 3, 997, lf::io::crc32(long_text.data(), 3)) == lf::io::crc32(long_text.data(), 1000));
}

BOOST_AUTO_TEST_CASE(lmf_round_trip_and_every_flipped_data_byte_is_named_by_verify) {
  lf::io::LmfWriter w;
  w.set("general.architecture", std::string("test"));
  const std::vector<float> a{1, 2, 3, 4}, b{5, 6};
  w.add_tensor("a", lf::Shape{2, 2}, lf::GgmlType::F32, a.data());
  w.add_tensor("b", lf::Shape{2}, lf::GgmlType::F32, b.data());
  const auto p = temp_dir() / "x.lmf";
  w.write(p);
  const auto f = lf::io::open_lmf(p);
  BOOST_TEST(f.metadata().get_string("general.architecture") == "test");
  BOOST_TEST(f.tensors().size() == 2u);
  BOOST_TEST(std::memcmp(f.data(*f.find_tensor("b")), b.data(), 8) == 0);
  BOOST_TEST(!lf::io::verify_lmf(p).first_bad);

  std::string bytes = t::read_file(p);
  const auto b_at = f.find_tensor("b")->offset;
  bytes[b_at + 3] = static_cast<char>(bytes[b_at + 3] ^ 0x10);
  const auto bad = temp_dir() / "flipped.lmf";
  write(bad, bytes);
  const auto r = lf::io::verify_lmf(bad);
  BOOST_TEST(r.first_bad.value_or("") == "b");
  // Every byte of the header is covered by its CRC (or fails a bounds check first).
  const std::string good = t::read_file(p);
  for (std::size_t i = 0; i < f.find_tensor("a")->offset; ++i) {
    std::string m = good;
    m[i] = static_cast<char>(m[i] ^ 0x01);
    write(bad, m);
    BOOST_TEST_CONTEXT("byte " << i) {
      try {
        (void)lf::io::open_lmf(bad);
        // padding after the header is not covered (it is not read)
      } catch (const lf::Error&) {
      }
    }
  }
  write(bad, good.substr(0, f.find_tensor("b")->offset + 4));  // cuts into the last tensor
  BOOST_CHECK_THROW((void)lf::io::open_lmf(bad), lf::FormatError);
}

BOOST_AUTO_TEST_CASE(llama2c_truncated_checkpoints_are_rejected,
                     *utf::precondition(t::needs_file(t::testdata("llama2c/stories260K.bin")))) {
  const std::string real = t::read_file(t::testdata("llama2c/stories260K.bin"));
  const auto p = temp_dir() / "cut.bin";
  for (std::size_t cut : {std::size_t{28}, std::size_t{1000}, real.size() / 2, real.size() - 1}) {
    write(p, real.substr(0, cut));
    BOOST_CHECK_EXCEPTION((void)lf::io::open_llama2c(p), lf::FormatError, [&](const lf::FormatError& e) {
      return std::string(e.what()).find(p.string()) != std::string::npos;
    });
  }
  std::string hdr = real;
  const int32_t min_vocab = INT32_MIN;  // "unshared classifier" of an impossible size
  std::memcpy(hdr.data() + 20, &min_vocab, 4);
  write(p, hdr);
  BOOST_CHECK_THROW((void)lf::io::open_llama2c(p), lf::FormatError);
  hdr = real;
  const int32_t zero_heads = 0;
  std::memcpy(hdr.data() + 12, &zero_heads, 4);
  write(p, hdr);
  BOOST_CHECK_THROW((void)lf::io::open_llama2c(p), lf::FormatError);
}

BOOST_AUTO_TEST_SUITE_END()
