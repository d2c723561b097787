// SPDX-License-Identifier: MIT
// Repacked ("row-interleaved") quantized weight matrices and their matrix products.
//
// A packed matrix stores its rows in groups of eight, and the groups in pairs: block b of group 2p,
// then block b of group 2p + 1, then block b + 1 of both, ... (a last odd group has its blocks to
// itself), so the sixteen rows a wide kernel takes at once come from one contiguous stream of
// memory. Inside a block the eight rows of a group are interleaved
// four values at a time: one 32-byte register holds the same four consecutive values ("quad") of
// all eight rows, row r at bytes 4r..4r+3. A kernel broadcasts the matching four activation bytes
// of a token to all lanes and one multiply-add feeds all eight rows; the eight rows' scales sit
// side by side, so one conversion gives all of them. The integer results per block equal the
// unpacked kernels' exactly; only the order in which blocks are summed in float differs.
//
// Per 8-row block layouts (`f16 d[8]` = the eight rows' scales):
//  - Q4_0, IQ4_NL (32 values): d[8] | 4 x 32 bytes of nibbles. Byte 4r+j of register m holds value
//    8m+j of row r in its low nibble and value 8m+4+j in its high nibble (quads 2m and 2m+1). 144 bytes.
//  - Q8_0 (32 values): d[8] | 8 x 32 bytes, register q holding quad q (values 4q..4q+3). 272 bytes.
//  - Q4_K (256 values): d[8] | dmin[8] | uint8 scale[8 chunks][8 rows] | uint8 min[8][8] |
//    8 chunks x 128 bytes of nibbles arranged as Q4_0's per 32-value chunk. 1184 bytes.
//  - Q6_K (256 values): d[8] | int8 scale[16 groups][8 rows] | 8 chunks x (128 bytes of low nibbles as
//    Q4_0 | 2 x 32 bytes of high bit pairs: byte 4r+j of register h holds, in bits 2i..2i+1, the high
//    two bits of value 4(4h+i)+j of the chunk). 1680 bytes, the size of eight Q6_K rows.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <llmforge/core/error.hpp>
#include <llmforge/core/ggml_type.hpp>
#include <llmforge/core/half.hpp>
#include <llmforge/kernels/quant_dispatch.hpp>
#include <llmforge/quant/iq4_nl.hpp>
#include <llmforge/quant/k_quants.hpp>
#include <llmforge/quant/legacy.hpp>

namespace llmforge::kernels {

/// Rows per interleaved group of a packed matrix.
inline constexpr std::size_t kPackRows = 8;

/// How a weight type is repacked: values per block and bytes per block of eight rows (0 = not packable).
struct PackedFormat {
  std::size_t block_values = 0;
  std::size_t block_bytes = 0;
};

/// The packed layout of `type` (block_bytes == 0 when the type has no packed kernels).
[[nodiscard]] constexpr PackedFormat packed_format(GgmlType type) noexcept {
  switch (type) {
    case GgmlType::Q4_0:
    case GgmlType::IQ4_NL: return {32, 144};
    case GgmlType::Q8_0: return {32, 272};
    case GgmlType::Q4_K: return {256, 1184};
    case GgmlType::Q6_K: return {256, 1680};
    default: return {};
  }
}

/// True if a matrix of `rows` x `k` values of `type` can be packed.
[[nodiscard]] constexpr bool can_pack(GgmlType type, std::size_t rows, std::size_t k) noexcept {
  const PackedFormat f = packed_format(type);
  return f.block_bytes != 0 && rows > 0 && rows % kPackRows == 0 && k > 0 && k % f.block_values == 0;
}

/// Where the blocks of each group of a packed matrix sit (pairs of groups interleaved block by block).
struct PackedLayout {
  std::size_t groups = 0, block_bytes = 0, group_bytes = 0;
  /// True if group g shares its blocks' stream with a partner (g ^ 1).
  [[nodiscard]] constexpr bool paired(std::size_t g) const noexcept { return (g | 1) < groups; }
  /// Byte offset of group g's first block.
  [[nodiscard]] constexpr std::size_t offset(std::size_t g) const noexcept {
    return (g & ~std::size_t{1}) * group_bytes + (paired(g) ? (g & 1) * block_bytes : 0);
  }
  /// Bytes from one block of group g to its next.
  [[nodiscard]] constexpr std::size_t step(std::size_t g) const noexcept { return paired(g) ? 2 * block_bytes : block_bytes; }
};

/// A repacked weight matrix (see the file comment). Move-only; owns 64-byte aligned storage.
class PackedMatrix {
 public:
  PackedMatrix() = default;
  PackedMatrix(GgmlType type, std::size_t rows, std::size_t k) : type_(type), rows_(rows), k_(k) {
    if (!can_pack(type, rows, k))
      throw ShapeError("cannot pack a " + std::to_string(rows) + " x " + std::to_string(k) + " " +
                       std::string(ggml_type_info(type).name) + " matrix");
    const std::size_t bytes = (rows / kPackRows) * group_bytes();
    void* p = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!p) throw std::bad_alloc();
    data_.reset(static_cast<uint8_t*>(p));
  }

  [[nodiscard]] GgmlType type() const noexcept { return type_; }
  [[nodiscard]] std::size_t rows() const noexcept { return rows_; }
  [[nodiscard]] std::size_t k() const noexcept { return k_; }
  /// Bytes of one group of eight rows.
  [[nodiscard]] std::size_t group_bytes() const noexcept {
    const PackedFormat f = packed_format(type_);
    return k_ / f.block_values * f.block_bytes;
  }
  [[nodiscard]] std::size_t nbytes() const noexcept { return rows_ / kPackRows * group_bytes(); }
  [[nodiscard]] PackedLayout layout() const noexcept {
    return {rows_ / kPackRows, packed_format(type_).block_bytes, group_bytes()};
  }
  [[nodiscard]] const uint8_t* data() const noexcept { return data_.get(); }
  [[nodiscard]] uint8_t* data() noexcept { return data_.get(); }

 private:
  struct Free {
    void operator()(uint8_t* p) const noexcept { std::free(p); }
  };
  GgmlType type_{};
  std::size_t rows_ = 0, k_ = 0;
  std::unique_ptr<uint8_t[], Free> data_;
};

namespace pack_detail {

// Levels of one 32-value chunk of eight rows (lv[r][i], value i of row r) into the nibble layout.
inline void put_nibbles(const uint8_t (*lv)[32], uint8_t* dst) {
  for (int m = 0; m < 4; ++m)
    for (int r = 0; r < 8; ++r)
      for (int j = 0; j < 4; ++j)
        dst[32 * m + 4 * r + j] = static_cast<uint8_t>((lv[r][8 * m + j] & 0x0F) | (lv[r][8 * m + 4 + j] & 0x0F) << 4);
}
// Bytes of one 32-value chunk of eight rows into the byte-quad layout.
inline void put_bytes(const uint8_t (*lv)[32], uint8_t* dst) {
  for (int q = 0; q < 8; ++q)
    for (int r = 0; r < 8; ++r)
      for (int j = 0; j < 4; ++j) dst[32 * q + 4 * r + j] = lv[r][4 * q + j];
}
// Bits 4-5 of the 6-bit levels of one chunk into Q6_K's two high-bit registers.
inline void put_high_pairs(const uint8_t (*lv)[32], uint8_t* dst) {
  for (int h = 0; h < 2; ++h)
    for (int r = 0; r < 8; ++r)
      for (int j = 0; j < 4; ++j) {
        uint8_t b = 0;
        for (int i = 0; i < 4; ++i) b = static_cast<uint8_t>(b | ((lv[r][4 * (4 * h + i) + j] >> 4) & 3) << (2 * i));
        dst[32 * h + 4 * r + j] = b;
      }
}
inline void put_scale(uint8_t* dst, int r, f16 d) { std::memcpy(dst + 2 * r, &d, 2); }

inline void pack_block(GgmlType type, const uint8_t* const* rows, std::size_t b, uint8_t* out) {
  uint8_t lv[8][32];
  switch (type) {
    case GgmlType::Q4_0:
    case GgmlType::IQ4_NL: {  // same block shape: f16 d, 16 bytes of nibble pairs (value j | value j + 16)
      for (int r = 0; r < 8; ++r) {
        BlockQ4_0 blk;
        std::memcpy(&blk, rows[r] + b * sizeof blk, sizeof blk);
        put_scale(out, r, blk.d);
        for (int j = 0; j < 16; ++j) {
          lv[r][j] = blk.qs[j] & 0x0F;
          lv[r][j + 16] = blk.qs[j] >> 4;
        }
      }
      put_nibbles(lv, out + 16);
      break;
    }
    case GgmlType::Q8_0: {
      for (int r = 0; r < 8; ++r) {
        BlockQ8_0 blk;
        std::memcpy(&blk, rows[r] + b * sizeof blk, sizeof blk);
        put_scale(out, r, blk.d);
        std::memcpy(lv[r], blk.qs, 32);
      }
      put_bytes(lv, out + 16);
      break;
    }
    case GgmlType::Q4_K: {
      uint8_t* sc = out + 32;
      uint8_t* mn = out + 96;
      uint8_t* qs = out + 160;
      BlockQ4_K blk[8];
      for (int r = 0; r < 8; ++r) {
        std::memcpy(&blk[r], rows[r] + b * sizeof(BlockQ4_K), sizeof(BlockQ4_K));
        put_scale(out, r, blk[r].d);
        put_scale(out + 16, r, blk[r].dmin);
        for (int c = 0; c < 8; ++c) quant_detail::scale_min_k4(c, blk[r].scales, sc[8 * c + r], mn[8 * c + r]);
      }
      for (int c = 0; c < 8; ++c) {
        for (int r = 0; r < 8; ++r)
          for (int i = 0; i < 32; ++i) lv[r][i] = (blk[r].qs[32 * (c / 2) + i] >> (4 * (c % 2))) & 0x0F;
        put_nibbles(lv, qs + 128 * c);
      }
      break;
    }
    case GgmlType::Q6_K: {
      auto* sc = reinterpret_cast<int8_t*>(out + 16);
      uint8_t* qs = out + 144;
      BlockQ6_K blk[8];
      for (int r = 0; r < 8; ++r) {
        std::memcpy(&blk[r], rows[r] + b * sizeof(BlockQ6_K), sizeof(BlockQ6_K));
        put_scale(out, r, blk[r].d);
        for (int g = 0; g < 16; ++g) sc[8 * g + r] = blk[r].scales[g];
      }
      for (int c = 0; c < 8; ++c) {
        const int h = c / 4, qd = c % 4;  // half of the block, quarter of the half
        for (int r = 0; r < 8; ++r)
          for (int i = 0; i < 32; ++i) {
            const uint8_t lo = (blk[r].ql[64 * h + i + 32 * (qd & 1)] >> (4 * (qd >> 1))) & 0x0F;
            const uint8_t hi = (blk[r].qh[32 * h + i] >> (2 * qd)) & 3;
            lv[r][i] = static_cast<uint8_t>(lo | hi << 4);
          }
        put_nibbles(lv, qs + 192 * c);
        put_high_pairs(lv, qs + 192 * c + 128);
      }
      break;
    }
    default: break;
  }
}

}  // namespace pack_detail

/// Packs rows [8 g0, 8 g1) of a `type` matrix with rows `row_bytes` apart into `p` (whose type and
/// shape must match). Split across threads by group ranges for large matrices.
inline void pack_rows(PackedMatrix& p, const void* w, std::size_t row_bytes, std::size_t g0, std::size_t g1) {
  const PackedFormat f = packed_format(p.type());
  const std::size_t nb = p.k() / f.block_values;
  const auto* base = static_cast<const uint8_t*>(w);
  const PackedLayout l = p.layout();
  for (std::size_t g = g0; g < g1; ++g) {
    const uint8_t* rows[8];
    for (std::size_t r = 0; r < 8; ++r) rows[r] = base + (g * 8 + r) * row_bytes;
    uint8_t* out = p.data() + l.offset(g);
    for (std::size_t b = 0; b < nb; ++b) pack_detail::pack_block(p.type(), rows, b, out + b * l.step(g));
  }
}

/// Packs a whole matrix, on up to `threads` threads (0 = the hardware's count; small matrices use one).
/// @throws ShapeError if it cannot be packed.
[[nodiscard]] inline PackedMatrix pack_matrix(GgmlType type, const void* w, std::size_t row_bytes, std::size_t rows,
                                              std::size_t k, std::size_t threads = 0) {
  PackedMatrix p(type, rows, k);
  const std::size_t groups = rows / kPackRows;
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  threads = std::min(threads, std::max<std::size_t>(1, p.nbytes() >> 20));  // at least 1 MiB per thread
  std::vector<std::thread> pool;
  std::size_t started = 1;  // if the system refuses a thread, the caller packs that thread's share too
  try {
    for (; started < threads; ++started)
      pool.emplace_back([&, i = started] { pack_rows(p, w, row_bytes, groups * i / threads, groups * (i + 1) / threads); });
  } catch (const std::system_error&) {
  }
  pack_rows(p, w, row_bytes, 0, groups / threads);
  if (started < threads) pack_rows(p, w, row_bytes, groups * started / threads, groups);
  for (auto& t : pool) t.join();
  return p;
}

/// `y[t * y_stride + r] = dot(row r, activation row t)` for `t < n` and rows `8 g0 <= r < 8 g1` of a
/// packed matrix; `act` quantized as `activation_type(p.type())`. Same results as `matmul_quant` on
/// the unpacked rows up to float summation order.
void matmul_packed(const PackedMatrix& p, const QuantActView& act, std::size_t n, float* y, std::size_t y_stride,
                   std::size_t g0, std::size_t g1);

/// True when the selected SIMD target has kernels for packed matrices that beat the row kernels
/// (x86 with AVX2 or better); elsewhere the portable packed kernels exist but are slower.
[[nodiscard]] bool packed_kernels_preferred();

}  // namespace llmforge::kernels
