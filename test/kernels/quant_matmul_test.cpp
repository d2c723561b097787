// SPDX-License-Identifier: MIT
// Quantized-weight matmul kernels on every compiled SIMD target: against llama.cpp's dot vectors and
// against the scalar double-precision reference on random matrices (several token counts, tails).
// On the AVX2-class targets the results must equal llama.cpp's bit for bit: its vec_dot for single
// tokens, and for prompts (n >= 2) tinyBLAS's order for Q4_0/Q5_0/Q8_0/IQ4_NL, vec_dot's for the rest.
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <llmforge/io/gguf_reader.hpp>
#include <llmforge/kernels/nn_reference.hpp>
#include <llmforge/kernels/quant_act.hpp>
#include <llmforge/kernels/quant_reference.hpp>
#include <llmforge/quant/iq4_nl.hpp>

#include "common/targets.hpp"
#include "common/test_data.hpp"

using namespace llmforge;
namespace utf = boost::unit_test;

namespace {

using llmforge::test::for_each_target;

const GgmlType kQuantTypes[] = {GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1,
                                GgmlType::Q8_0, GgmlType::IQ4_NL, GgmlType::Q2_K, GgmlType::Q3_K,
                                GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K};

// Runs `body()` on each runnable target whose kernels follow llama.cpp's AVX2 arithmetic exactly.
template <class Body>
int for_each_llama_exact_target(Body&& body) {
  const int64_t targets = kernels::runnable_targets();
  int ran = 0;
  for (int64_t bit = 1; bit != 0 && bit <= targets; bit <<= 1) {
    const std::string name = (targets & bit) ? kernels::target_bit_name(bit) : "";
    if (name != "AVX2" && name != "AVX3" && name != "AVX3_DL" && name != "AVX3_ZEN4" && name != "AVX3_SPR") continue;
    kernels::set_targets_for_test(bit);
    BOOST_TEST_CONTEXT("target " << name) { body(); }
    ++ran;
  }
  kernels::set_targets_for_test(0);
  return ran;
}

// Token t of a multi-row activation view.
kernels::QuantActView token_view(const kernels::QuantActView& v, std::size_t t) {
  return {v.q + t * v.k, v.d4 + t * (v.k / 4), v.s + t * (v.k / 16), v.bs + t * (v.k / 16), v.k};
}

// llamafile tinyBLAS_Q0_AVX for one IQ4_NL row and one Q8_0 row: per block, lane l (values 4l..4l+3)
// is fused into an 8-lane accumulator with scale dA * dB, then summed as hsum_float_8 does.
float tinyblas_iq4_nl(const unsigned char* row, const kernels::QuantActView& x) {
  float acc[8] = {};
  for (std::size_t i = 0; i < x.k / 32; ++i) {
    BlockIQ4_NL b;
    std::memcpy(&b, row + i * sizeof(BlockIQ4_NL), sizeof b);
    const float sc = f16_to_f32(b.d) * x.d4[8 * i];
    for (int l = 0; l < 8; ++l) {
      int sum = 0;
      for (int j = 4 * l; j < 4 * l + 4; ++j) {
        const int idx = j < 16 ? b.qs[j] & 0xF : b.qs[j - 16] >> 4;
        sum += kIq4nlValues[idx] * x.q[32 * i + j];
      }
      acc[l] = std::fma(sc, static_cast<float>(sum), acc[l]);
    }
  }
  const float h[4] = {acc[4] + acc[0], acc[5] + acc[1], acc[6] + acc[2], acc[7] + acc[3]};
  return (h[0] + h[2]) + (h[1] + h[3]);
}

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

BOOST_AUTO_TEST_CASE(equals_llama_dot_vectors_bitwise_on_avx2,
                     *utf::precondition(test::needs_file(test::reference("quant-vectors/dq_q4_0.gguf")))) {
  int ran = 0;
  for (GgmlType type : kQuantTypes) {
    const auto f = io::GgufFile::open(test::reference(vec_file(type)));
    const auto& aq = f.require_tensor("a_q");
    kernels::QuantActivations act;
    act.from_blocks(aq.ggml_type(), f.data(aq), 1, 512);
    for (const std::string sfx : {"", "s"}) {
      const auto& qi = f.require_tensor("q" + sfx);
      const float* want = reinterpret_cast<const float*>(f.data(f.require_tensor("dot" + sfx)));
      const std::size_t rb = quant::row_bytes(type, 512);
      ran = for_each_llama_exact_target([&] {
        float y[4];
        kernels::matmul_quant(type, f.data(qi), rb, act.view(), 1, y, 4, 0, 4);
        for (int r = 0; r < 4; ++r)
          BOOST_TEST(y[r] == want[r], ggml_type_info(type).name << " dot" << sfx << "[" << r << "] = " << y[r]
                                                                << ", llama.cpp " << want[r]);
      });
    }
  }
  if (ran == 0) BOOST_TEST_MESSAGE("no AVX2-class target runnable here; bitwise check skipped");
}

BOOST_AUTO_TEST_CASE(batched_tokens_keep_llama_order_on_avx2) {
  std::mt19937 rng(5);
  std::normal_distribution<float> nd(0.f, 1.f);
  for (GgmlType type : kQuantTypes) {
    const std::size_t bs = ggml_type_info(type).block_size;
    for (const std::size_t k : {bs == 256 ? std::size_t{256} : std::size_t{96}, std::size_t{768}}) {
      // 71 rows: more than two of the kernels' 32-row tiles, and an odd remainder for the two-row path.
      const std::size_t rows = 71, n = 7, rb = quant::row_bytes(type, k);
      std::vector<float> wf(rows * k), x(n * k);
      for (auto& v : wf) v = nd(rng);
      for (auto& v : x) v = nd(rng) * 3.f;
      std::vector<unsigned char> w(rows * rb);
      for (std::size_t r = 0; r < rows; ++r) quant::quantize_row(type, wf.data() + r * k, w.data() + r * rb, k);
      kernels::QuantActivations act;
      act.quantize(kernels::activation_type(type), x.data(), k, n, k);
      for_each_llama_exact_target([&] {
        std::vector<float> batched(n * rows), single(rows);
        kernels::matmul_quant(type, w.data(), rb, act.view(), n, batched.data(), rows, 0, rows);
        for (std::size_t t = 0; t < n; ++t) {
          const auto xt = token_view(act.view(), t);
          kernels::matmul_quant(type, w.data(), rb, xt, 1, single.data(), rows, 0, rows);
          for (std::size_t r = 0; r < rows; ++r) {
            // tinyBLAS equals vec_dot's order except for IQ4_NL (vec_dot alternates two accumulators).
            const float want = type == GgmlType::IQ4_NL ? tinyblas_iq4_nl(w.data() + r * rb, xt) : single[r];
            BOOST_TEST(batched[t * rows + r] == want, ggml_type_info(type).name << " k=" << k << " token " << t
                                                                                << " row " << r);
          }
        }
      });
    }
  }
}

// Q4_0 matrices with a multiple of 8 rows: each row sums block by block, acc = fma(float(block's
// integer dot), dw * dx, acc), as llama.cpp's re-packed x86 kernels do. Checked against that formula
// written out in scalar code, for 1 and 6 tokens, with row ranges that split the 8-row groups.
BOOST_AUTO_TEST_CASE(q4_0_repacked_order_on_avx2) {
  std::mt19937 rng(9);
  std::normal_distribution<float> nd(0.f, 1.f);
  const std::size_t rows = 80, k = 256, rb = quant::row_bytes(GgmlType::Q4_0, k), n = 6;  // several 32-row tiles
  std::vector<float> wf(rows * k), x(n * k);
  for (auto& v : wf) v = nd(rng);
  for (auto& v : x) v = nd(rng) * 3.f;
  std::vector<unsigned char> w(rows * rb);
  for (std::size_t r = 0; r < rows; ++r) quant::quantize_row(GgmlType::Q4_0, wf.data() + r * k, w.data() + r * rb, k);
  kernels::QuantActivations act;
  act.quantize(GgmlType::Q8_0, x.data(), k, n, k);
  const auto v = act.view();
  std::vector<float> want(n * rows);
  for (std::size_t t = 0; t < n; ++t)
    for (std::size_t r = 0; r < rows; ++r) {
      const auto* b = reinterpret_cast<const BlockQ4_0*>(w.data() + r * rb);
      float acc = 0;
      for (std::size_t i = 0; i < k / 32; ++i) {
        int isum = 0;
        for (int j = 0; j < 16; ++j) {
          isum += ((b[i].qs[j] & 0x0F) - 8) * v.q[t * k + 32 * i + j];
          isum += ((b[i].qs[j] >> 4) - 8) * v.q[t * k + 32 * i + 16 + j];
        }
        acc = std::fma(static_cast<float>(isum), f16_to_f32(b[i].d) * v.d4[t * (k / 4) + 8 * i], acc);
      }
      want[t * rows + r] = acc;
    }
  for_each_llama_exact_target([&] {
    for (const std::size_t nt : {std::size_t{1}, n}) {
      std::vector<float> y(nt * rows, -1.f);
      kernels::matmul_quant(GgmlType::Q4_0, w.data(), rb, v, nt, y.data(), rows, 0, 11, rows);
      kernels::matmul_quant(GgmlType::Q4_0, w.data(), rb, v, nt, y.data(), rows, 11, 53, rows);
      kernels::matmul_quant(GgmlType::Q4_0, w.data(), rb, v, nt, y.data(), rows, 53, rows, rows);
      for (std::size_t i = 0; i < nt * rows; ++i) BOOST_TEST(y[i] == want[i], "n=" << nt << " y[" << i << "]");
    }
  });
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

// Activation quantization (kernels/quant_act-inl.hpp) against the scalar path: QuantTraits'
// quantize_activation blocks unpacked by from_blocks. Inputs include exact ties (x.5 after scaling),
// all-zero blocks, a block whose largest magnitude appears with both signs, and values that round to
// the clamp; the fused RMSNorm variant must also write exactly kernels::rms_norm_f32's output.
BOOST_AUTO_TEST_CASE(activation_quantization_matches_scalar_blocks) {
  const std::size_t k = 768, n = 3;
  std::vector<float> x = llmforge::test::random_floats(n * k, 77, 2.0f);
  for (std::size_t i = 0; i < 64; ++i) x[i] = static_cast<float>(static_cast<int>(i) - 32) * 0.5f;  // ties
  x[63] = 127.0f;  // Q8_0 block 1 and Q8_K block 0 then scale by exactly +-1: the halves are exact ties
  for (std::size_t i = 256; i < 288; ++i) x[i] = 0.0f;              // a zero Q8_0 block
  for (std::size_t i = k; i < k + 256; ++i) x[i] = 0.0f;            // a zero Q8_K block in row 1
  x[2 * k + 3] = -9.0f, x[2 * k + 7] = 9.0f, x[2 * k + 100] = 9.0f;  // equal magnitudes, first one negative
  const std::vector<float> w = llmforge::test::random_floats(k, 78, 1.0f);
  const GgmlType types[] = {GgmlType::Q8_0, GgmlType::Q8_1, GgmlType::Q8_K};
  auto same = [](const kernels::QuantActView& a, const kernels::QuantActView& b, std::size_t rows) {
    const std::size_t k = a.k;
    return std::memcmp(a.q, b.q, rows * k) == 0 && std::memcmp(a.d4, b.d4, rows * k) == 0 &&
           std::memcmp(a.s, b.s, rows * k / 4) == 0 && std::memcmp(a.bs, b.bs, rows * k / 8) == 0;
  };
  for (GgmlType t : types) {
    BOOST_TEST_CONTEXT(ggml_type_info(t).name) {
      // Scalar reference: blocks from the traits, for the plain and the normalised rows.
      std::vector<float> normed(n * k);
      for (std::size_t r = 0; r < n; ++r)
        kernels::ref::rms_norm(x.data() + r * k, w.data(), normed.data() + r * k, k, 1e-5f);
      auto reference = [&](const std::vector<float>& src) {
        std::vector<unsigned char> blocks(n * quant::row_bytes(t, k));
        const std::size_t rb = quant::row_bytes(t, k);
        for (std::size_t r = 0; r < n; ++r) {
          void* dst = blocks.data() + r * rb;
          const float* row = src.data() + r * k;
          if (t == GgmlType::Q8_0) QuantTraits<Q8_0>::quantize_activation(row, static_cast<BlockQ8_0*>(dst), k);
          else if (t == GgmlType::Q8_1) QuantTraits<Q8_1>::quantize_activation(row, static_cast<BlockQ8_1*>(dst), k);
          else QuantTraits<Q8_K>::quantize_activation(row, static_cast<BlockQ8_K*>(dst), k);
        }
        kernels::QuantActivations a;
        a.from_blocks(t, blocks.data(), n, k);
        return a;
      };
      const kernels::QuantActivations want_plain = reference(x), want_normed = reference(normed);
      for_each_target([&] {
        kernels::QuantActivations got;
        got.quantize(t, x.data(), k, n, k);
        BOOST_TEST(same(got.view(), want_plain.view(), n));
        std::vector<float> out(n * k, -1.0f);
        got.quantize_rms_normed(t, x.data(), k, n, k, w.data(), 1e-5f, out.data(), k);
        BOOST_TEST(same(got.view(), want_normed.view(), n));
        BOOST_TEST(std::memcmp(out.data(), normed.data(), out.size() * sizeof(float)) == 0);
        std::vector<float> inplace = x;  // out == x, as RMSNorm allows
        got.quantize_rms_normed(t, inplace.data(), k, n, k, w.data(), 1e-5f, inplace.data(), k);
        BOOST_TEST(same(got.view(), want_normed.view(), n));
        BOOST_TEST(std::memcmp(inplace.data(), normed.data(), out.size() * sizeof(float)) == 0);
      });
    }
  }
  // A NaN (e.g. from a corrupt model) spoils its own block only: the other blocks equal the scalar path.
  // It sits in the last vector of a Q8_K block, where it survives into the block's maximum.
  std::vector<float> with_nan(x.begin(), x.begin() + k);
  with_nan[250] = std::numeric_limits<float>::quiet_NaN();
  for (GgmlType t : types) {
    BOOST_TEST_CONTEXT(ggml_type_info(t).name << " with a NaN") {
      std::vector<unsigned char> blocks(quant::row_bytes(t, k));
      if (t == GgmlType::Q8_0) QuantTraits<Q8_0>::quantize_activation(with_nan.data(), reinterpret_cast<BlockQ8_0*>(blocks.data()), k);
      else if (t == GgmlType::Q8_1) QuantTraits<Q8_1>::quantize_activation(with_nan.data(), reinterpret_cast<BlockQ8_1*>(blocks.data()), k);
      else QuantTraits<Q8_K>::quantize_activation(with_nan.data(), reinterpret_cast<BlockQ8_K*>(blocks.data()), k);
      kernels::QuantActivations want;
      want.from_blocks(t, blocks.data(), 1, k);
      const std::size_t bsz = ggml_type_info(t).block_size, spoilt = 250 / bsz;
      for_each_target([&] {
        kernels::QuantActivations got;
        got.quantize(t, with_nan.data(), k, 1, k);
        const auto g = got.view(), w0 = want.view();
        for (std::size_t blk = 0; blk < k / bsz; ++blk) {
          if (blk == spoilt) continue;
          const std::size_t i0 = blk * bsz;
          BOOST_TEST(std::memcmp(g.q + i0, w0.q + i0, bsz) == 0, "block " << blk);
          BOOST_TEST(std::memcmp(g.d4 + i0 / 4, w0.d4 + i0 / 4, bsz / 4 * sizeof(float)) == 0, "block " << blk);
          BOOST_TEST(std::memcmp(g.bs + i0 / 16, w0.bs + i0 / 16, bsz / 16 * sizeof(int16_t)) == 0, "block " << blk);
        }
      });
    }
  }
  kernels::QuantActivations bad;
  BOOST_CHECK_THROW(bad.quantize(GgmlType::Q8_K, x.data(), k, 1, 100), ShapeError);
  BOOST_CHECK_THROW(bad.quantize_rms_normed(GgmlType::Q4_0, x.data(), k, 1, k, w.data(), 1e-5f, nullptr, 0), UnsupportedError);
}

BOOST_AUTO_TEST_SUITE_END()
