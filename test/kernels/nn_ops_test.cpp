// SPDX-License-Identifier: MIT
// The transformer kernels (RMSNorm, SiLU gate, softmax, attention scores and values, RoPE) on every
// compiled target against their scalar references: bit-identical where the target has fused
// multiply-add, within a few ulp otherwise; and the references against plain double-precision math.
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include <llmforge/core/half.hpp>
#include <llmforge/kernels/dispatch.hpp>
#include <llmforge/kernels/nn_reference.hpp>

#include "common/targets.hpp"

namespace k = llmforge::kernels;
using llmforge::test::for_each_target;

namespace {

using llmforge::test::random_floats;

// Equal bit for bit on FMA targets; otherwise within `ulps` units in the last place (relative to
// the larger magnitude, plus an absolute floor for values near zero).
void expect_close(const std::vector<float>& got, const std::vector<float>& want, float ulps, float floor,
                  const char* what) {
  BOOST_TEST_REQUIRE(got.size() == want.size());
  const bool exact = k::target_has_fma();
  std::size_t bad = 0, first = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const float tol = exact ? 0.0f : ulps * std::numeric_limits<float>::epsilon() * std::fabs(want[i]) + floor;
    const bool ok = exact ? std::memcmp(&got[i], &want[i], 4) == 0 : (got[i] == want[i] || std::fabs(got[i] - want[i]) <= tol);
    if (!ok && bad++ == 0) first = i;
  }
  BOOST_TEST(bad == 0, what << ": " << bad << " of " << got.size() << " differ, first at " << first << ": "
                            << (bad ? got[first] : 0.f) << " vs reference " << (bad ? want[first] : 0.f)
                            << (exact ? " (bit-exact expected: FMA target)" : ""));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(nn_ops)

BOOST_AUTO_TEST_CASE(reference_exp_is_accurate) {
  // The polynomial exp stays within 2 ulp of the correctly rounded value over softmax/SiLU's range,
  // and handles the ends of the range.
  double worst = 0;
  for (float x = -87.0f; x <= 88.0f; x += 0.0137f) {
    const double want = std::exp(static_cast<double>(x));
    worst = std::max(worst, std::fabs(k::ref::exp(x) - want) / (want * std::numeric_limits<float>::epsilon()));
  }
  BOOST_TEST(worst <= 2.0, "worst error " << worst << " ulp");
  BOOST_TEST(k::ref::exp(-std::numeric_limits<float>::infinity()) == 0.0f);
  BOOST_TEST(k::ref::exp(-200.0f) == 0.0f);
  BOOST_TEST(std::isinf(k::ref::exp(200.0f)));
  BOOST_TEST(k::ref::exp(0.0f) == 1.0f);
  BOOST_TEST(std::fabs(k::ref::exp(-100.0f) - std::exp(-100.0)) < 1e-45);  // subnormal result
}

BOOST_AUTO_TEST_CASE(references_match_double_math) {
  const auto x = random_floats(300, 1, 2.0f), w = random_floats(300, 2);
  std::vector<float> out(300);
  k::ref::rms_norm(x.data(), w.data(), out.data(), 300, 1e-5f);
  double ss = 0;
  for (float v : x) ss += double(v) * v;
  const double sc = 1.0 / std::sqrt(ss / 300 + 1e-5);
  for (std::size_t i = 0; i < 300; ++i) BOOST_TEST(std::fabs(out[i] - x[i] * sc * w[i]) < 1e-5 * (1 + std::fabs(x[i] * sc * w[i])));
  // softmax sums to one and is monotone in the scores
  std::vector<float> s = random_floats(37, 3, 3.0f), p(37);
  s[5] = -std::numeric_limits<float>::infinity();
  k::ref::softmax(s.data(), p.data(), 37);
  double sum = 0;
  for (float v : p) sum += v;
  BOOST_TEST(std::fabs(sum - 1.0) < 1e-6);
  BOOST_TEST(p[5] == 0.0f);
  double mx = -1e30;
  for (float v : s) mx = std::max<double>(mx, v);
  double z = 0;
  for (float v : s) z += std::exp(v - mx);
  for (std::size_t j = 0; j < 37; ++j) BOOST_TEST(std::fabs(p[j] - std::exp(s[j] - mx) / z) < 1e-6);
  // dot and weighted sums against double sums, for lengths around the 8/16/32/64 block edges
  for (std::size_t n : {1u, 7u, 8u, 31u, 32u, 63u, 64u, 65u, 100u, 128u, 200u}) {
    const auto a = random_floats(n, 4 + n), b = random_floats(n * 3, 5 + n);
    double want = 0, mag = 0;
    for (std::size_t i = 0; i < n; ++i) want += double(a[i]) * b[i], mag += std::fabs(double(a[i]) * b[i]);
    BOOST_TEST(std::fabs(k::ref::dot(a.data(), b.data(), n) - want) <= 1e-6 * mag, "dot n=" << n);
    std::vector<float> o16(3), o64(3);
    k::ref::weighted_sum(a.data(), b.data(), 3, n, 3, o16.data());
    k::ref::weighted_sum_dot(a.data(), b.data(), 3, n, 3, o64.data());
    for (std::size_t d = 0; d < 3; ++d) {
      double ws = 0, wm = 0;
      for (std::size_t j = 0; j < n; ++j) ws += double(a[j]) * b[j * 3 + d], wm += std::fabs(double(a[j]) * b[j * 3 + d]);
      BOOST_TEST(std::fabs(o16[d] - ws) <= 1e-6 * wm, "weighted_sum n=" << n);
      BOOST_TEST(std::fabs(o64[d] - ws) <= 1e-6 * wm, "weighted_sum_dot n=" << n);
    }
  }
  // RoPE angles: pos * base^(-2i/d)
  std::vector<float> cs(16);
  k::ref::rope_angles(7, std::pow(10000.0f, -2.0f / 16), nullptr, 8, cs.data());
  for (int i = 0; i < 8; ++i) {
    const double th = 7 * std::pow(10000.0, -2.0 * i / 16);
    BOOST_TEST(std::fabs(cs[2 * i] - std::cos(th)) < 1e-5);
    BOOST_TEST(std::fabs(cs[2 * i + 1] - std::sin(th)) < 1e-5);
  }
}

BOOST_AUTO_TEST_CASE(rms_norm_and_silu_match_reference) {
  for (std::size_t n : {5u, 16u, 64u, 257u, 768u}) {
    const auto x = random_floats(n, 10 + n, 3.0f), w = random_floats(n, 20 + n), u = random_floats(n, 30 + n);
    std::vector<float> want(n), want_s(n);
    k::ref::rms_norm(x.data(), w.data(), want.data(), n, 1e-6f);
    const std::size_t n16 = n & ~std::size_t{15};
    for (std::size_t i = 0; i < n; ++i)
      want_s[i] = (i < n16 ? k::ref::silu(x[i]) : x[i] / (1.0f + std::exp(-x[i]))) * u[i];
    for_each_target([&] {
      std::vector<float> got(n), got_s(n);
      k::rms_norm_f32(x.data(), w.data(), got.data(), n, 1e-6f);
      expect_close(got, want, 2, 0, "rms_norm");
      k::silu_mul_f32(x.data(), u.data(), got_s.data(), n);
      expect_close(got_s, want_s, 8, 1e-30f, "silu_mul");
    });
  }
}

BOOST_AUTO_TEST_CASE(softmax_and_attention_match_reference) {
  for (std::size_t n : {1u, 3u, 16u, 17u, 40u, 64u, 70u, 129u}) {
    for (std::size_t hd : {32u, 64u, 72u, 128u}) {
      const std::size_t kv_stride = 2 * hd;  // two KV heads per cache row
      const auto q = random_floats(hd, 40 + n + hd), kc = random_floats(n * kv_stride, 50 + n + hd);
      std::vector<float> want_s(n), want_p(n);
      for (std::size_t j = 0; j < n; ++j) want_s[j] = k::ref::dot(q.data(), kc.data() + j * kv_stride + hd, hd) * 0.125f;
      want_s[0] = -std::numeric_limits<float>::infinity();  // a masked position
      if (n == 1) want_s[0] = 0.5f;
      k::ref::softmax(want_s.data(), want_p.data(), n);
      std::vector<float> want16(hd), want64(hd);
      k::ref::weighted_sum(want_p.data(), kc.data() + hd, kv_stride, n, hd, want16.data());
      k::ref::weighted_sum_dot(want_p.data(), kc.data() + hd, kv_stride, n, hd, want64.data());
      BOOST_TEST_CONTEXT("n=" << n << " hd=" << hd) {
        for_each_target([&] {
          std::vector<float> s(n), p(n), o(hd), scratch(64 * hd);
          k::attn_scores_f32(q.data(), kc.data() + hd, kv_stride, hd, n, 0.125f, s.data());
          s[0] = want_s[0];
          expect_close(s, want_s, 4 * hd, 1e-6f, "scores");
          k::softmax_f32(want_s.data(), p.data(), n);
          expect_close(p, want_p, 8, 1e-30f, "softmax");
          k::attn_values_f32(want_p.data(), kc.data() + hd, kv_stride, n, hd, 16, scratch.data(), o.data());
          expect_close(o, want16, 64, 1e-6f, "values (16 lanes)");
          k::attn_values_f32(want_p.data(), kc.data() + hd, kv_stride, n, hd, 64, scratch.data(), o.data());
          expect_close(o, want64, 64, 1e-6f, "values (64 lanes)");
        });
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(rope_matches_reference) {
  for (bool neox : {false, true}) {
    for (std::size_t rot : {8u, 30u, 64u}) {
      const std::size_t hd = 64, heads = 3;
      const auto x = random_floats(heads * hd, 60 + rot + neox);
      std::vector<float> cs(rot);
      k::ref::rope_angles(11, std::pow(10000.0f, -2.0f / static_cast<float>(rot)), nullptr, rot / 2, cs.data());
      std::vector<float> want = x;
      for (std::size_t h = 0; h < heads; ++h)
        for (std::size_t i = 0; i < rot / 2; ++i) {
          float* v = want.data() + h * hd;
          k::ref::rope_pair(neox ? v[i] : v[2 * i], neox ? v[i + rot / 2] : v[2 * i + 1], cs[2 * i], cs[2 * i + 1]);
        }
      BOOST_TEST_CONTEXT((neox ? "neox" : "normal") << " rot=" << rot) {
        for_each_target([&] {
          std::vector<float> got = x;
          k::rope_f32(got.data(), heads, hd, rot, cs.data(), neox);
          expect_close(got, want, 4, 1e-6f, "rope");
        });
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

// F16 weights: activations rounded to F16, then llama.cpp's 16-lane (several tokens) or 64-lane
// (one token) order; checked against double sums of the rounded activations on every target.
BOOST_AUTO_TEST_CASE(matmul_f16_rounds_activations_and_sums_accurately) {
  for (std::size_t k : {64u, 200u, 256u}) {
    const std::size_t rows = 5, n = 6;
    const auto wf = random_floats(rows * k, 70 + k), x = random_floats(n * k, 80 + k, 2.0f);
    std::vector<llmforge::f16> w(rows * k);
    for (std::size_t i = 0; i < w.size(); ++i) w[i] = llmforge::f32_to_f16(wf[i]);
    for (std::size_t nt : {std::size_t{1}, n}) {
      std::vector<double> want(nt * rows), mag(nt * rows);
      for (std::size_t t = 0; t < nt; ++t)
        for (std::size_t r = 0; r < rows; ++r)
          for (std::size_t i = 0; i < k; ++i) {
            const double p = double(llmforge::f16_to_f32(w[r * k + i])) *
                             llmforge::f16_to_f32(llmforge::f32_to_f16(x[t * k + i]));
            want[t * rows + r] += p;
            mag[t * rows + r] += std::fabs(p);
          }
      for_each_target([&] {
        std::vector<float> y(nt * rows);
        k::matmul_f16(w.data(), k, x.data(), k, nt, k, y.data(), rows, 0, rows);
        for (std::size_t i = 0; i < y.size(); ++i)
          BOOST_TEST(std::fabs(y[i] - want[i]) <= 1e-6 * mag[i], "k=" << k << " n=" << nt << " y[" << i << "] = " << y[i] << " want " << want[i]);
      });
    }
  }
}
