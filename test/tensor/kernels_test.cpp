// SPDX-License-Identifier: MIT
// The tensor SIMD kernels (GEMM, binary, unary, max, exp-sum) against scalar double references on every compiled target.
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <llmforge/core/half.hpp>
#include <llmforge/kernels/dispatch.hpp>

#include "common/targets.hpp"

namespace k = llmforge::kernels;

namespace {

using llmforge::test::for_each_target;

using llmforge::test::random_floats;

float widen(float v) { return v; }
float widen(llmforge::f16 v) { return llmforge::f16_to_f32(v); }
float widen(llmforge::bf16 v) { return llmforge::bf16_to_f32(v); }

// Runs C = A·B through the dispatched GEMM in two column blocks (as threads would) and checks each element
// against a double reference: |err| <= 1e-5 * sum |a_ik b_kj| covers f32 accumulation (HIGHWAY.md §7).
template <class T>
void check_gemm(std::size_t m, std::size_t n, std::size_t kk, bool transpose_b, bool accumulate) {
  const auto av = random_floats(m * kk, 1), bv = random_floats(kk * n, 2);
  std::vector<T> b(kk * n);
  for (std::size_t i = 0; i < b.size(); ++i) {
    if constexpr (std::is_same_v<T, float>) b[i] = bv[i];
    else if constexpr (std::is_same_v<T, llmforge::f16>) b[i] = llmforge::f32_to_f16(bv[i]);
    else b[i] = llmforge::f32_to_bf16(bv[i]);
  }
  std::vector<float> c(m * n, 0.5f);
  k::GemmArgs g;
  g.m = m, g.n = n, g.k = kk;
  g.a = av.data(), g.a_rs = static_cast<std::ptrdiff_t>(kk), g.a_cs = 1;
  g.b = b.data();
  g.b_type = std::is_same_v<T, float> ? k::ElemType::F32 : std::is_same_v<T, llmforge::f16> ? k::ElemType::F16 : k::ElemType::BF16;
  // B element (p, j): row-major [k, n], or stored as its transpose [n, k].
  g.b_rs = transpose_b ? 1 : static_cast<std::ptrdiff_t>(n);
  g.b_cs = transpose_b ? static_cast<std::ptrdiff_t>(kk) : 1;
  g.c = c.data(), g.c_rs = static_cast<std::ptrdiff_t>(n), g.c_cs = 1;
  g.accumulate = accumulate;
  k::gemm(g, 0, m, 0, n / 2);
  k::gemm(g, 0, m, n / 2, n);
  std::size_t bad = 0;
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      double ref = accumulate ? 0.5 : 0.0, mag = 0;
      for (std::size_t p = 0; p < kk; ++p) {
        const double bb = widen(transpose_b ? b[j * kk + p] : b[p * n + j]);
        ref += double(av[i * kk + p]) * bb;
        mag += std::fabs(double(av[i * kk + p]) * bb);
      }
      bad += !(std::fabs(c[i * n + j] - ref) <= 1e-5 * mag + 1e-6);
    }
  BOOST_TEST(bad == 0u, "gemm " << m << "x" << n << "x" << kk << (transpose_b ? " B^T" : "") << " mismatches " << bad);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(tensor_kernels)

BOOST_AUTO_TEST_CASE(gemm_matches_double_reference_on_every_target) {
  for_each_target([] {
    for (auto [m, n, kk] : {std::tuple<std::size_t, std::size_t, std::size_t>{1, 1, 1}, {3, 5, 7}, {17, 33, 9},
                            {8, 48, 256}, {97, 50, 300}, {5, 7, 0}})
      for (bool tb : {false, true}) check_gemm<float>(m, n, kk, tb, false);
    check_gemm<float>(13, 29, 31, false, true);
    check_gemm<llmforge::f16>(19, 37, 45, true, false);
    check_gemm<llmforge::bf16>(19, 37, 45, false, false);
  });
}

BOOST_AUTO_TEST_CASE(elementwise_kernels_match_scalar_reference_on_every_target) {
  for_each_target([] {
    for (std::size_t n : {0u, 1u, 7u, 8u, 9u, 15u, 17u, 33u, 100u}) {
      const auto a = random_floats(n + 1, 3, 3.0f), b = random_floats(n + 1, 4, 3.0f);
      std::vector<float> out(n + 1);
      const k::BinaryOp ops[] = {k::BinaryOp::Add, k::BinaryOp::Sub, k::BinaryOp::Mul, k::BinaryOp::Div, k::BinaryOp::Max, k::BinaryOp::Min};
      for (auto op : ops)
        for (std::size_t sa : {0u, 1u})
          for (std::size_t sb : {0u, 1u}) {
            if (!sa && !sb) continue;
            k::binary_f32(op, a.data(), sa, b.data(), sb, out.data(), n);
            for (std::size_t i = 0; i < n; ++i) {
              const double x = a[i * sa], y = b[i * sb];
              const double want = op == k::BinaryOp::Add ? x + y : op == k::BinaryOp::Sub ? x - y : op == k::BinaryOp::Mul ? x * y
                                : op == k::BinaryOp::Div ? x / y : op == k::BinaryOp::Max ? std::max(x, y) : std::min(x, y);
              BOOST_TEST(std::fabs(out[i] - want) <= 1e-6 * std::fabs(want), "op " << int(op) << " n " << n << " i " << i);
            }
          }
      // Unary functions against double-precision std:: math; tolerance = a few ulp (Highway documents 1-4 ulp).
      const k::UnaryOp uops[] = {k::UnaryOp::Exp, k::UnaryOp::Tanh, k::UnaryOp::Neg, k::UnaryOp::Abs, k::UnaryOp::Relu,
                                 k::UnaryOp::Sigmoid, k::UnaryOp::Silu, k::UnaryOp::GeluTanh, k::UnaryOp::GeluErf};
      for (auto op : uops) {
        k::unary_f32(op, a.data(), out.data(), n);
        for (std::size_t i = 0; i < n; ++i) {
          const double x = a[i];
          double want = 0;
          switch (op) {
            case k::UnaryOp::Exp: want = std::exp(x); break;
            case k::UnaryOp::Tanh: want = std::tanh(x); break;
            case k::UnaryOp::Neg: want = -x; break;
            case k::UnaryOp::Abs: want = std::fabs(x); break;
            case k::UnaryOp::Relu: want = x < 0 ? 0 : x; break;
            case k::UnaryOp::Sigmoid: want = 1 / (1 + std::exp(-x)); break;
            case k::UnaryOp::Silu: want = x / (1 + std::exp(-x)); break;
            case k::UnaryOp::GeluTanh: want = 0.5 * x * (1 + std::tanh(0.7978845608028654 * (x + 0.044715 * x * x * x))); break;
            case k::UnaryOp::GeluErf: want = 0.5 * x * std::erfc(-x / std::sqrt(2.0)); break;
            default: break;
          }
          // 0.5 x (1 + tanh(..)) cancels for x << 0 in f32 (as in every f32 implementation): absolute 1e-6 there.
          const double atol = op == k::UnaryOp::GeluTanh ? 1e-6 : 1e-7;
          BOOST_TEST(std::fabs(out[i] - want) <= 5e-6 * std::fabs(want) + atol, "unary " << int(op) << " x " << x);
        }
      }
      const auto pos = random_floats(n, 5);
      std::vector<float> p(n);
      for (std::size_t i = 0; i < n; ++i) p[i] = std::fabs(pos[i]) + 1e-3f;
      k::unary_f32(k::UnaryOp::Log, p.data(), out.data(), n);
      for (std::size_t i = 0; i < n; ++i) BOOST_TEST(std::fabs(out[i] - std::log(double(p[i]))) <= 4e-7 + 4e-6 * std::fabs(std::log(double(p[i]))));
      k::unary_f32(k::UnaryOp::Sqrt, p.data(), out.data(), n);
      for (std::size_t i = 0; i < n; ++i) BOOST_TEST(std::fabs(out[i] - std::sqrt(double(p[i]))) <= 1e-6 * std::sqrt(double(p[i])));
      // max and shifted exp-sum (softmax building blocks)
      double m = -INFINITY;
      for (std::size_t i = 0; i < n; ++i) m = std::max(m, double(a[i]));
      BOOST_TEST(k::max_f32(a.data(), n) == static_cast<float>(m));
      double s = 0;
      for (std::size_t i = 0; i < n; ++i) s += std::exp(double(a[i]) - m);
      const double got = k::exp_shift_sum_f32(a.data(), static_cast<float>(n ? m : 0), out.data(), n);
      BOOST_TEST(std::fabs(got - s) <= 1e-5 * s + 1e-12);
    }
  });
}

BOOST_AUTO_TEST_SUITE_END()
