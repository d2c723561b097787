// SPDX-License-Identifier: MIT
// Eigen GEMM for bench_matmul, compiled alone with -march=native (the only TU of that program that includes Eigen),
// so the comparison is against Eigen at its best on this CPU. Plain-pointer interface: no Eigen or std types cross it.
#include <cstddef>

#include <Eigen/Core>

namespace bench {

/// C[:, n0:n1] = A · B[:, n0:n1] for row-major A [m, k], B [k, n], C [m, n].
void eigen_gemm(const float* a, const float* b, float* c, std::size_t m, std::size_t n, std::size_t k, std::size_t n0,
                std::size_t n1) {
  using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using Stride = Eigen::OuterStride<>;
  const auto M = static_cast<Eigen::Index>(m), N = static_cast<Eigen::Index>(n), K = static_cast<Eigen::Index>(k);
  const auto w = static_cast<Eigen::Index>(n1 - n0);
  Eigen::Map<const RowMat> A(a, M, K);
  Eigen::Map<const RowMat, 0, Stride> B(b + n0, K, w, Stride(N));
  Eigen::Map<RowMat, 0, Stride> C(c + n0, M, w, Stride(N));
  C.noalias() = A * B;
}

/// The SIMD instruction sets Eigen was compiled for in this TU.
const char* eigen_simd() { return Eigen::SimdInstructionSetsInUse(); }

}  // namespace bench
