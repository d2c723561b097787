// SPDX-License-Identifier: MIT
// Packed (8-row interleaved) quantized matrices: the layout keeps every value and scale, and the
// packed products equal the scalar double-precision reference on every compiled SIMD target, for
// token counts that exercise each register tile (1-8) and the tails, and for split group ranges
// (single groups and pairs).
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include <llmforge/kernels/quant_act.hpp>
#include <llmforge/kernels/quant_packed.hpp>
#include <llmforge/kernels/quant_reference.hpp>

#include <llmforge/io/gguf_reader.hpp>

#include "common/targets.hpp"
#include "common/test_data.hpp"

using namespace llmforge;

namespace {

const GgmlType kPackedTypes[] = {GgmlType::Q4_0, GgmlType::Q8_0, GgmlType::IQ4_NL, GgmlType::Q4_K, GgmlType::Q6_K};

struct Case {
  std::vector<unsigned char> w;
  std::vector<float> x;
  std::size_t rows, k, rb;
};

// `rows` random rows quantized as `type`; activations with an outlier per row so that scales vary.
Case make_case(GgmlType type, std::size_t rows, std::size_t k, std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.f, 1.f);
  Case c{{}, std::vector<float>(n * k), rows, k, quant::row_bytes(type, k)};
  std::vector<float> wf(rows * k);
  for (auto& v : wf) v = nd(rng);
  for (std::size_t r = 0; r < rows; ++r) wf[r * k + (r * 37) % k] *= 8.f;  // an outlier per row
  for (auto& v : c.x) v = nd(rng) * 3.f;
  c.w.resize(rows * c.rb);
  for (std::size_t r = 0; r < rows; ++r) quant::quantize_row(type, wf.data() + r * k, c.w.data() + r * c.rb, k);
  return c;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(quant_packed)

BOOST_AUTO_TEST_CASE(packable_shapes) {
  BOOST_TEST(kernels::can_pack(GgmlType::Q4_0, 16, 64));
  BOOST_TEST(!kernels::can_pack(GgmlType::Q4_0, 12, 64));   // rows not a multiple of 8
  BOOST_TEST(!kernels::can_pack(GgmlType::Q4_K, 16, 128));  // k not a multiple of 256
  BOOST_TEST(!kernels::can_pack(GgmlType::Q5_1, 16, 64));   // no packed layout
  BOOST_CHECK_THROW(kernels::PackedMatrix(GgmlType::Q4_0, 12, 64), ShapeError);
  // Q6_K packs into exactly the bytes of its rows; the others add no more than their scales.
  BOOST_TEST(kernels::PackedMatrix(GgmlType::Q6_K, 8, 256).nbytes() == 8 * quant::row_bytes(GgmlType::Q6_K, 256));
  BOOST_TEST(kernels::PackedMatrix(GgmlType::Q4_0, 8, 256).nbytes() == 8 * quant::row_bytes(GgmlType::Q4_0, 256));
  BOOST_TEST(kernels::PackedMatrix(GgmlType::Q8_0, 8, 256).nbytes() == 8 * quant::row_bytes(GgmlType::Q8_0, 256));
}

BOOST_AUTO_TEST_CASE(matches_reference_on_every_target) {
  for (GgmlType type : kPackedTypes) {
    const std::size_t bs = kernels::packed_format(type).block_values;
    for (const std::size_t k : {bs == 256 ? std::size_t{256} : std::size_t{96}, std::size_t{768}}) {
      const std::size_t rows = 40, n = 17;
      const Case c = make_case(type, rows, k, n, static_cast<unsigned>(k) + static_cast<unsigned>(type));
      std::vector<float> ref(n * rows);
      std::vector<double> mag(n * rows);
      kernels::reference::matmul_quant(type, c.w.data(), c.rb, k, c.x.data(), k, n, ref.data(), rows, 0, rows, mag.data());
      kernels::QuantActivations act;
      act.quantize(kernels::activation_type(type), c.x.data(), k, n, k);
      const kernels::PackedMatrix p = kernels::pack_matrix(type, c.w.data(), c.rb, rows, k);
      test::for_each_target([&] {
        for (const std::size_t nt : {1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 17}) {
          std::vector<float> y(n * rows, -1.f);
          // group 0 alone, then groups 1-4 (two pairs on targets that take two groups at once)
          kernels::matmul_packed(p, act.view(), nt, y.data(), rows, 0, 1);
          kernels::matmul_packed(p, act.view(), nt, y.data(), rows, 1, rows / 8);
          for (std::size_t i = 0; i < nt * rows; ++i)
            BOOST_TEST(std::fabs(y[i] - ref[i]) <= 2e-6 * mag[i] + 1e-6,
                       ggml_type_info(type).name << " k=" << k << " n=" << nt << " y[" << i << "] = " << y[i]
                                                 << " vs reference " << ref[i]);
          for (std::size_t i = nt * rows; i < n * rows; ++i) BOOST_TEST(y[i] == -1.f, "wrote past token " << nt);
        }
      });
    }
  }
}

// Extreme levels: every weight and activation at the ends of its range, where int16 partial sums
// would overflow if the kernels summed more products than the layout allows.
BOOST_AUTO_TEST_CASE(extreme_values_do_not_overflow) {
  for (GgmlType type : kPackedTypes) {
    const std::size_t k = 512, rows = 16, n = 9;
    std::vector<float> wf(rows * k), x(n * k);
    for (std::size_t i = 0; i < wf.size(); ++i) wf[i] = (i / k) % 2 ? 1.f : -1.f;  // constant rows: top levels
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = (i / k) % 2 ? -1.f : 1.f;
    const std::size_t rb = quant::row_bytes(type, k);
    std::vector<unsigned char> w(rows * rb);
    for (std::size_t r = 0; r < rows; ++r) quant::quantize_row(type, wf.data() + r * k, w.data() + r * rb, k);
    std::vector<float> ref(n * rows);
    std::vector<double> mag(n * rows);
    kernels::reference::matmul_quant(type, w.data(), rb, k, x.data(), k, n, ref.data(), rows, 0, rows, mag.data());
    kernels::QuantActivations act;
    act.quantize(kernels::activation_type(type), x.data(), k, n, k);
    const kernels::PackedMatrix p = kernels::pack_matrix(type, w.data(), rb, rows, k);
    test::for_each_target([&] {
      std::vector<float> y(n * rows);
      kernels::matmul_packed(p, act.view(), n, y.data(), rows, 0, 2);
      for (std::size_t i = 0; i < y.size(); ++i)
        BOOST_TEST(std::fabs(y[i] - ref[i]) <= 2e-6 * mag[i] + 1e-6,
                   ggml_type_info(type).name << " y[" << i << "] = " << y[i] << " vs reference " << ref[i]);
    });
  }
}

// Every packable matrix of the reference models (quantized by llama.cpp's llama-quantize).
BOOST_AUTO_TEST_CASE(reference_model_matrices,
                     *boost::unit_test::precondition(test::needs_file(test::reference("models/tiny512-q4_k_m.gguf")))) {
  for (const char* name : {"q4_0", "q8_0", "iq4_nl", "q4_k_m", "q6_k"}) {
    const auto f = io::GgufFile::open(test::reference(std::string("models/tiny512-") + name + ".gguf"));
    for (const auto& info : f.tensors()) {
      if (info.shape.rank() != 2) continue;
      const GgmlType type = info.ggml_type();
      const std::size_t rows = info.shape[0], k = info.shape[1];
      if (!kernels::can_pack(type, rows, k)) continue;
      const std::size_t rb = quant::row_bytes(type, k), n = 9;
      auto x = test::random_floats(n * k, 99, 2.f);
      std::vector<float> ref(n * rows), y(n * rows);
      std::vector<double> mag(n * rows);
      kernels::reference::matmul_quant(type, f.data(info), rb, k, x.data(), k, n, ref.data(), rows, 0, rows, mag.data());
      kernels::QuantActivations act;
      act.quantize(kernels::activation_type(type), x.data(), k, n, k);
      const kernels::PackedMatrix p = kernels::pack_matrix(type, f.data(info), rb, rows, k);
      kernels::matmul_packed(p, act.view(), n, y.data(), rows, 0, rows / 8);
      int bad = 0;
      for (std::size_t i = 0; i < y.size(); ++i) bad += !(std::fabs(y[i] - ref[i]) <= 2e-6 * mag[i] + 1e-6);
      BOOST_TEST(bad == 0, name << " " << info.name << ": " << bad << " of " << y.size() << " outputs differ");
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
