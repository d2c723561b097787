// SPDX-License-Identifier: MIT
// Quantized-weight matmul kernels on every compiled SIMD target: against llama.cpp's dot vectors and
// against the scalar double-precision reference on random matrices (several token counts, tails).
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <llmforge/io/gguf_reader.hpp>
#include <llmforge/kernels/quant_act.hpp>
#include <llmforge/kernels/quant_reference.hpp>

#include "common/test_data.hpp"

using namespace llmforge;
namespace utf = boost::unit_test;

namespace {

// Runs `body(target_name)` once per compiled target this CPU can run, then restores dispatch.
template <class Body>
void for_each_target(Body&& body) {
  const int64_t targets = kernels::runnable_targets();
  int ran = 0;
  for (int64_t bit = 1; bit != 0 && bit <= targets; bit <<= 1) {
    if (!(targets & bit)) continue;
    kernels::set_targets_for_test(bit);
    BOOST_TEST_CONTEXT("target " << kernels::target_bit_name(bit)) { body(); }
    ++ran;
  }
  kernels::set_targets_for_test(0);
  BOOST_TEST(ran >= 2, "only " << ran << " SIMD target(s) could be exercised");
}

const GgmlType kQuantTypes[] = {GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1,
                                GgmlType::Q8_0, GgmlType::IQ4_NL, GgmlType::Q2_K, GgmlType::Q3_K,
                                GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K};

std::string vec_file(GgmlType t) {
  std::string n(ggml_type_info(t).name);
  for (auto& c : n)
    if (c != 'K') c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return "quant-vectors/dq_" + n + ".gguf";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(quant_matmul)

BOOST_AUTO_TEST_CASE(reproduces_llama_dot_vectors,
                     *utf::precondition(test::needs_file(test::reference("quant-vectors/dq_q4_0.gguf")))) {
  for (GgmlType type : kQuantTypes) {
    const auto f = io::GgufFile::open(test::reference(vec_file(type)));
    const auto& aq = f.require_tensor("a_q");
    BOOST_TEST_REQUIRE((aq.ggml_type() == kernels::activation_type(type)));
    kernels::QuantActivations act;
    act.from_blocks(aq.ggml_type(), f.data(aq), 1, 512);
    for (const std::string sfx : {"", "s"}) {
      const auto& qi = f.require_tensor("q" + sfx);
      const float* want = reinterpret_cast<const float*>(f.data(f.require_tensor("dot" + sfx)));
      const std::size_t rb = quant::row_bytes(type, 512);
      for_each_target([&] {
        float y[4];
        kernels::matmul_quant(type, f.data(qi), rb, act.view(), 1, y, 4, 0, 4);
        for (int r = 0; r < 4; ++r) {
          double mag = 0;
          const double ref = kernels::reference::vec_dot(type, f.data(qi) + r * rb, f.data(aq), 512, &mag);
          BOOST_TEST(std::fabs(y[r] - want[r]) <= 1e-5 * mag + 1e-30,
                     ggml_type_info(type).name << " dot" << sfx << "[" << r << "] = " << y[r] << ", llama.cpp "
                                               << want[r] << ", tolerance " << 1e-5 * mag);
          BOOST_TEST(std::fabs(ref - want[r]) <= 1e-5 * mag + 1e-30, "reference disagrees with llama.cpp");
        }
      });
    }
  }
}

BOOST_AUTO_TEST_CASE(matches_reference_on_random_matrices) {
  std::mt19937 rng(42);
  std::normal_distribution<float> nd(0.f, 1.f);
  for (GgmlType type : kQuantTypes) {
    const std::size_t bs = ggml_type_info(type).block_size;
    for (const std::size_t k : {bs == 256 ? std::size_t{256} : std::size_t{96}, std::size_t{768}}) {
      const std::size_t rows = 11, n = 6, rb = quant::row_bytes(type, k);
      std::vector<float> wf(rows * k), x(n * (k + 3));
      for (auto& v : wf) v = nd(rng);
      for (auto& v : x) v = nd(rng) * 3.f;
      std::vector<unsigned char> w(rows * rb);
      for (std::size_t r = 0; r < rows; ++r) quant::quantize_row(type, wf.data() + r * k, w.data() + r * rb, k);
      std::vector<float> ref(n * rows);
      std::vector<double> mag(n * rows);
      kernels::reference::matmul_quant(type, w.data(), rb, k, x.data(), k + 3, n, ref.data(), rows, 0, rows, mag.data());
      kernels::QuantActivations act;
      act.quantize(kernels::activation_type(type), x.data(), k + 3, n, k);
      for_each_target([&] {
        for (const std::size_t nt : {std::size_t{1}, n}) {
          std::vector<float> y(n * rows, -1.f);
          kernels::matmul_quant(type, w.data(), rb, act.view(), nt, y.data(), rows, 0, 5);
          kernels::matmul_quant(type, w.data(), rb, act.view(), nt, y.data(), rows, 5, rows);
          for (std::size_t i = 0; i < nt * rows; ++i)
            BOOST_TEST(std::fabs(y[i] - ref[i]) <= 2e-6 * mag[i] + 1e-6,
                       ggml_type_info(type).name << " k=" << k << " n=" << nt << " y[" << i << "] = " << y[i]
                                                 << " vs reference " << ref[i]);
        }
      });
    }
  }
}

BOOST_AUTO_TEST_CASE(decode_matches_dequantize) {
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.f, 1.f);
  for (GgmlType type : kQuantTypes) {
    const std::size_t k = 512;
    std::vector<float> wf(k), dq(k), ws4(k / 4), wm(k / 16);
    for (auto& v : wf) v = nd(rng);
    std::vector<unsigned char> w(quant::row_bytes(type, k));
    std::vector<uint8_t> u(k);
    quant::quantize_row(type, wf.data(), w.data(), k);
    quant::dequantize_row(type, w.data(), dq.data(), k);
    for_each_target([&] {
      kernels::decode_quant_row(type, w.data(), k, u.data(), ws4.data(), wm.data());
      for (std::size_t i = 0; i < k; ++i) {
        const float v = ws4[i / 4 / 4 * 4] * static_cast<float>(u[i]) + wm[i / 16];
        BOOST_TEST(std::fabs(v - dq[i]) <= 1e-5f * (std::fabs(dq[i]) + std::fabs(wm[i / 16])) + 1e-7f,
                   ggml_type_info(type).name << " element " << i);
      }
    });
  }
}

BOOST_AUTO_TEST_SUITE_END()
