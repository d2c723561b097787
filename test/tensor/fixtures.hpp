// SPDX-License-Identifier: MIT
// Reads test/tensor/fixtures.bin (NumPy-generated inputs and expected outputs, see gen_fixtures.py) as tensors.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>

#include <boost/test/unit_test.hpp>

#include <llmforge/tensor.hpp>

#include "common/test_data.hpp"

namespace llmforge::test {

struct FixtureArray {
  int code = 0;  // 0 f32, 1 i32, 2 u8, 3 f16, 4 bf16 bits
  Shape shape;
  std::string bytes;
};

/// All arrays of fixtures.bin by name (loaded once).
inline const std::map<std::string, FixtureArray>& fixtures() {
  static const std::map<std::string, FixtureArray> all = [] {
    std::map<std::string, FixtureArray> m;
    const std::string data = read_file(source_dir() / "test" / "tensor" / "fixtures.bin");
    std::size_t pos = 0;
    auto take = [&](std::size_t n) {
      if (pos + n > data.size()) throw std::runtime_error("fixtures.bin is truncated");
      const char* p = data.data() + pos;
      pos += n;
      return p;
    };
    auto u32 = [&] {
      uint32_t v;
      std::memcpy(&v, take(4), 4);
      return v;
    };
    if (std::string(take(4), 4) != "LFFX") throw std::runtime_error("fixtures.bin: bad magic");
    const uint32_t count = u32();
    for (uint32_t i = 0; i < count; ++i) {
      const uint32_t len = u32();
      std::string name(take(len), len);
      FixtureArray a;
      a.code = static_cast<uint8_t>(*take(1));
      const uint32_t rank = u32();
      for (uint32_t d = 0; d < rank; ++d) {
        uint64_t v;
        std::memcpy(&v, take(8), 8);
        a.shape.push_back(static_cast<std::size_t>(v));
      }
      static constexpr std::size_t kSize[] = {4, 4, 1, 2, 2};
      const std::size_t n = numel(a.shape) * kSize[a.code];
      a.bytes.assign(take(n), n);
      m.emplace(std::move(name), std::move(a));
    }
    return m;
  }();
  return all;
}

/// The fixture `name` as a tensor of `D` (the stored element type must match D's storage size).
template <class D>
Tensor<D, Cpu> fx(const std::string& name) {
  const auto it = fixtures().find(name);
  if (it == fixtures().end()) throw std::runtime_error("no fixture named " + name);
  auto t = Tensor<D, Cpu>::empty(it->second.shape);
  if (it->second.bytes.size() != t.nbytes()) throw std::runtime_error("fixture " + name + " has another element size");
  if (t.nbytes()) std::memcpy(static_cast<void*>(t.data()), it->second.bytes.data(), t.nbytes());
  return t;
}

/// Checks shape equality and |got - want| <= atol + rtol * |want| elementwise (NaN matches NaN).
template <class D>
void check_close(const Tensor<D, Cpu>& got, const Tensor<F32, Cpu>& want, double rtol, double atol,
                 const std::string& what) {
  BOOST_TEST_CONTEXT(what) {
    BOOST_TEST_REQUIRE(to_string(got.shape()) == to_string(want.shape()));
    const auto g = to_dtype<F32>(got);  // contiguous copy
    std::size_t bad = 0;
    double worst = 0;
    for (std::size_t i = 0; i < want.numel(); ++i) {
      const double w = want.data()[i], v = g.data()[i];
      if (std::isnan(w) && std::isnan(v)) continue;
      if (std::isinf(w) && v == w) continue;
      const double err = std::fabs(v - w);
      if (!(err <= atol + rtol * std::fabs(w))) {
        if (bad++ < 5) BOOST_TEST_MESSAGE("index " << i << ": got " << v << ", want " << w);
      }
      worst = std::max(worst, err);
    }
    BOOST_TEST(bad == 0u, "mismatches: " << bad << " of " << want.numel() << ", worst abs error " << worst);
  }
}

/// Checks exact equality of two integer/bool tensors.
template <class D>
void check_equal(const Tensor<D, Cpu>& got, const Tensor<D, Cpu>& want, const std::string& what) {
  BOOST_TEST_CONTEXT(what) {
    BOOST_TEST_REQUIRE(to_string(got.shape()) == to_string(want.shape()));
    const auto g = got.contiguous();
    for (std::size_t i = 0; i < want.numel(); ++i) BOOST_TEST(g.data()[i] == want.data()[i], "index " << i);
  }
}

}  // namespace llmforge::test
