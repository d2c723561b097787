// SPDX-License-Identifier: MIT
// nn::AnyWeight over quantized GGUF tensors: zero-copy loading, threaded matmul vs the scalar
// reference, load-time quantization, and rejection of unsupported types.
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <optional>
#include <random>
#include <vector>

#include <llmforge/io/gguf_writer.hpp>
#include <llmforge/kernels/quant_reference.hpp>
#include <llmforge/nn/rms_norm.hpp>
#include <llmforge/nn/weight.hpp>

#include "common/test_data.hpp"

using namespace llmforge;
namespace utf = boost::unit_test;

BOOST_AUTO_TEST_SUITE(quant_weight, *utf::precondition(test::needs_file(test::reference("models/tiny512-q4_k_m.gguf"))))

BOOST_AUTO_TEST_CASE(threaded_matmul_on_every_tiny512_weight_type) {
  ThreadPool pool(2);
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0.f, 1.f);
  for (const char* file : {"q4_k_m", "q3_k_m", "q5_k_m", "q2_k", "q6_k", "q4_0", "q4_1", "q5_0", "q5_1", "q8_0", "iq4_nl"}) {
    const auto f = io::GgufFile::open(test::reference(std::string("models/tiny512-") + file + ".gguf"));
    for (const auto& info : f.tensors()) {
      if (info.shape.size() != 2 || info.name.find("blk.1.") != 0) continue;
      BOOST_TEST_CONTEXT(file << " " << info.name << " " << info.type_name()) {
        const nn::AnyWeight w = nn::load_weight(f, info);
        BOOST_TEST(nn::type_name_of(w) == info.type_name());
        const std::size_t rows = info.shape[0], k = info.shape[1], n = 3;
        std::vector<float> x(n * k), y(n * rows), ref(n * rows);
        std::vector<double> mag(n * rows);
        for (auto& v : x) v = nd(rng);
        nn::matmul(w, x.data(), k, n, y.data(), rows, pool);
        kernels::reference::matmul_quant(info.ggml_type(), f.data(info), quant::row_bytes(info.ggml_type(), k), k, x.data(),
                                         k, n, ref.data(), rows, 0, rows, mag.data());
        for (std::size_t i = 0; i < y.size(); ++i) BOOST_TEST(std::fabs(y[i] - ref[i]) <= 2e-6 * mag[i] + 1e-6);
        std::vector<float> row(k), want(k);
        nn::dequantize_row(w, 5, row.data());
        quant::dequantize_row(info.ggml_type(), f.data(info) + 5 * quant::row_bytes(info.ggml_type(), k), want.data(), k);
        BOOST_TEST(row == want);
      }
    }
  }
}

// RMSNorm fused with activation quantization: the normed rows and the products that take them equal
// the unfused path (norm, then matmul/matmul_group quantizing on their own) bit for bit, and a
// PreparedInput is used only for exactly its buffer, shape and activation type.
BOOST_AUTO_TEST_CASE(fused_norm_quantization_feeds_the_products) {
  ThreadPool pool(2);
  const auto f = io::GgufFile::open(test::reference("models/tiny512-q4_k_m.gguf"));
  const nn::AnyWeight wq = nn::load_weight(f, f.require_tensor("blk.0.attn_q.weight"));    // Q4_K: Q8_K rows
  const nn::AnyWeight wv = nn::load_weight(f, f.require_tensor("blk.0.attn_v.weight"));    // Q6_K: Q8_K rows
  const nn::AnyWeight out = nn::load_weight(f, f.require_tensor("output.weight"));         // Q6_K
  const nn::RMSNorm norm{f.tensor<F32>(f.require_tensor("blk.0.attn_norm.weight")), 1e-5f};
  const std::size_t k = nn::shape_of(wq)[1], rq = nn::shape_of(wq)[0], rv = nn::shape_of(wv)[0];
  std::mt19937 rng(11);
  std::normal_distribution<float> nd(0.f, 1.f);
  for (const std::size_t n : {std::size_t{1}, std::size_t{5}}) {
    BOOST_TEST_CONTEXT(n << " rows") {
      std::vector<float> x(n * k);
      for (auto& v : x) v = nd(rng);
      std::vector<float> h0(n * k), q0(n * rq), v0(n * rv), h1(n * k), q1(n * rq), v1(n * rv);
      norm.forward(x.data(), h0.data(), n);
      const nn::MatmulOutput outs0[] = {{&wq, q0.data(), rq}, {&wv, v0.data(), rv}};
      nn::matmul_group(outs0, h0.data(), k, n, pool);
      {
        std::optional<nn::PreparedInput> scope;
        nn::normalize_for_matmul(norm, x.data(), h1.data(), n, k, nn::input_activation_type(wq), scope, pool);
        BOOST_TEST(scope.has_value());
        const nn::MatmulOutput outs1[] = {{&wq, q1.data(), rq}, {&wv, v1.data(), rv}};
        nn::matmul_group(outs1, h1.data(), k, n, pool);
      }
      BOOST_TEST(h1 == h0);
      BOOST_TEST(q1 == q0);
      BOOST_TEST(v1 == v0);
    }
  }
  // The scope's rows are really what the product uses: announce rows quantized from other values.
  std::vector<float> x(k), other(k), y_plain(nn::shape_of(out)[0]), y_other(y_plain.size()), y(y_plain.size());
  for (auto& v : x) v = nd(rng);
  for (auto& v : other) v = nd(rng);
  nn::matmul(out, x.data(), k, 1, y_plain.data(), y.size(), pool);
  nn::matmul(out, other.data(), k, 1, y_other.data(), y.size(), pool);
  kernels::QuantActivations act;
  act.quantize(GgmlType::Q8_K, other.data(), k, 1, k);
  {
    const nn::PreparedInput scope(x.data(), k, 1, k, GgmlType::Q8_K, act);
    nn::matmul(out, x.data(), k, 1, y.data(), y.size(), pool);
    BOOST_TEST(y == y_other);
    const nn::PreparedInput wrong_type(x.data() + 0, k, 1, k, GgmlType::Q8_0, act);  // inner scope, other type
    nn::matmul(out, x.data(), k, 1, y.data(), y.size(), pool);
    BOOST_TEST(y == y_other);  // the outer scope still matches
  }
  nn::matmul(out, x.data(), k, 1, y.data(), y.size(), pool);  // scope closed: quantized afresh
  BOOST_TEST(y == y_plain);
  {
    const nn::PreparedInput scope(x.data(), 2 * k, 1, k, GgmlType::Q8_K, act);  // another stride: not these rows
    nn::matmul(out, x.data(), k, 1, y.data(), y.size(), pool);
    BOOST_TEST(y == y_plain);
  }
}

// Float weights marked for the prompt GEMM (the default load path) against a double-precision
// product, next to the row kernels; matmul and matmul_group, F32/F16/BF16, prompts below and above
// kGemmMinTokens, row counts that do not fill a register tile.
BOOST_AUTO_TEST_CASE(float_weights_through_the_prompt_gemm) {
  ThreadPool pool(2);
  std::mt19937 rng(11);
  std::normal_distribution<float> nd(0.f, 1.f);
  const std::size_t rows = 70, k = 101;  // k: a vector tail on every target
  std::vector<float> wf(rows * k);
  for (auto& v : wf) v = nd(rng);
  auto f16w = Tensor<F16, Cpu>::empty(Shape{rows, k});
  auto bf16w = Tensor<BF16, Cpu>::empty(Shape{rows, k});
  auto f32w = Tensor<F32, Cpu>::empty(Shape{rows, k});
  for (std::size_t i = 0; i < rows * k; ++i) {
    f16w.data()[i] = f32_to_f16(wf[i]);
    bf16w.data()[i] = f32_to_bf16(wf[i]);
    f32w.data()[i] = wf[i];
  }
  for (const std::size_t n : {std::size_t{3}, std::size_t{8}, std::size_t{21}}) {
    std::vector<float> x(n * (k + 5));
    for (auto& v : x) v = nd(rng);
    for (int ti = 0; ti < 3; ++ti) {
      nn::AnyWeight w = ti == 0 ? nn::AnyWeight(f32w) : ti == 1 ? nn::AnyWeight(f16w) : nn::AnyWeight(bf16w);
      std::vector<float> deq(rows * k);
      for (std::size_t r = 0; r < rows; ++r) nn::dequantize_row(w, r, deq.data() + r * k);
      w.gemm_prefill = true;
      std::vector<float> y(n * (rows + 2), -7.f), yg(n * rows * 2, -7.f);
      nn::matmul(w, x.data(), k + 5, n, y.data(), rows + 2, pool);
      const nn::MatmulOutput outs[] = {{&w, yg.data(), 2 * rows}, {&w, yg.data() + rows, 2 * rows}};
      nn::matmul_group(outs, x.data(), k + 5, n, pool);
      for (std::size_t t = 0; t < n; ++t)
        for (std::size_t r = 0; r < rows; ++r) {
          double ref = 0, mag = 0;
          for (std::size_t i = 0; i < k; ++i) {
            ref += static_cast<double>(deq[r * k + i]) * x[t * (k + 5) + i];
            mag += std::fabs(static_cast<double>(deq[r * k + i]) * x[t * (k + 5) + i]);
          }
          // Below kGemmMinTokens F16 takes the row kernels, which round the activations to F16.
          const double tol = (ti == 1 && n < nn::kGemmMinTokens ? 2e-3 : 1e-5) * mag + 1e-6;
          BOOST_TEST(std::fabs(y[t * (rows + 2) + r] - ref) <= tol, "type " << ti << " n=" << n << " t=" << t << " r=" << r);
          BOOST_TEST(std::fabs(yg[t * 2 * rows + r] - ref) <= tol);
          BOOST_TEST(yg[t * 2 * rows + rows + r] == yg[t * 2 * rows + r]);
        }
      for (std::size_t t = 0; t < n; ++t) BOOST_TEST(y[t * (rows + 2) + rows] == -7.f, "wrote past the rows");
    }
  }
}

BOOST_AUTO_TEST_CASE(load_time_quantization) {
  const auto f = io::GgufFile::open(test::reference("models/tiny512-f32.gguf"));
  const auto& info = f.require_tensor("blk.0.ffn_down.weight");
  const nn::AnyWeight w = nn::load_weight(f, info, nn::WeightLoadOptions{GgmlType::Q4_K});
  BOOST_TEST(nn::type_name_of(w) == "Q4_K");
  BOOST_TEST((nn::shape_of(w) == info.shape));
  const std::size_t k = info.shape[1];
  std::vector<float> src(k), row(k);
  nn::dequantize_row(w, 7, row.data());
  const float* orig = reinterpret_cast<const float*>(f.data(info)) + 7 * k;
  std::vector<BlockQ4_K> blocks(k / 256);
  QuantTraits<Q4_K>::quantize_ref(orig, blocks.data(), k);
  QuantTraits<Q4_K>::dequantize_ref(blocks.data(), src.data(), k);
  BOOST_TEST(row == src);
  // 1-D tensors stay as stored.
  const nn::AnyWeight norm = nn::load_weight(f, f.require_tensor("output_norm.weight"), nn::WeightLoadOptions{GgmlType::Q8_0});
  BOOST_TEST(nn::type_name_of(norm) == "F32");
}

BOOST_AUTO_TEST_CASE(unsupported_target_type_throws) {
  const auto f = io::GgufFile::open(test::reference("models/tiny512-f32.gguf"));
  BOOST_CHECK_THROW((void)nn::load_weight(f, f.require_tensor("blk.0.ffn_down.weight"), nn::WeightLoadOptions{GgmlType::IQ2_XXS}),
                    UnsupportedError);
}

BOOST_AUTO_TEST_CASE(unsupported_stored_type_names_tensor_and_type) {
  io::GgufWriter w;
  w.set("general.architecture", std::string("llama"));
  w.add_tensor("blk.0.attn_q.weight", Shape{2, 256}, GgmlType::IQ2_XXS, [](std::byte*) {});
  const auto path = std::filesystem::temp_directory_path() / "llmforge_iq2xxs.gguf";
  w.write(path);
  const auto f = io::GgufFile::open(path);
  try {
    (void)nn::load_weight(f, f.require_tensor("blk.0.attn_q.weight"));
    BOOST_FAIL("no exception");
  } catch (const UnsupportedError& e) {
    const std::string msg = e.what();
    BOOST_TEST(msg.find("blk.0.attn_q.weight") != std::string::npos, msg);
    BOOST_TEST(msg.find("IQ2_XXS") != std::string::npos, msg);
  }
  std::filesystem::remove(path);
}

BOOST_AUTO_TEST_SUITE_END()
