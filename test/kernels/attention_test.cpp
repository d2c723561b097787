// SPDX-License-Identifier: MIT
// The tiled attention kernel against its double-precision scalar reference on every compiled target,
// for every KV cache type, and the KV cache's storage round trips.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

#include <llmforge/kernels/attention_reference.hpp>
#include <llmforge/kv/kv_cache.hpp>

#include "common/targets.hpp"

namespace lf = llmforge;
using lf::KvType;

namespace {

lf::ModelConfig small_config(std::size_t hd, std::size_t vd, std::size_t kv_heads = 2, std::size_t ctx = 96) {
  lf::ModelConfig c;
  c.num_layers = 2;
  c.num_heads = kv_heads * 4;
  c.num_kv_heads = kv_heads;
  c.head_dim = hd;
  c.value_dim = vd;
  c.context_len = ctx;
  return c;
}

// A cache of `n` positions of random keys/values (layer 1).
lf::KvCache filled_cache(const lf::ModelConfig& c, const lf::KvOptions& o, std::size_t n, unsigned seed) {
  lf::KvCache kv(c, c.context_len, o);
  const auto k = lf::test::random_floats(n * kv.k_width(), seed);
  const auto v = lf::test::random_floats(n * kv.v_width(), seed + 1);
  kv.store(1, 0, n, k.data(), v.data());
  return kv;
}

struct State {
  std::vector<float> m, l, o;
  State(std::size_t rows, std::size_t vd)
      : m(rows, -std::numeric_limits<float>::infinity()), l(rows, 0.0f), o(rows * vd, 0.0f) {}
};

// Relative closeness of two states (o / l is the attention output the model uses).
void check_close(const State& got, const State& want, std::size_t vd, double tol) {
  for (std::size_t r = 0; r < want.m.size(); ++r) {
    BOOST_TEST_CONTEXT("row " << r) {
      if (std::isinf(want.m[r])) {
        BOOST_TEST(std::isinf(got.m[r]));
        continue;
      }
      BOOST_TEST(std::fabs(got.m[r] - want.m[r]) <= tol * (1 + std::fabs(want.m[r])));
      BOOST_TEST(std::fabs(got.l[r] - want.l[r]) <= tol * want.l[r]);
      double err = 0, norm = 0;
      for (std::size_t c = 0; c < vd; ++c) {
        const double a = got.o[r * vd + c] / got.l[r], b = want.o[r * vd + c] / want.l[r];
        err = std::max(err, std::fabs(a - b));
        norm = std::max(norm, std::fabs(b));
      }
      BOOST_TEST(err <= tol * (1 + norm), "max |out - ref| " << err);
    }
  }
}

struct Case {
  std::size_t hd, vd, rows;
  KvType k, v;
  float softcap;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(attention)

BOOST_AUTO_TEST_CASE(tiled_kernel_matches_reference_on_every_target) {
  std::vector<Case> cases;
  for (KvType k : {KvType::F32, KvType::F16, KvType::Q8_0})
    for (KvType v : {KvType::F32, KvType::F16, KvType::Q8_0})
      for (std::size_t rows : {1, 3, 4, 8, 13}) cases.push_back({64, 64, rows, k, v, rows == 3 ? 30.0f : 0.0f});
  // Head sizes that leave vector tails (F32/F16 only: Q8_0 needs multiples of 32).
  for (KvType t : {KvType::F32, KvType::F16}) cases.push_back({40, 24, 9, t, t, 0.0f});
  const std::size_t n_pos = 70;
  lf::test::for_each_target([&] {
    for (const Case& cs : cases) {
      BOOST_TEST_CONTEXT("hd " << cs.hd << " vd " << cs.vd << " rows " << cs.rows << " k " << lf::kv_type_name(cs.k)
                               << " v " << lf::kv_type_name(cs.v) << " softcap " << cs.softcap) {
        const auto c = small_config(cs.hd, cs.vd);
        const auto kv = filled_cache(c, {cs.k, cs.v, true}, n_pos, 7);
        const auto view = kv.view(1, 1);
        const auto q = lf::test::random_floats(cs.rows * cs.hd, 11, 0.3f);
        // Causal rows ending at different positions, some with a sliding window, one seeing nothing.
        std::vector<std::size_t> begin(cs.rows), end(cs.rows);
        for (std::size_t r = 0; r < cs.rows; ++r) {
          end[r] = n_pos - (r * 7) % 40;
          begin[r] = r % 4 == 2 ? end[r] - std::min<std::size_t>(end[r], 19) : 0;
        }
        if (cs.rows > 4) begin[4] = end[4];
        const lf::kernels::AttnQueries aq{q.data(), cs.rows, begin.data(), end.data(), cs.softcap};
        State want(cs.rows, cs.vd), got(cs.rows, cs.vd), split(cs.rows, cs.vd);
        lf::kernels::ref::attn_tiled(view, aq, 0, n_pos, want.m.data(), want.l.data(), want.o.data());
        lf::kernels::attn_tiled(view, aq, 0, n_pos, got.m.data(), got.l.data(), got.o.data());
        check_close(got, want, cs.vd, 2e-5);
        // The same positions in two ranges (the state carries over) give the same result.
        lf::kernels::attn_tiled(view, aq, 0, 32, split.m.data(), split.l.data(), split.o.data());
        lf::kernels::attn_tiled(view, aq, 32, n_pos, split.m.data(), split.l.data(), split.o.data());
        check_close(split, want, cs.vd, 2e-5);
      }
    }
  });
}

BOOST_AUTO_TEST_CASE(kv_cache_round_trips_each_type_and_layout) {
  const auto c = small_config(64, 64);
  const std::size_t n = 37;
  const auto k = lf::test::random_floats(n * 128, 3), v = lf::test::random_floats(n * 128, 4);
  for (bool tiles : {true, false})
    for (KvType t : {KvType::F32, KvType::F16, KvType::Q8_0}) {
      if (!tiles && t != KvType::F32) {
        BOOST_CHECK_THROW(lf::KvCache(c, 64, {t, t, false}), lf::ConfigError);
        continue;
      }
      BOOST_TEST_CONTEXT("type " << lf::kv_type_name(t) << " tiles " << tiles) {
        lf::KvCache kv(c, 64, {t, t, tiles});
        kv.store(0, 5, n, k.data(), v.data());
        std::vector<float> row(128);
        double max_k = 0, max_v = 0;
        for (std::size_t p = 0; p < n; ++p) {
          kv.load_k(0, 5 + p, row.data());
          for (std::size_t i = 0; i < 128; ++i) max_k = std::max(max_k, static_cast<double>(std::fabs(row[i] - k[p * 128 + i])));
          kv.load_v(0, 5 + p, row.data());
          for (std::size_t i = 0; i < 128; ++i) max_v = std::max(max_v, static_cast<double>(std::fabs(row[i] - v[p * 128 + i])));
        }
        // F32 exact; F16 within half an ulp of values below 8 (2^-9); Q8_0 within half a step of a block's
        // max/127 (normal samples stay below 6).
        const double tol = t == KvType::F32 ? 0.0 : t == KvType::F16 ? 0x1p-9 : 6.0 / 127 / 2;
        BOOST_TEST(max_k <= tol);
        BOOST_TEST(max_v <= tol);
        // A snapshot restores into a fresh cache of the same kind, and only there.
        const auto snap = kv.snapshot(5 + n);
        lf::KvCache other(c, 64, {t, t, tiles});
        other.restore(snap);
        other.load_k(0, 5 + n - 1, row.data());
        std::vector<float> want(128);
        kv.load_k(0, 5 + n - 1, want.data());
        BOOST_TEST(row == want);
        if (tiles) {
          lf::KvCache wrong(c, 64, {t == KvType::F16 ? KvType::F32 : KvType::F16, t, tiles});
          BOOST_CHECK_THROW(wrong.restore(snap), lf::ConfigError);
        }
      }
    }
}

BOOST_AUTO_TEST_CASE(kv_cache_rejects_bad_settings) {
  const auto c = small_config(40, 40);
  BOOST_CHECK_THROW(lf::KvCache(c, 64, {KvType::Q8_0, KvType::F16, true}), lf::ConfigError);
  BOOST_CHECK_THROW(lf::KvCache(c, 64, {KvType::F16, KvType::Q8_0, true}), lf::ConfigError);
  BOOST_CHECK_THROW(lf::KvCache(c, 0), lf::ConfigError);
  BOOST_CHECK_THROW(lf::KvCache(c, 97), lf::ConfigError);
  BOOST_CHECK_THROW((void)lf::parse_kv_type("q4_0"), lf::ConfigError);
  BOOST_TEST((lf::parse_kv_type("F16") == KvType::F16));
  lf::KvCache kv(c, 64);
  std::vector<float> x(kv.k_width());
  BOOST_CHECK_THROW(kv.store(0, 60, 5, x.data(), x.data()), lf::ConfigError);
  BOOST_CHECK_THROW((void)kv.k_rows_f32(0, 0), lf::ConfigError);
  // The budget helper returns the largest capacity that fits.
  const std::size_t budget = lf::KvCache::bytes_for(c, 50) + 1;
  const std::size_t cap = lf::KvCache::capacity_for_budget(c, budget);
  BOOST_TEST(lf::KvCache::bytes_for(c, cap) <= budget);
  BOOST_TEST(lf::KvCache::bytes_for(c, cap + 1) > budget);
}

BOOST_AUTO_TEST_SUITE_END()
