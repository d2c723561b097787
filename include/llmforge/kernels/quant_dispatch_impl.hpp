// SPDX-License-Identifier: MIT
// Dispatch table and entry points of the quantized-weight kernels. Included only by
// kernels/dispatch_impl.hpp inside its HWY_ONCE section (never include it anywhere else).
#pragma once

#include <memory>
#include <vector>

#include <hwy/aligned_allocator.h>

#include <llmforge/kernels/quant_dispatch.hpp>
#include <llmforge/kernels/quant_packed.hpp>

namespace llmforge::kernels {

HWY_EXPORT(MatMulQuant);
HWY_EXPORT(DecodeQuantRow);
HWY_EXPORT(QuantizeActRow);
HWY_EXPORT(MatMulPacked);
HWY_EXPORT(PackedKernelsPreferred);

namespace detail {
// Per-thread decode buffer; grows only, so steady-state calls never allocate.
inline uint8_t* quant_scratch(std::size_t bytes) {
  thread_local hwy::AlignedFreeUniquePtr<uint8_t[]> buf;
  thread_local std::size_t cap = 0;
  if (bytes > cap) {
    buf = hwy::AllocateAligned<uint8_t>(bytes);
    cap = bytes;
  }
  return buf.get();
}
}  // namespace detail

void matmul_quant(GgmlType type, const void* w, std::size_t w_row_bytes, const QuantActView& act, std::size_t n,
                  float* y, std::size_t y_stride, std::size_t r0, std::size_t r1, std::size_t w_rows) {
  const std::size_t k = act.k;
  uint8_t* scratch = detail::quant_scratch(4 * (2 * k + k / 4) + 64);
  const bool interleaved = type == GgmlType::Q4_0 && w_rows > 0 && w_rows % 8 == 0;
  HWY_DYNAMIC_DISPATCH(MatMulQuant)(type, static_cast<const uint8_t*>(w), w_row_bytes, act, n, y, y_stride, r0, r1,
                                    scratch, interleaved);
}

void quantize_act_row(GgmlType act_type, const float* x, std::size_t k, const ActRowNorm* norm, int8_t* q, float* d4,
                      float* s, int16_t* bs) {
  HWY_DYNAMIC_DISPATCH(QuantizeActRow)(act_type, x, k, norm, q, d4, s, bs);
}

void matmul_packed(const PackedMatrix& p, const QuantActView& act, std::size_t n, float* y, std::size_t y_stride,
                   std::size_t g0, std::size_t g1) {
  const int32_t* off = nullptr;
  if (packed_format(p.type()).block_values == 32) {  // each block's integer activation sum, for the level offsets
    thread_local std::vector<int32_t> buf;  // grows only
    const std::size_t nb = act.k / 32;
    if (buf.size() < n * nb) buf.resize(n * nb);
    for (std::size_t t = 0; t < n; ++t)
      for (std::size_t b = 0; b < nb; ++b)
        buf[t * nb + b] = act.bs[t * (act.k / 16) + 2 * b] + act.bs[t * (act.k / 16) + 2 * b + 1];
    off = buf.data();
  }
  HWY_DYNAMIC_DISPATCH(MatMulPacked)(p.type(), p.data(), p.layout(), act, off, n, y, y_stride, g0, g1);
}

bool packed_kernels_preferred() { return HWY_DYNAMIC_DISPATCH(PackedKernelsPreferred)(); }

void decode_quant_row(GgmlType type, const void* row, std::size_t k, uint8_t* u, float* ws4, float* wm) {
  HWY_DYNAMIC_DISPATCH(DecodeQuantRow)(type, row, k, u, ws4, wm);
}

}  // namespace llmforge::kernels
