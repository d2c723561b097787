// SPDX-License-Identifier: MIT
// GgufWriter: read -> write -> read gives identical metadata and tensor bytes; every value type;
// custom alignment; a failed write leaves no file behind and keeps the previous one.
#include <boost/test/unit_test.hpp>

#include <cstring>
#include <filesystem>

#include <llmforge/io/gguf_reader.hpp>
#include <llmforge/io/gguf_writer.hpp>

#include "common/test_data.hpp"

using namespace llmforge;
namespace fs = std::filesystem;
namespace utf = boost::unit_test;

namespace {

bool same_value(const io::Value& a, const io::Value& b) {
  if (a.index() != b.index()) return false;
  if (const auto* pa = std::get_if<std::shared_ptr<const io::ArrayValue>>(&a)) {
    const auto& pb = std::get<std::shared_ptr<const io::ArrayValue>>(b);
    if ((*pa)->element_type != pb->element_type || (*pa)->items.size() != pb->items.size()) return false;
    for (std::size_t i = 0; i < pb->items.size(); ++i)
      if (!same_value((*pa)->items[i], pb->items[i])) return false;
    return true;
  }
  return a == b;
}

fs::path temp_path(const std::string& name) {
  std::string file = "llmforge_writer_";
  file += name;
  return fs::temp_directory_path() / file;
}
std::string key(std::size_t i) {
  std::string k = "k";
  k += std::to_string(i);
  return k;
}

void round_trip(const fs::path& src, uint32_t alignment) {
  const auto in = io::GgufFile::open(src);
  io::GgufWriter w(alignment);
  w.set_all(in.metadata());
  for (const auto& t : in.tensors()) w.add_tensor(t.name, t.shape, t.ggml_type(), in.data(t));
  const fs::path out = temp_path(src.filename().string());
  w.write(out);
  const auto back = io::GgufFile::open(out);
  BOOST_TEST(back.version() == 3u);
  BOOST_TEST(back.alignment() == alignment);
  std::size_t compared = 0;
  for (const auto& [k, v] : in.metadata().entries()) {
    if (k == "general.alignment") continue;
    const io::Value* got = back.metadata().find(k);
    BOOST_TEST_REQUIRE(got != nullptr, "key " << k << " lost");
    BOOST_TEST(same_value(v, *got), "key " << k << " changed");
    ++compared;
  }
  BOOST_TEST(compared > 0u);
  BOOST_TEST_REQUIRE(back.tensors().size() == in.tensors().size());
  for (std::size_t i = 0; i < in.tensors().size(); ++i) {
    const auto& a = in.tensors()[i];
    const auto& b = back.tensors()[i];
    BOOST_TEST(a.name == b.name);
    BOOST_TEST((a.shape == b.shape));
    BOOST_TEST(a.type == b.type);
    BOOST_TEST_REQUIRE(a.size == b.size);
    BOOST_TEST(std::memcmp(in.data(a), back.data(b), a.size) == 0, "tensor " << a.name << " bytes differ");
    BOOST_TEST(b.offset % alignment == 0u);
  }
  fs::remove(out);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(gguf_writer)

BOOST_AUTO_TEST_CASE(round_trip_reference_models,
                     *utf::precondition(test::needs_file(test::reference("models/tiny512-q4_k_m.gguf")))) {
  round_trip(test::reference("models/tiny512-q4_k_m.gguf"), 32);
  round_trip(test::reference("quant-vectors/dq_q6_K.gguf"), 64);
  round_trip(test::source_dir() / "models/stories260K.gguf", 32);
}

BOOST_AUTO_TEST_CASE(every_value_type) {
  io::GgufWriter w(128);
  auto arr = std::make_shared<io::ArrayValue>();
  arr->element_type = io::ValueType::I16;
  arr->items = {io::Value(int16_t{-3}), io::Value(int16_t{7})};
  auto nested = std::make_shared<io::ArrayValue>();
  nested->element_type = io::ValueType::Array;
  nested->items = {io::Value(std::shared_ptr<const io::ArrayValue>(arr))};
  const io::Value values[] = {uint8_t{1}, int8_t{-2}, uint16_t{3}, int16_t{-4}, uint32_t{5}, int32_t{-6}, 7.5f, true,
                              std::string("eight"), std::shared_ptr<const io::ArrayValue>(nested), uint64_t{1} << 40,
                              int64_t{-9}, 10.25};
  for (std::size_t i = 0; i < std::size(values); ++i) w.set(key(i), values[i]);
  const float data[4] = {1, 2, 3, 4};
  w.add_tensor("t", Shape{2, 2}, GgmlType::F32, data);
  const fs::path out = temp_path("values.gguf");
  w.write(out);
  const auto back = io::GgufFile::open(out);
  for (std::size_t i = 0; i < std::size(values); ++i) {
    const io::Value* v = back.metadata().find(key(i));
    BOOST_TEST_REQUIRE(v != nullptr);
    BOOST_TEST(same_value(*v, values[i]), "value " << i);
  }
  BOOST_TEST(back.alignment() == 128u);
  BOOST_TEST(std::memcmp(back.data(back.require_tensor("t")), data, sizeof data) == 0);
  fs::remove(out);
}

BOOST_AUTO_TEST_CASE(failed_write_leaves_nothing) {
  const fs::path out = temp_path("fail.gguf");
  {
    io::GgufWriter ok;
    ok.set("general.architecture", std::string("x"));
    ok.write(out);
  }
  const auto before = fs::file_size(out);
  io::GgufWriter w;
  w.add_tensor("bad", Shape{32}, GgmlType::F32, [](std::byte*) { throw IoError("disk on fire"); });
  BOOST_CHECK_THROW(w.write(out), IoError);
  BOOST_TEST(fs::file_size(out) == before);
  for (const auto& e : fs::directory_iterator(out.parent_path()))
    BOOST_TEST(e.path().filename().string().find("llmforge_writer_fail.gguf.tmp") == std::string::npos);
  fs::remove(out);
  BOOST_CHECK_THROW(io::GgufWriter(48), ConfigError);
  io::GgufWriter w2;
  BOOST_CHECK_THROW(w2.add_tensor("q", Shape{2, 33}, GgmlType::Q4_0, nullptr), ShapeError);
  BOOST_CHECK_THROW(io::GgufWriter().write("/nonexistent-dir/x.gguf"), IoError);
}

BOOST_AUTO_TEST_SUITE_END()
