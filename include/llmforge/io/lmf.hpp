// SPDX-License-Identifier: MIT
// The native `.lmf` model format (docs/lmf.md): a checksummed header (GGUF-encoded metadata and a
// tensor table), then aligned tensor data with a CRC32 per tensor. Reader, verifier and writer.
#pragma once

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <llmforge/core/checked.hpp>
#include <llmforge/core/error.hpp>
#include <llmforge/io/atomic_file.hpp>
#include <llmforge/core/ggml_type.hpp>
#include <llmforge/io/gguf_reader.hpp>
#include <llmforge/io/gguf_writer.hpp>
#include <llmforge/io/mapped_file.hpp>
#include <llmforge/io/metadata.hpp>

namespace llmforge::io {

/// First four bytes of an `.lmf` file.
inline constexpr char kLmfMagic[4] = {'L', 'M', 'F', '\x1a'};
/// The format version this build writes and reads.
inline constexpr uint32_t kLmfVersion = 1;

namespace detail {
// Tables for CRC-32 eight bytes at a time ("slicing by 8"): t[0] is the classic byte table, t[k][i]
// the CRC of byte i followed by k zero bytes.
inline const std::array<std::array<uint32_t, 256>, 8>& crc32_tables() {
  static const auto t = [] {
    std::array<std::array<uint32_t, 256>, 8> r{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      r[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; ++i)
      for (std::size_t k = 1; k < 8; ++k) r[k][i] = (r[k - 1][i] >> 8) ^ r[0][r[k - 1][i] & 0xFF];
    return r;
  }();
  return t;
}
}  // namespace detail

/// CRC-32 (IEEE 802.3, the one zlib and PNG use) of `n` bytes, continuing from `crc` (0 to start).
[[nodiscard]] inline uint32_t crc32(const void* data, std::size_t n, uint32_t crc = 0) noexcept {
  const auto& t = detail::crc32_tables();
  const auto* p = static_cast<const unsigned char*>(data);
  crc = ~crc;
  for (; n >= 8; n -= 8, p += 8) {
    uint32_t lo, hi;
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, p + 4, 4);
    lo ^= crc;  // little-endian: the first byte is the lowest
    crc = t[7][lo & 0xFF] ^ t[6][(lo >> 8) & 0xFF] ^ t[5][(lo >> 16) & 0xFF] ^ t[4][lo >> 24] ^ t[3][hi & 0xFF] ^
          t[2][(hi >> 8) & 0xFF] ^ t[1][(hi >> 16) & 0xFF] ^ t[0][hi >> 24];
  }
  for (; n > 0; --n, ++p) crc = t[0][(crc ^ *p) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

/// One row of an `.lmf` tensor table (beyond what GgufTensorInfo holds).
struct LmfTensor {
  std::string name;
  uint32_t crc = 0;
};

namespace detail {
struct LmfParsed {
  std::shared_ptr<MappedFile> file;
  Metadata metadata;
  std::vector<GgufTensorInfo> tensors;
  std::vector<uint32_t> crcs;
  uint32_t alignment = 64;
};

inline LmfParsed parse_lmf(const std::filesystem::path& path) {
  LmfParsed r;
  r.file = MappedFile::open(path);
  const std::string& name = r.file->path();
  auto* base = r.file->data();
  const uint64_t size = r.file->size();
  uint64_t pos = 0;
  auto fail = [&](const std::string& what) -> void {
    char off[32];
    std::snprintf(off, sizeof off, "0x%llx", static_cast<unsigned long long>(pos));
    throw FormatError(name + ": invalid .lmf file: " + what + " (offset " + off + ")");
  };
  auto need = [&](uint64_t n, const char* what) {
    if (n > size - pos) fail(std::string("truncated: ") + what + " needs " + std::to_string(n) + " bytes, " + std::to_string(size - pos) + " remain");
  };
  auto u32 = [&](const char* what) { need(4, what); uint32_t v; std::memcpy(&v, base + pos, 4); pos += 4; return v; };
  auto u64 = [&](const char* what) { need(8, what); uint64_t v; std::memcpy(&v, base + pos, 8); pos += 8; return v; };

  need(4, "magic");
  if (std::memcmp(base, kLmfMagic, 4) != 0) fail("bad magic, expected \"LMF\\x1a\"");
  pos = 4;
  const uint32_t version = u32("version");
  if (version != kLmfVersion)
    throw UnsupportedError(name + ": .lmf version " + std::to_string(version) + " is not supported (this build reads version " +
                           std::to_string(kLmfVersion) + ")");
  r.alignment = u32("alignment");
  if (r.alignment < 8 || r.alignment > (1u << 20) || (r.alignment & (r.alignment - 1)) != 0)
    fail("alignment " + std::to_string(r.alignment) + " is not a power of two between 8 and 1 MiB");
  (void)u32("flags");
  const uint64_t meta_size = u64("metadata size");
  need(meta_size, "metadata");
  const uint64_t meta_at = pos;
  pos += meta_size;
  const uint64_t n_tensors = u64("tensor count");
  if (n_tensors > size / 40) fail("tensor count " + std::to_string(n_tensors) + " is larger than the file can hold");
  struct Row { std::string name; uint32_t type; Shape shape; uint64_t offset, bytes; uint32_t crc; };
  std::vector<Row> rows;
  rows.reserve(static_cast<std::size_t>(n_tensors));
  for (uint64_t i = 0; i < n_tensors; ++i) {
    Row t;
    const uint64_t len = u64("tensor name length");
    need(len, "tensor name");
    t.name.assign(reinterpret_cast<const char*>(base + pos), static_cast<std::size_t>(len));
    pos += len;
    t.type = u32("tensor type");
    const uint32_t n_dims = u32("tensor dimension count");
    if (n_dims == 0 || n_dims > 4) fail("tensor '" + t.name + "' has " + std::to_string(n_dims) + " dimensions, expected 1 to 4");
    uint64_t count = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t v = u64("tensor dimension");
      auto m = checked_mul(count, v);
      if (v == 0 || v > (uint64_t{1} << 40) || !m) fail("tensor '" + t.name + "' has an impossible dimension " + std::to_string(v));
      count = *m;
      t.shape.push_back(static_cast<std::size_t>(v));
    }
    t.offset = u64("tensor data offset");
    t.bytes = u64("tensor byte size");
    t.crc = u32("tensor checksum");
    (void)u32("tensor layout");
    rows.push_back(std::move(t));
  }
  const uint64_t header_end = pos;
  const uint32_t stored_crc = u32("header checksum");
  const uint32_t actual_crc = crc32(base, static_cast<std::size_t>(header_end));
  if (stored_crc != actual_crc) {
    pos = header_end;
    fail("header checksum mismatch (stored " + std::to_string(stored_crc) + ", computed " + std::to_string(actual_crc) +
         "): the header is corrupt");
  }
  r.metadata = GgufFile::parse_metadata(std::span<const std::byte>(base + meta_at, static_cast<std::size_t>(meta_size)), name);
  const uint64_t data_start = (pos + r.alignment - 1) / r.alignment * r.alignment;
  for (auto& t : rows) {
    const auto info = ggml_type_info(t.type);
    if (!info) fail("tensor '" + t.name + "' has unknown type code " + std::to_string(t.type));
    if (t.shape.back() % info->block_size != 0 || numel(t.shape) / info->block_size * info->bytes_per_block != t.bytes)
      fail("tensor '" + t.name + "' has " + std::to_string(t.bytes) + " bytes, which do not match shape " + to_string(t.shape) + " of " +
           std::string(info->name));
    if (t.offset % r.alignment != 0) fail("tensor '" + t.name + "' data offset is not aligned");
    auto abs = checked_add(data_start, t.offset);
    auto end = abs ? checked_add(*abs, t.bytes) : std::nullopt;
    if (!end || *end > size) fail("tensor '" + t.name + "' data extends past the end of the file (truncated?)");
    GgufTensorInfo g;
    g.name = t.name;
    g.shape = t.shape;
    g.type = t.type;
    g.offset = *abs;
    g.size = t.bytes;
    g.ptr = base + *abs;
    g.owner = r.file;
    r.tensors.push_back(std::move(g));
    r.crcs.push_back(t.crc);
  }
  std::vector<const GgufTensorInfo*> order;
  for (const auto& t : r.tensors) order.push_back(&t);
  std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->offset < b->offset; });
  for (std::size_t i = 1; i < order.size(); ++i)
    if (order[i]->offset < order[i - 1]->offset + order[i - 1]->size)
      fail("tensors '" + order[i - 1]->name + "' and '" + order[i]->name + "' overlap");
  return r;
}
}  // namespace detail

/// Opens an `.lmf` file: validates the header (magic, version, bounds of every field, the header
/// CRC32, sizes, alignment, overlaps) but not the tensor data (see verify_lmf).
/// @throws IoError; FormatError naming the file, offset and field; UnsupportedError for a newer version.
[[nodiscard]] inline GgufFile open_lmf(const std::filesystem::path& path) {
  auto p = detail::parse_lmf(path);
  return GgufFile::assemble(p.file->path(), "lmf", std::move(p.metadata), std::move(p.tensors));
}

/// Result of verify_lmf: the tensors checked and the first whose data does not match its CRC32.
struct LmfVerifyResult {
  std::size_t tensors = 0;
  uint64_t bytes = 0;
  std::optional<std::string> first_bad;  ///< name of the first corrupt tensor, if any
  std::size_t bad = 0;
};

/// Checks the header (as open_lmf) and every tensor's CRC32.
/// @throws as open_lmf for a corrupt header.
[[nodiscard]] inline LmfVerifyResult verify_lmf(const std::filesystem::path& path,
                                                const std::function<void(std::size_t, std::size_t, const std::string&)>& progress = {}) {
  const auto p = detail::parse_lmf(path);
  LmfVerifyResult r;
  for (std::size_t i = 0; i < p.tensors.size(); ++i) {
    const auto& t = p.tensors[i];
    if (crc32(t.ptr, static_cast<std::size_t>(t.size)) != p.crcs[i]) {
      if (!r.first_bad) r.first_bad = t.name;
      ++r.bad;
    }
    ++r.tensors;
    r.bytes += t.size;
    if (progress) progress(i + 1, p.tensors.size(), t.name);
  }
  return r;
}

/// Collects metadata and tensors, then writes an `.lmf` file (to a temporary file renamed at the end).
class LmfWriter {
 public:
  using Producer = GgufWriter::Producer;
  using Progress = GgufWriter::Progress;

  explicit LmfWriter(uint32_t alignment = 64) : alignment_(alignment) {
    if (alignment < 8 || (alignment & (alignment - 1)) != 0) throw ConfigError(".lmf alignment must be a power of two >= 8");
  }
  void set(std::string key, Value v) { metadata_.set(std::move(key), std::move(v)); }
  void set_all(const Metadata& m) {
    for (const auto& [k, v] : m.entries())
      if (k != "general.alignment") metadata_.set(k, v);
  }
  /// Adds a tensor; `shape` row-major. @throws ShapeError / ConfigError as GgufWriter::add_tensor.
  void add_tensor(std::string name, const Shape& shape, GgmlType type, Producer producer) {
    const auto info = ggml_type_info(type);
    if (info.bytes_per_block == 0) throw ConfigError("tensor '" + name + "': unknown type code");
    if (shape.empty() || shape.size() > 4) throw ShapeError("tensor '" + name + "' must have 1 to 4 dimensions");
    for (const auto& t : tensors_)
      if (t.name == name) throw ConfigError("tensor '" + name + "' was added twice");
    if (shape.back() % info.block_size != 0)
      throw ShapeError("tensor '" + name + "': rows of " + std::to_string(shape.back()) + " values cannot be stored as " + std::string(info.name));
    tensors_.push_back({std::move(name), shape, type, numel(shape) / info.block_size * info.bytes_per_block, std::move(producer), nullptr});
  }
  void add_tensor(std::string name, const Shape& shape, GgmlType type, const void* data) {
    add_tensor(std::move(name), shape, type, Producer{});
    tensors_.back().data = data;
  }

  /// Writes the file; nothing is left at `path` unless all of it was written. @throws IoError.
  void write(const std::filesystem::path& path, const Progress& progress = {}) const {
    write_file_atomically(path, [&](std::FILE* f, const std::filesystem::path& tmp) { write_to(f, tmp, progress); });
  }

 private:
  struct Entry {
    std::string name;
    Shape shape;
    GgmlType type;
    uint64_t size;
    Producer producer;
    const void* data;
  };

  static void put(std::vector<std::byte>& out, const void* p, std::size_t n) {
    out.insert(out.end(), static_cast<const std::byte*>(p), static_cast<const std::byte*>(p) + n);
  }
  template <class T>
  static void put(std::vector<std::byte>& out, T v) {
    put(out, &v, sizeof v);
  }

  std::vector<std::byte> header(const std::vector<uint32_t>& crcs, const std::vector<uint64_t>& offsets) const {
    std::vector<std::byte> h;
    put(h, kLmfMagic, 4);
    put<uint32_t>(h, kLmfVersion);
    put<uint32_t>(h, alignment_);
    put<uint32_t>(h, 0);
    const auto meta = GgufWriter::encode_metadata(metadata_);
    put<uint64_t>(h, meta.size());
    put(h, meta.data(), meta.size());
    put<uint64_t>(h, tensors_.size());
    for (std::size_t i = 0; i < tensors_.size(); ++i) {
      const auto& t = tensors_[i];
      put<uint64_t>(h, t.name.size());
      put(h, t.name.data(), t.name.size());
      put<uint32_t>(h, static_cast<uint32_t>(t.type));
      put<uint32_t>(h, static_cast<uint32_t>(t.shape.size()));
      for (auto d : t.shape) put<uint64_t>(h, d);
      put<uint64_t>(h, offsets[i]);
      put<uint64_t>(h, t.size);
      put<uint32_t>(h, crcs[i]);
      put<uint32_t>(h, 0);  // layout: rows as stored in GGUF
    }
    put<uint32_t>(h, crc32(h.data(), h.size()));
    while (h.size() % alignment_ != 0) h.push_back(std::byte{0});
    return h;
  }

  void write_to(std::FILE* f, const std::filesystem::path& tmp, const Progress& progress) const {
    auto io_fail = [&] { throw IoError("cannot write " + tmp.string() + ": " + std::strerror(errno)); };
    std::vector<uint64_t> offsets;
    uint64_t off = 0;
    for (const auto& t : tensors_) {
      offsets.push_back(off);
      off += (t.size + alignment_ - 1) / alignment_ * alignment_;
    }
    std::vector<uint32_t> crcs(tensors_.size(), 0);
    auto h = header(crcs, offsets);  // placeholder of the final size; rewritten with the checksums
    if (std::fwrite(h.data(), 1, h.size(), f) != h.size()) io_fail();
    std::vector<std::byte> buf;
    static const std::byte zeros[64] = {};
    for (std::size_t i = 0; i < tensors_.size(); ++i) {
      const auto& t = tensors_[i];
      const void* src = t.data;
      if (!src) {
        buf.assign(t.size, std::byte{0});
        if (t.producer) t.producer(buf.data());
        src = buf.data();
      }
      crcs[i] = crc32(src, static_cast<std::size_t>(t.size));
      if (t.size && std::fwrite(src, 1, t.size, f) != t.size) io_fail();
      for (uint64_t pad = (alignment_ - t.size % alignment_) % alignment_; pad > 0;) {
        const std::size_t c = std::min<uint64_t>(pad, sizeof zeros);
        if (std::fwrite(zeros, 1, c, f) != c) io_fail();
        pad -= c;
      }
      if (progress) progress(i + 1, tensors_.size(), t.name);
    }
    h = header(crcs, offsets);
    if (std::fseek(f, 0, SEEK_SET) != 0 || std::fwrite(h.data(), 1, h.size(), f) != h.size()) io_fail();
    if (std::fflush(f) != 0) io_fail();
  }

  uint32_t alignment_;
  Metadata metadata_;
  std::vector<Entry> tensors_;
};

}  // namespace llmforge::io
