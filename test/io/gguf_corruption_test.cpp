// SPDX-License-Identifier: MIT
// Hostile-input tests: truncated, bit-flipped and hand-crafted GGUF files must be rejected with an
// llmforge::Error (or, if still well-formed, load), never crash. Run under ASan/UBSan in CI.
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <random>
#include <string>

#include <llmforge/io/gguf_reader.hpp>
#include <llmforge/models/registry.hpp>

#include "common/test_data.hpp"

namespace lf = llmforge;
namespace fs = std::filesystem;
namespace t = llmforge::test;
namespace utf = boost::unit_test;

namespace {

fs::path temp_path(const std::string& name) {
  return fs::temp_directory_path() / ("llmforge_" + std::to_string(::getpid()) + "_" + name);
}

void write(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

enum class Outcome { Loaded, Rejected };

/// Opens the file as GGUF and as a model; anything but success or an llmforge::Error fails the test.
Outcome try_load(const fs::path& p) {
  try {
    auto g = lf::io::GgufFile::open(p);
    // Touch every tensor's bytes: offsets were validated, so this must stay inside the mapping.
    uint64_t sum = 0;
    for (const auto& info : g.tensors())
      if (info.size) sum += static_cast<unsigned char>(g.data(info)[info.size - 1]);
    (void)sum;
    auto m = lf::load_model(p);
    return Outcome::Loaded;
  } catch (const lf::Error&) {
    return Outcome::Rejected;
  }
}

std::string le32(uint32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); }
std::string le64(uint64_t v) { return std::string(reinterpret_cast<const char*>(&v), 8); }
std::string gguf_str(const std::string& s) { return le64(s.size()) + s; }

}  // namespace

BOOST_AUTO_TEST_SUITE(gguf_corruption)

const auto kStories = t::testdata("gguf/stories260K.gguf");

BOOST_AUTO_TEST_CASE(every_truncation_of_a_real_file_is_rejected_cleanly, *utf::precondition(t::needs_file(kStories))) {
  const std::string bytes = t::read_file(kStories);
  const auto p = temp_path("trunc.gguf");
  // Every length in the header region, then a spread of lengths through the tensor data.
  std::vector<std::size_t> lengths;
  for (std::size_t n = 0; n < 12000; n += 7) lengths.push_back(n);
  for (std::size_t n = 12000; n < bytes.size(); n += 9973) lengths.push_back(n);
  lengths.push_back(bytes.size() - 1);
  for (std::size_t n : lengths) {
    write(p, bytes.substr(0, n));
    BOOST_TEST_INFO("length " << n);
    BOOST_TEST((try_load(p) == Outcome::Rejected));
  }
  fs::remove(p);
}

BOOST_AUTO_TEST_CASE(random_bit_flips_never_crash, *utf::precondition(t::needs_file(kStories))) {
  const std::string bytes = t::read_file(kStories);
  const auto p = temp_path("flip.gguf");
  std::mt19937_64 rng(1234);
  std::size_t rejected = 0, loaded = 0;
  // Header bytes (metadata + tensor infos) are where flips change structure; weights are just values.
  const std::size_t header = 12000;
  for (int i = 0; i < 600; ++i) {
    std::string m = bytes;
    const int flips = 1 + static_cast<int>(rng() % 3);
    for (int f = 0; f < flips; ++f) {
      const std::size_t at = (i % 5 == 4) ? rng() % m.size() : rng() % header;
      m[at] = static_cast<char>(m[at] ^ (1u << (rng() % 8)));
    }
    write(p, m);
    (try_load(p) == Outcome::Rejected ? rejected : loaded)++;
  }
  fs::remove(p);
  BOOST_TEST_MESSAGE("bit flips: " << rejected << " rejected, " << loaded << " still loadable");
  BOOST_TEST(rejected > 0u);
}

BOOST_AUTO_TEST_CASE(rejects_bad_magic_and_unsupported_versions) {
  const auto p = temp_path("hdr.gguf");
  auto msg = [&](const std::string& bytes) {
    write(p, bytes);
    try {
      (void)lf::io::GgufFile::open(p);
    } catch (const lf::FormatError& e) {
      return std::string(e.what());
    }
    return std::string("loaded");
  };
  BOOST_TEST(msg("GGML" + le32(3) + le64(0) + le64(0)).find("not a GGUF file") != std::string::npos);
  BOOST_TEST(msg("GGUF" + le32(4) + le64(0) + le64(0)).find("unsupported GGUF version 4; this build reads v1-v3") != std::string::npos);
  BOOST_TEST(msg("GGUF" + le32(0x03000000) + le64(0) + le64(0)).find("big-endian") != std::string::npos);
  BOOST_TEST(msg("GGUF" + le32(3) + le64(0) + le64(1ull << 60)).find("metadata count") != std::string::npos);
  fs::remove(p);
}

BOOST_AUTO_TEST_CASE(rejects_hostile_lengths_offsets_and_types) {
  const auto p = temp_path("hostile.gguf");
  auto rejected = [&](const std::string& bytes, const std::string& needle) {
    write(p, bytes);
    try {
      (void)lf::io::GgufFile::open(p);
    } catch (const lf::FormatError& e) {
      BOOST_TEST_INFO(e.what());
      return std::string(e.what()).find(needle) != std::string::npos;
    }
    return false;
  };
  const std::string hdr1 = std::string("GGUF") + le32(3) + le64(0) + le64(1);
  // string longer than the file
  BOOST_TEST(rejected(hdr1 + le64(1ull << 40) + "k", "past the end of the file"));
  // unknown value type
  BOOST_TEST(rejected(hdr1 + gguf_str("k") + le32(99), "unknown value type 99"));
  // array count that cannot fit
  BOOST_TEST(rejected(hdr1 + gguf_str("k") + le32(9) + le32(4) + le64(1ull << 62), "more than the file holds"));
  // alignment that is not a power of two
  BOOST_TEST(rejected(hdr1 + gguf_str("general.alignment") + le32(4) + le32(3), "power of two"));
  // tensor with data beyond the end / misaligned offset / unknown type / too many dims
  const std::string hdr_t = std::string("GGUF") + le32(3) + le64(1) + le64(0);
  BOOST_TEST(rejected(hdr_t + gguf_str("t") + le32(1) + le64(1024) + le32(0) + le64(0), "past the end of the file"));
  BOOST_TEST(rejected(hdr_t + gguf_str("t") + le32(1) + le64(4) + le32(0) + le64(3), "not a multiple of the alignment"));
  BOOST_TEST(rejected(hdr_t + gguf_str("t") + le32(1) + le64(4) + le32(77) + le64(0), "unknown type code 77"));
  BOOST_TEST(rejected(hdr_t + gguf_str("t") + le32(9) + le64(4), "dimensions, expected 1 to 4"));
  BOOST_TEST(rejected(hdr_t + gguf_str("t") + le32(2) + le64(1ull << 40) + le64(1ull << 40) + le32(0) + le64(0), "impossible dimension"));
  BOOST_TEST(rejected(hdr_t + gguf_str("t") + le32(1) + le64(33) + le32(2) + le64(0), "not a multiple of the Q4_0 block size"));
  fs::remove(p);
}

BOOST_AUTO_TEST_CASE(every_shared_gguf_file_loads) {
  std::size_t n = 0;
  for (const auto& dir : {t::testdata(""), t::reference("")}) {
    if (!fs::exists(dir)) continue;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
      if (e.path().extension() != ".gguf") continue;
      BOOST_TEST_CONTEXT(e.path().string()) {
        auto g = lf::io::GgufFile::open(e.path());
        BOOST_TEST(g.metadata().size() > 0u);
        ++n;
      }
    }
  }
  BOOST_TEST_MESSAGE(n << " GGUF files opened");
  if (fs::exists(t::shared_dir())) BOOST_TEST(n >= 30u);
}

BOOST_AUTO_TEST_CASE(reads_gguf_v1_legacy_vocabulary,
                     *utf::precondition(t::needs_file(t::testdata("llama.cpp-vocab/legacy/ggml-vocab-llama-ggufv1.gguf")))) {
  auto g = lf::io::GgufFile::open(t::testdata("llama.cpp-vocab/legacy/ggml-vocab-llama-ggufv1.gguf"));
  BOOST_TEST(g.version() == 1u);
  BOOST_TEST(g.metadata().get_string_array("tokenizer.ggml.tokens").size() == 32000u);
  BOOST_TEST(g.metadata().get_uint("llama.embedding_length") == 4096u);
}

BOOST_AUTO_TEST_CASE(missing_file_is_an_io_error) {
  BOOST_CHECK_THROW((void)lf::io::GgufFile::open("/nonexistent/model.gguf"), lf::IoError);
}

BOOST_AUTO_TEST_SUITE_END()
