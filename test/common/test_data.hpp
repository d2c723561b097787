// SPDX-License-Identifier: MIT
// Locating the shared test data (../shared) and skipping tests cleanly when it is absent.
#pragma once

#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace llmforge::test {

/// The shared data folder (override with the LLMFORGE_SHARED_DIR environment variable).
inline std::filesystem::path shared_dir() {
  if (const char* env = std::getenv("LLMFORGE_SHARED_DIR")) return env;
  return LLMFORGE_SHARED_DIR;
}
inline std::filesystem::path testdata(const std::string& rel) { return shared_dir() / "testdata" / rel; }
inline std::filesystem::path reference(const std::string& rel) { return shared_dir() / "reference" / rel; }
inline std::filesystem::path source_dir() { return LLMFORGE_SOURCE_DIR; }

/// Boost.Test precondition: skips the test case with a message when a shared file is missing.
struct needs_file {
  std::filesystem::path path;
  explicit needs_file(std::filesystem::path p) : path(std::move(p)) {}
  boost::test_tools::assertion_result operator()(boost::unit_test::test_unit_id) const {
    boost::test_tools::assertion_result r(std::filesystem::exists(path));
    if (!r) r.message() << "skipped: shared test data " << path.string() << " is not present";
    return r;
  }
};

/// Reads a whole file as bytes.
inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + p.string());
  return std::string(std::istreambuf_iterator<char>(in), {});
}

/// Reads a little-endian float32 file.
inline std::vector<float> read_f32(const std::filesystem::path& p) {
  const std::string bytes = read_file(p);
  std::vector<float> v(bytes.size() / 4);
  std::memcpy(v.data(), bytes.data(), v.size() * 4);
  return v;
}

}  // namespace llmforge::test
