// SPDX-License-Identifier: MIT
// Writes GGUF v3 files: metadata of every value type, tensor infos, aligned tensor data. Output goes
// to a temporary file in the same folder that is renamed over the target only when complete.
#pragma once

#include <cstdint>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

#include <llmforge/core/error.hpp>
#include <llmforge/io/atomic_file.hpp>
#include <llmforge/core/ggml_type.hpp>
#include <llmforge/io/metadata.hpp>
#include <llmforge/tensor/shape.hpp>

namespace llmforge::io {

/// Collects metadata and tensors, then writes a GGUF v3 file with `write()`.
/// Tensor data is produced on demand by a callback, one tensor at a time, so a model can be
/// converted without holding all of it in memory.
class GgufWriter {
 public:
  /// Fills `dst` (exactly the tensor's byte size) with the tensor's data.
  using Producer = std::function<void(std::byte* dst)>;
  /// Called after each tensor is written: (tensors done, tensors total, name of the last one).
  using Progress = std::function<void(std::size_t, std::size_t, const std::string&)>;

  /// @param alignment data alignment in bytes (power of two); stored as `general.alignment` if not 32.
  /// @throws ConfigError if `alignment` is not a power of two.
  explicit GgufWriter(uint32_t alignment = 32) : alignment_(alignment) {
    if (alignment == 0 || (alignment & (alignment - 1)) != 0)
      throw ConfigError("GGUF alignment must be a power of two, got " + std::to_string(alignment));
  }

  /// Adds or replaces a metadata key (`general.alignment` is managed by the writer).
  void set(std::string key, Value v) { metadata_.set(std::move(key), std::move(v)); }
  /// Copies every key of `m` except `general.alignment`.
  void set_all(const Metadata& m) {
    for (const auto& [k, v] : m.entries())
      if (k != "general.alignment") metadata_.set(k, v);
  }
  [[nodiscard]] const Metadata& metadata() const noexcept { return metadata_; }

  /// `m` encoded as the header of a GGUF v3 file without tensors (what `.lmf` files embed).
  /// @throws ConfigError for a heterogeneous array.
  [[nodiscard]] static std::vector<std::byte> encode_metadata(const Metadata& m) {
    std::vector<std::byte> out;
    const std::filesystem::path none;
    Out o{nullptr, none, 0, &out};
    o.pod<uint32_t>(0x46554747);
    o.pod<uint32_t>(3);
    o.pod<uint64_t>(0);
    o.pod<uint64_t>(m.size());
    for (const auto& [k, v] : m.entries()) {
      o.str(k);
      o.pod<uint32_t>(static_cast<uint32_t>(value_type(v)));
      write_value(o, v);
    }
    return out;
  }

  /// Adds a tensor. `shape` is row-major (outermost first), as GgufTensorInfo::shape.
  /// @throws ShapeError if the innermost dimension is not a multiple of the type's block size;
  ///         ConfigError for a duplicate name or an unknown type.
  void add_tensor(std::string name, const Shape& shape, GgmlType type, Producer producer) {
    const auto info = ggml_type_info(type);
    if (info.bytes_per_block == 0) throw ConfigError("tensor '" + name + "': unknown type code");
    if (shape.empty() || shape.size() > 4) throw ShapeError("tensor '" + name + "' must have 1 to 4 dimensions");
    for (const auto& t : tensors_)
      if (t.name == name) throw ConfigError("tensor '" + name + "' was added twice");
    if (shape.back() % info.block_size != 0)
      throw ShapeError("tensor '" + name + "': rows of " + std::to_string(shape.back()) + " values cannot be stored as " +
                       std::string(info.name) + " (blocks of " + std::to_string(info.block_size) + ")");
    uint64_t n = 1;
    for (auto d : shape) n *= d;
    tensors_.push_back({std::move(name), shape, type, n / info.block_size * info.bytes_per_block, std::move(producer)});
  }
  /// Adds a tensor whose bytes already exist (copied when written; must stay valid until then).
  void add_tensor(std::string name, const Shape& shape, GgmlType type, const void* data) {
    add_tensor(std::move(name), shape, type, Producer{});
    tensors_.back().data = data;
  }

  /// Writes the file. Nothing is left at `path` unless the whole file was written; a previous file
  /// at `path` is replaced atomically.
  /// @throws IoError if the file cannot be created or written (the temporary file is removed).
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
    const void* data = nullptr;
  };

  struct Out {
    std::FILE* f;
    const std::filesystem::path& path;
    uint64_t pos = 0;
    std::vector<std::byte>* mem = nullptr;  ///< collects the bytes instead of `f` when set
    void bytes(const void* p, std::size_t n) {
      if (mem) {
        mem->insert(mem->end(), static_cast<const std::byte*>(p), static_cast<const std::byte*>(p) + n);
      } else if (n && std::fwrite(p, 1, n, f) != n) {
        throw IoError("cannot write " + path.string() + ": " + std::strerror(errno));
      }
      pos += n;
    }
    template <class T>
    void pod(T v) {
      bytes(&v, sizeof v);
    }
    void str(const std::string& s) {
      pod<uint64_t>(s.size());
      bytes(s.data(), s.size());
    }
    void pad(uint64_t alignment) {
      static const char zeros[256] = {};
      uint64_t n = (alignment - pos % alignment) % alignment;
      while (n) {
        const std::size_t c = n < sizeof zeros ? static_cast<std::size_t>(n) : sizeof zeros;
        bytes(zeros, c);
        n -= c;
      }
    }
  };

  static void write_value(Out& o, const Value& v) {
    std::visit(
        [&](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, std::string>) {
            o.str(x);
          } else if constexpr (std::is_same_v<T, bool>) {
            o.pod<uint8_t>(x ? 1 : 0);
          } else if constexpr (std::is_same_v<T, std::shared_ptr<const ArrayValue>>) {
            o.pod<uint32_t>(static_cast<uint32_t>(x->element_type));
            o.pod<uint64_t>(x->items.size());
            for (const auto& item : x->items) {
              if (value_type(item) != x->element_type)
                throw ConfigError("GGUF arrays must be homogeneous: found " + std::string(value_type_name(value_type(item))) +
                                  " in an array of " + std::string(value_type_name(x->element_type)));
              write_value(o, item);
            }
          } else {
            o.pod<T>(x);
          }
        },
        v);
  }

  void write_to(std::FILE* f, const std::filesystem::path& tmp, const Progress& progress) const {
    Out o{f, tmp};
    Metadata md = metadata_;
    if (alignment_ != 32) md.set("general.alignment", Value(uint32_t{alignment_}));
    o.pod<uint32_t>(0x46554747);  // "GGUF"
    o.pod<uint32_t>(3);
    o.pod<uint64_t>(tensors_.size());
    o.pod<uint64_t>(md.size());
    for (const auto& [k, v] : md.entries()) {
      o.str(k);
      o.pod<uint32_t>(static_cast<uint32_t>(value_type(v)));
      write_value(o, v);
    }
    uint64_t offset = 0;
    for (const auto& t : tensors_) {
      o.str(t.name);
      o.pod<uint32_t>(static_cast<uint32_t>(t.shape.size()));
      for (std::size_t d = t.shape.size(); d-- > 0;) o.pod<uint64_t>(t.shape[d]);  // GGUF stores ne innermost first
      o.pod<uint32_t>(static_cast<uint32_t>(t.type));
      o.pod<uint64_t>(offset);
      offset += (t.size + alignment_ - 1) / alignment_ * alignment_;
    }
    o.pad(alignment_);
    std::vector<std::byte> buf;
    for (std::size_t i = 0; i < tensors_.size(); ++i) {
      const auto& t = tensors_[i];
      if (t.data) {
        o.bytes(t.data, t.size);
      } else {
        buf.assign(t.size, std::byte{0});
        if (t.producer) t.producer(buf.data());
        o.bytes(buf.data(), buf.size());
      }
      o.pad(alignment_);
      if (progress) progress(i + 1, tensors_.size(), t.name);
    }
  }

  uint32_t alignment_;
  Metadata metadata_;
  std::vector<Entry> tensors_;
};

}  // namespace llmforge::io
