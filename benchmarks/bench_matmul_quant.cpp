// SPDX-License-Identifier: MIT
// Microbenchmark of the weight matmul kernels (every weight type) on a tinyllama-sized FFN matrix:
// GB/s of weights for generation (n = 1) and GOP/s for prompt processing (n = 128), next to the
// machine's measured read bandwidth and the same kernel forced onto the scalar target (baseline).
// "tg cold" cycles through copies of the matrix totalling >= 256 MiB (weights come from DRAM, as in
// decoding a real model); "tg hot" reuses one matrix (it may sit in the last-level cache).
// Usage: bench_matmul_quant [threads=2] [rows=5632] [k=2048] [types=all]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include <hwy/targets.h>

#include <llmforge/backend/bandwidth.hpp>
#include <llmforge/nn/weight.hpp>

using namespace llmforge;
using Clock = std::chrono::steady_clock;

namespace {

template <class Fn>
double best_seconds(Fn&& fn, double min_total = 0.3) {
  fn();  // warm-up
  double best = 1e30, total = 0;
  for (int i = 0; i < 200 && (total < min_total || i < 3); ++i) {
    const auto t0 = Clock::now();
    fn();
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    best = std::min(best, s);
    total += s;
  }
  return best;
}


nn::AnyWeight make_weight(GgmlType type, std::size_t rows, std::size_t k, std::mt19937& rng) {
  std::normal_distribution<float> nd(0.f, 1.f);
  std::vector<float> row(k);
  nn::AnyWeight out;
  quant::visit_format(type, [&](auto tag) {
    using D = decltype(tag);
    auto t = Tensor<D, Cpu>::empty(Shape{rows, k});
    for (std::size_t r = 0; r < rows; ++r) {
      for (auto& v : row) v = nd(rng);
      quant::quantize_row(type, row.data(), t.row(r), k);
    }
    if constexpr (!std::is_same_v<D, Q8_1> && !std::is_same_v<D, Q8_K>) out = std::move(t);
  });
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t threads = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 2;
  const std::size_t rows = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 5632;
  const std::size_t k = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 2048;
  const std::string only = argc > 4 ? argv[4] : "all";
  ThreadPool pool(threads);
  std::printf("target %s, %zu threads, W = %zu x %zu\n", kernels::target_name(), pool.size(), rows, k);
  const double bw = measure_read_bandwidth_gbs(pool);
  std::printf("measured read bandwidth: %.1f GB/s\n\n", bw);
  std::printf("%-7s %7s %12s %8s %11s %11s %9s %11s\n", "type", "MB", "tg cold GB/s", "%bw", "tg hot GB/s", "tg vs scal",
              "pp GOP/s", "pp vs scal");
  std::mt19937 rng(1);
  const std::size_t n_pp = 128;
  std::vector<float> x(n_pp * k), y(n_pp * rows);
  std::normal_distribution<float> nd(0.f, 1.f);
  for (auto& v : x) v = nd(rng);
  const int64_t scalar_bit = HWY_SCALAR & kernels::runnable_targets() ? HWY_SCALAR : HWY_EMU128;
  for (GgmlType type : {GgmlType::F32, GgmlType::F16, GgmlType::BF16, GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q4_1,
                        GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::IQ4_NL, GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K,
                        GgmlType::Q5_K, GgmlType::Q6_K}) {
    const std::string name(ggml_type_info(type).name);
    if (only != "all" && only.find(name) == std::string::npos) continue;
    const nn::AnyWeight w = make_weight(type, rows, k, rng);
    const double mb = static_cast<double>(nn::bytes_of(w)) / 1e6;
    std::vector<nn::AnyWeight> copies{w};
    while (copies.size() * nn::bytes_of(w) < (std::size_t{256} << 20))
      copies.push_back(std::visit([](const auto& t) -> nn::AnyWeight { return t.clone(); }, w));
    std::size_t next = 0;
    const double tg_cold = best_seconds([&] {
      nn::matmul(copies[next], x.data(), k, 1, y.data(), rows, pool);
      next = (next + 1) % copies.size();
    });
    copies.resize(1);
    const double tg = best_seconds([&] { nn::matmul(w, x.data(), k, 1, y.data(), rows, pool); });
    const double pp = best_seconds([&] { nn::matmul(w, x.data(), k, n_pp, y.data(), rows, pool); });
    kernels::set_targets_for_test(scalar_bit);
    const double tg_s = best_seconds([&] { nn::matmul(w, x.data(), k, 1, y.data(), rows, pool); }, 0.1);
    const double pp_s = best_seconds([&] { nn::matmul(w, x.data(), k, 8, y.data(), rows, pool); }, 0.1) * n_pp / 8;
    kernels::set_targets_for_test(0);
    const double cold = mb / 1e3 / tg_cold, hot = mb / 1e3 / tg;
    std::printf("%-7s %7.1f %12.2f %7.0f%% %11.2f %10.1fx %9.1f %10.1fx\n", name.c_str(), mb, cold, 100 * cold / bw, hot,
                tg_s / tg, 2.0 * rows * k * n_pp / pp / 1e9, pp_s / pp);
    // Float weights: prompts through the packed tiled GEMM (AnyWeight::gemm_prefill) as well.
    if (type == GgmlType::F32 || type == GgmlType::F16 || type == GgmlType::BF16) {
      nn::AnyWeight wg = w;
      wg.gemm_prefill = true;
      const double ppg = best_seconds([&] { nn::matmul(wg, x.data(), k, n_pp, y.data(), rows, pool); });
      std::printf("%-7s %7.1f %12s %8s %11s %11s %9.1f %10.2fx   (tiled GEMM; ratio to the row kernels)\n",
                  (name + "/GEMM").c_str(), mb, "", "", "", "", 2.0 * rows * k * n_pp / ppg / 1e9, pp / ppg);
    }
    // The same matrix repacked (the default load path where the kernels prefer it): ratios to the rows.
    nn::AnyWeight wp = w;
    if (nn::pack_weight(wp)) {
      std::vector<nn::AnyWeight> packed{wp};
      while (packed.size() * nn::bytes_of(w) < (std::size_t{256} << 20)) {
        packed.push_back(w);
        nn::pack_weight(packed.back());
      }
      next = 0;
      const double ptg_cold = best_seconds([&] {
        nn::matmul(packed[next], x.data(), k, 1, y.data(), rows, pool);
        next = (next + 1) % packed.size();
      });
      const double ptg = best_seconds([&] { nn::matmul(wp, x.data(), k, 1, y.data(), rows, pool); });
      const double ppp = best_seconds([&] { nn::matmul(wp, x.data(), k, n_pp, y.data(), rows, pool); });
      std::printf("%-7s %7.1f %12.2f %7.0f%% %11.2f %10.2fx %9.1f %10.2fx   (packed; ratios to the rows)\n",
                  (name + "/R8").c_str(), mb, mb / 1e3 / ptg_cold, 100 * mb / 1e3 / ptg_cold / bw, mb / 1e3 / ptg,
                  tg_cold / ptg_cold, 2.0 * rows * k * n_pp / ppp / 1e9, pp / ppp);
    }
  }
  return 0;
}
