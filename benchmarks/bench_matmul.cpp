// SPDX-License-Identifier: MIT
// F32 matmul benchmark: llmforge's packed Highway GEMM vs the machine's measured FMA peak and vs Eigen (-march=native),
// interleaved in one run on 1 and 2 threads; also F16/BF16 weights through linear(). Reports GFLOP/s and ratios.
//
//   build/release/bin/bench_matmul [M N K] [--rounds R]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include <llmforge/backend/thread_pool.hpp>
#include <llmforge/kernels/dispatch.hpp>
#include <llmforge/tensor.hpp>

namespace bench {
void eigen_gemm(const float* a, const float* b, float* c, std::size_t m, std::size_t n, std::size_t k, std::size_t n0,
                std::size_t n1);
const char* eigen_simd();
}  // namespace bench

namespace lf = llmforge;

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// CPU seconds used by the whole process: unlike wall time, it does not count time the threads were descheduled, so
// per-CPU-second ratios stay meaningful when other programs share the cores.
double cpu_now() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

struct Rate {
  double wall;  // GFLOP/s of wall time
  double cpu;   // GFLOP per CPU-second
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// FMA peak with every pool thread running independent FMA chains.
Rate peak_gflops(lf::ThreadPool& pool) {
  const std::size_t iters = 20'000'000;
  std::vector<double> flops(pool.size(), 0.0);
  const double t0 = now(), c0 = cpu_now();
  pool.parallel_for(pool.size(), [&](std::size_t b, std::size_t e, std::size_t) {
    for (std::size_t i = b; i < e; ++i) flops[i] = lf::kernels::fma_probe(iters);
  });
  const double dt = now() - t0, dc = cpu_now() - c0;
  double total = 0;
  for (double f : flops) total += f;
  return {total / dt / 1e9, total / dc / 1e9};
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t m = 512, n = 2048, k = 2048;
  int rounds = 7;
  std::vector<std::size_t> dims;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
      rounds = std::atoi(argv[++i]);
    else
      dims.push_back(static_cast<std::size_t>(std::atol(argv[i])));
  }
  if (dims.size() == 3) m = dims[0], n = dims[1], k = dims[2];
  const double gflop = 2.0 * double(m) * double(n) * double(k) / 1e9;
  std::printf("matmul %zux%zux%zu (%.2f GFLOP), llmforge target %s, GEMM tile %zux%zu, Eigen SIMD: %s\n", m, n, k, gflop,
              lf::kernels::target_name(), lf::kernels::gemm_tile_rows(), lf::kernels::gemm_tile_cols(), bench::eigen_simd());

  const auto a = lf::randn<lf::F32>(lf::Shape{m, k}, 1);
  const auto b = lf::randn<lf::F32>(lf::Shape{k, n}, 2);
  auto c = lf::zeros<lf::F32>(lf::Shape{m, n});
  std::vector<float> ce(m * n);
  // Weights for linear(): W = B^T [n, k] in three storage types.
  const auto w32 = b.transpose().contiguous();
  const auto w16 = lf::to_dtype<lf::F16>(w32);
  const auto wbf = lf::to_dtype<lf::BF16>(w32);

  for (std::size_t threads : {1u, 2u}) {
    lf::ThreadPool pool(threads);
    auto run_ours = [&] { lf::matmul(a, b, c, &pool); };
    auto run_eigen = [&] {
      pool.parallel_for(n, [&](std::size_t n0, std::size_t n1, std::size_t) {
        bench::eigen_gemm(a.data(), b.data(), ce.data(), m, n, k, n0, n1);
      }, 256);
    };
    run_ours();  // warm-up (pack buffers, threads) and correctness gate
    run_eigen();
    double worst = 0;
    for (std::size_t i = 0; i < m * n; ++i)
      worst = std::max(worst, double(std::fabs(c.data()[i] - ce[i])) / (std::sqrt(double(k)) * 1.0));
    if (worst > 1e-3) {
      std::fprintf(stderr, "llmforge and Eigen results differ (scaled error %g)\n", worst);
      return 1;
    }
    std::vector<double> ours, eigen, peak, r_peak, r_eigen, r_cpu, l32, l16, lbf;
    auto time_it = [&](auto&& fn) {
      const double t0 = now(), c0 = cpu_now();
      fn();
      return Rate{gflop / (now() - t0), gflop / (cpu_now() - c0)};
    };
    for (int r = 0; r < rounds; ++r) {
      const Rate p0 = peak_gflops(pool);
      const Rate go = time_it(run_ours);
      const Rate ge = time_it(run_eigen);
      const Rate p1 = peak_gflops(pool);
      const double p = 0.5 * (p0.wall + p1.wall);
      ours.push_back(go.wall);
      eigen.push_back(ge.wall);
      peak.push_back(p);
      r_peak.push_back(go.wall / p);
      r_cpu.push_back(go.cpu / (0.5 * (p0.cpu + p1.cpu)));
      r_eigen.push_back(go.wall / ge.wall);
      l32.push_back(time_it([&] { lf::linear(a, w32, lf::Tensor<lf::F32>(), c, &pool); }).wall);
      l16.push_back(time_it([&] { lf::linear(a, w16, lf::Tensor<lf::F32>(), c, &pool); }).wall);
      lbf.push_back(time_it([&] { lf::linear(a, wbf, lf::Tensor<lf::F32>(), c, &pool); }).wall);
    }
    std::printf("threads %zu: peak %.1f GFLOP/s | llmforge %.1f GFLOP/s = %.0f%% of peak (%.0f%% per CPU-second) | "
                "Eigen -march=native %.1f GFLOP/s | llmforge/Eigen %.2fx\n",
                threads, median(peak), median(ours), 100 * median(r_peak), 100 * median(r_cpu), median(eigen),
                median(r_eigen));
    std::printf("threads %zu: linear x·Wᵀ with W in F32 %.1f, F16 %.1f, BF16 %.1f GFLOP/s\n", threads, median(l32),
                median(l16), median(lbf));
  }
  std::printf("(medians of %d interleaved rounds; ratios are medians of per-round ratios)\n", rounds);
  return 0;
}
