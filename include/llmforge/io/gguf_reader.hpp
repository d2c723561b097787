// SPDX-License-Identifier: MIT
// GGUF v1-v3 reader: validates the whole header, then exposes metadata and zero-copy tensor views.
#pragma once

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <llmforge/core/checked.hpp>
#include <llmforge/core/dtype.hpp>
#include <llmforge/core/error.hpp>
#include <llmforge/core/ggml_type.hpp>
#include <llmforge/io/mapped_file.hpp>
#include <llmforge/io/metadata.hpp>
#include <llmforge/tensor/tensor.hpp>

namespace llmforge::io {

/// Where one tensor lives in a GGUF file.
struct GgufTensorInfo {
  std::string name;
  Shape shape;              ///< row-major: outermost first (GGUF's ne reversed)
  uint32_t type = 0;        ///< raw GGUF type code (see GgmlType)
  uint64_t offset = 0;      ///< absolute byte offset of the data in the file
  uint64_t size = 0;        ///< bytes of data
  uint64_t info_offset = 0; ///< where the tensor's info record starts (for error messages)
  /// For tensors of an assembled file (GgufFile::assemble: SafeTensors shards, llama2.c, converted
  /// layouts): where the bytes are, and who keeps them alive. Null for tensors of a GGUF file, whose
  /// bytes are at `offset` in its mapping.
  std::byte* ptr = nullptr;
  std::shared_ptr<const void> owner;

  [[nodiscard]] GgmlType ggml_type() const noexcept { return static_cast<GgmlType>(type); }
  [[nodiscard]] std::string type_name() const { return ggml_type_name(type); }
  [[nodiscard]] uint64_t numel() const noexcept { return llmforge::numel(shape); }
};

/// A GGUF file, validated at open and memory-mapped. Tensor data is never copied: `tensor<D>()`
/// returns a view that keeps the mapping alive.
class GgufFile {
 public:
  static constexpr uint32_t kMagic = 0x46554747;  // "GGUF" little-endian
  static constexpr uint32_t kDefaultAlignment = 32;
  static constexpr uint32_t kMaxDims = 4;

  /// Opens and validates a GGUF file.
  /// @throws IoError if it cannot be read; FormatError naming the file, offset and field if any
  ///         part of the header is invalid (bad magic or version, counts or lengths past the end of
  ///         the file, unknown value or tensor types, overlapping or misaligned tensor data, ...).
  [[nodiscard]] static GgufFile open(const std::filesystem::path& path) {
    GgufFile g;
    g.file_ = MappedFile::open(path);
    g.path_ = g.file_->path();
    g.parse(g.file_->data(), g.file_->size());
    return g;
  }

  /// The metadata of a GGUF image held in memory (`source` names it in errors); its tensor infos are
  /// validated as in open() but there is no data. Used by formats that embed a GGUF header (`.lmf`).
  /// @throws FormatError as open().
  [[nodiscard]] static Metadata parse_metadata(std::span<const std::byte> bytes, std::string source) {
    GgufFile g;
    g.path_ = std::move(source);
    g.parse(bytes.data(), bytes.size());
    return std::move(g.metadata_);
  }

  /// A file assembled in memory from another format (a Hugging Face folder, a llama2.c checkpoint, a
  /// `.lmf` file): GGUF metadata keys and tensor names and layouts, every tensor's bytes given by its
  /// `ptr` (kept alive by its `owner`; mapped files stay zero-copy). `format` names the source format
  /// ("safetensors", "llama2.c", "lmf"). @throws FormatError for a duplicate name, a tensor without
  /// data, or a size that does not match its shape and type.
  [[nodiscard]] static GgufFile assemble(std::string path, std::string format, Metadata metadata,
                                         std::vector<GgufTensorInfo> tensors) {
    GgufFile g;
    g.path_ = std::move(path);
    g.format_ = std::move(format);
    g.version_ = 3;
    g.metadata_ = std::move(metadata);
    for (auto& t : tensors) {
      const auto info = ggml_type_info(t.type);
      if (!info) throw FormatError(g.path_ + ": tensor '" + t.name + "' has unknown type code " + std::to_string(t.type));
      if (!t.ptr && t.size > 0) throw FormatError(g.path_ + ": tensor '" + t.name + "' has no data");
      if (t.shape.empty() || t.shape.back() % info->block_size != 0 ||
          numel(t.shape) / info->block_size * info->bytes_per_block != t.size)
        throw FormatError(g.path_ + ": tensor '" + t.name + "' holds " + std::to_string(t.size) + " bytes, which do not fit shape " +
                          to_string(t.shape) + " of type " + std::string(info->name));
      if (!g.by_name_.emplace(t.name, g.tensors_.size()).second)
        throw FormatError(g.path_ + ": tensor '" + t.name + "' appears twice");
      g.tensors_.push_back(std::move(t));
    }
    return g;
  }

  /// "gguf" for a GGUF file, otherwise the format an assembled file came from.
  [[nodiscard]] const std::string& format() const noexcept { return format_; }

  [[nodiscard]] uint32_t version() const noexcept { return version_; }
  [[nodiscard]] uint32_t alignment() const noexcept { return alignment_; }
  [[nodiscard]] const Metadata& metadata() const noexcept { return metadata_; }
  [[nodiscard]] const std::vector<GgufTensorInfo>& tensors() const noexcept { return tensors_; }
  [[nodiscard]] uint64_t data_offset() const noexcept { return data_offset_; }
  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  /// The mapping of a GGUF file (null for an assembled file).
  [[nodiscard]] const std::shared_ptr<MappedFile>& file() const noexcept { return file_; }

  /// The tensor called `name`, or null.
  [[nodiscard]] const GgufTensorInfo* find_tensor(std::string_view name) const {
    auto it = by_name_.find(std::string(name));
    return it == by_name_.end() ? nullptr : &tensors_[it->second];
  }

  /// The tensor called `name`. @throws FormatError if the file has no such tensor.
  [[nodiscard]] const GgufTensorInfo& require_tensor(std::string_view name) const {
    if (auto t = find_tensor(name)) return *t;
    throw FormatError(path() + ": tensor '" + std::string(name) + "' is missing");
  }

  /// Pointer to a tensor's bytes inside the mapping.
  [[nodiscard]] std::byte* data(const GgufTensorInfo& t) const noexcept { return t.ptr ? t.ptr : file_->data() + t.offset; }

  /// A zero-copy typed view of a tensor. @throws FormatError if the stored type is not `D`.
  template <DType D>
  [[nodiscard]] Tensor<D, Cpu> tensor(const GgufTensorInfo& t) const {
    if (t.type != static_cast<uint32_t>(D::kGgmlType))
      throw FormatError(path() + ": tensor '" + t.name + "' has type " + t.type_name() + ", expected " +
                        std::string(D::kName));
    std::shared_ptr<const void> owner = t.ptr ? t.owner : std::shared_ptr<const void>(file_);
    return Tensor<D, Cpu>(kAdopt, std::move(owner), reinterpret_cast<typename D::storage_type*>(data(t)), t.shape);
  }
  template <DType D>
  [[nodiscard]] Tensor<D, Cpu> tensor(std::string_view name) const {
    return tensor<D>(require_tensor(name));
  }

 private:
  GgufFile() = default;

  // --- a bounds-checked cursor over the mapped bytes ---
  struct Cursor {
    const std::byte* base;
    uint64_t size;
    uint64_t pos = 0;
    const std::string* path;

    [[noreturn]] void fail(const std::string& what, uint64_t at) const {
      char buf[32];
      std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(at));
      throw FormatError(*path + ": " + what + " (offset " + buf + ")");
    }
    void need(uint64_t n, const char* field) const {
      if (n > size - pos)
        fail(std::string("truncated file: ") + field + " needs " + std::to_string(n) + " bytes but only " +
                 std::to_string(size - pos) + " remain",
             pos);
    }
    template <class T>
    T read(const char* field) {
      need(sizeof(T), field);
      T v;
      std::memcpy(&v, base + pos, sizeof(T));
      pos += sizeof(T);
      return v;
    }
  };

  uint64_t read_count(Cursor& c, const char* field) const {
    return version_ == 1 ? c.read<uint32_t>(field) : c.read<uint64_t>(field);
  }

  std::string read_string(Cursor& c, const char* field) const {
    const uint64_t at = c.pos;
    const uint64_t len = read_count(c, field);
    if (len > c.size - c.pos)
      c.fail(std::string(field) + " has length " + std::to_string(len) + ", past the end of the file", at);
    std::string s(reinterpret_cast<const char*>(c.base + c.pos), static_cast<std::size_t>(len));
    c.pos += len;
    return s;
  }

  Value read_value(Cursor& c, uint32_t type, const std::string& key, int depth) const {
    switch (static_cast<ValueType>(type)) {
      case ValueType::U8: return c.read<uint8_t>("u8 value");
      case ValueType::I8: return c.read<int8_t>("i8 value");
      case ValueType::U16: return c.read<uint16_t>("u16 value");
      case ValueType::I16: return c.read<int16_t>("i16 value");
      case ValueType::U32: return c.read<uint32_t>("u32 value");
      case ValueType::I32: return c.read<int32_t>("i32 value");
      case ValueType::F32: return c.read<float>("f32 value");
      case ValueType::Bool: {
        const uint64_t at = c.pos;
        const uint8_t b = c.read<uint8_t>("bool value");
        if (b > 1) c.fail("metadata key '" + key + "' has bool value " + std::to_string(b) + ", expected 0 or 1", at);
        return b != 0;
      }
      case ValueType::String: return read_string(c, "string value");
      case ValueType::U64: return c.read<uint64_t>("u64 value");
      case ValueType::I64: return c.read<int64_t>("i64 value");
      case ValueType::F64: return c.read<double>("f64 value");
      case ValueType::Array: {
        if (depth > 8) c.fail("metadata key '" + key + "' nests arrays deeper than 8 levels", c.pos);
        const uint64_t at = c.pos;
        const uint32_t elem = c.read<uint32_t>("array element type");
        if (elem > static_cast<uint32_t>(ValueType::F64))
          c.fail("metadata key '" + key + "' has an array of unknown value type " + std::to_string(elem), at);
        const uint64_t n = read_count(c, "array length");
        // Every element takes at least one byte (strings at least their length field), so a count
        // larger than the remaining bytes is corrupt; this also bounds the allocation below.
        const uint64_t min_elem = elem == static_cast<uint32_t>(ValueType::String) ? (version_ == 1 ? 4 : 8)
                                  : elem == static_cast<uint32_t>(ValueType::Array) ? 12
                                                                                    : fixed_size(elem);
        if (n > (c.size - c.pos) / min_elem)
          c.fail("metadata key '" + key + "' claims " + std::to_string(n) + " array elements, more than the file holds", at);
        auto arr = std::make_shared<ArrayValue>();
        arr->element_type = static_cast<ValueType>(elem);
        arr->items.reserve(static_cast<std::size_t>(n));
        for (uint64_t i = 0; i < n; ++i) arr->items.push_back(read_value(c, elem, key, depth + 1));
        return std::shared_ptr<const ArrayValue>(std::move(arr));
      }
    }
    c.fail("metadata key '" + key + "' has unknown value type " + std::to_string(type), c.pos - 4);
  }

  static uint64_t fixed_size(uint32_t t) {
    switch (static_cast<ValueType>(t)) {
      case ValueType::U8: case ValueType::I8: case ValueType::Bool: return 1;
      case ValueType::U16: case ValueType::I16: return 2;
      case ValueType::U32: case ValueType::I32: case ValueType::F32: return 4;
      default: return 8;
    }
  }

  void parse(const std::byte* base, uint64_t file_size) {
    Cursor c{base, file_size, 0, &path_};
    const uint32_t magic = c.read<uint32_t>("magic");
    if (magic != kMagic) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "0x%08x", magic);
      c.fail(std::string("not a GGUF file: magic is ") + buf + ", expected 0x46554747 (\"GGUF\")", 0);
    }
    version_ = c.read<uint32_t>("version");
    if (version_ == 0x01000000u || version_ == 0x02000000u || version_ == 0x03000000u)
      c.fail("big-endian GGUF files are not supported; convert the model on a little-endian machine", 4);
    if (version_ < 1 || version_ > 3)
      c.fail("unsupported GGUF version " + std::to_string(version_) + "; this build reads v1-v3", 4);

    const uint64_t n_tensors = read_count(c, "tensor count");
    const uint64_t n_kv = read_count(c, "metadata count");
    // Each KV pair needs at least a key length, a key byte and a type; each tensor info at least
    // name length, one dim, type and offset.
    if (n_kv > file_size / 13) c.fail("metadata count " + std::to_string(n_kv) + " is larger than the file can hold", 16);
    if (n_tensors > file_size / 24) c.fail("tensor count " + std::to_string(n_tensors) + " is larger than the file can hold", 8);

    metadata_ = Metadata(path_);
    for (uint64_t i = 0; i < n_kv; ++i) {
      const uint64_t at = c.pos;
      std::string key = read_string(c, "metadata key");
      if (metadata_.contains(key)) c.fail("metadata key '" + key + "' appears twice", at);
      const uint32_t type = c.read<uint32_t>("metadata value type");
      if (type > static_cast<uint32_t>(ValueType::F64))
        c.fail("metadata key '" + key + "' has unknown value type " + std::to_string(type), c.pos - 4);
      Value v = read_value(c, type, key, 0);
      metadata_.set(std::move(key), std::move(v));
    }

    alignment_ = kDefaultAlignment;
    if (const Value* a = metadata_.find("general.alignment")) {
      const auto* u = std::get_if<uint32_t>(a);
      if (!u || *u == 0 || (*u & (*u - 1)) != 0)
        throw FormatError(path() + ": general.alignment must be a u32 power of two, found " + to_display_string(*a));
      alignment_ = *u;
    }

    tensors_.reserve(static_cast<std::size_t>(n_tensors));
    std::vector<uint64_t> rel_offsets;
    rel_offsets.reserve(static_cast<std::size_t>(n_tensors));
    for (uint64_t i = 0; i < n_tensors; ++i) {
      GgufTensorInfo t;
      t.info_offset = c.pos;
      t.name = read_string(c, "tensor name");
      if (by_name_.count(t.name)) c.fail("tensor '" + t.name + "' appears twice", t.info_offset);
      const uint32_t n_dims = c.read<uint32_t>("tensor dimension count");
      if (n_dims == 0 || n_dims > kMaxDims)
        c.fail("tensor '" + t.name + "' has " + std::to_string(n_dims) + " dimensions, expected 1 to 4", c.pos - 4);
      uint64_t ne[kMaxDims] = {1, 1, 1, 1};
      uint64_t count = 1;
      for (uint32_t d = 0; d < n_dims; ++d) {
        ne[d] = version_ == 1 ? c.read<uint32_t>("tensor dimension") : c.read<uint64_t>("tensor dimension");
        auto m = checked_mul(count, ne[d]);
        if (!m || ne[d] > (uint64_t{1} << 40))
          c.fail("tensor '" + t.name + "' has an impossible dimension " + std::to_string(ne[d]), c.pos - 8);
        count = *m;
      }
      const uint64_t type_at = c.pos;
      t.type = c.read<uint32_t>("tensor type");
      const auto info = ggml_type_info(t.type);
      if (!info) c.fail("tensor '" + t.name + "' has unknown type code " + std::to_string(t.type), type_at);
      if (ne[0] % info->block_size != 0)
        c.fail("tensor '" + t.name + "' has " + std::to_string(ne[0]) + " columns, not a multiple of the " +
                   std::string(info->name) + " block size " + std::to_string(info->block_size),
               type_at);
      auto bytes = checked_mul(count / info->block_size, info->bytes_per_block);
      if (!bytes) c.fail("tensor '" + t.name + "' is too large", type_at);
      t.size = *bytes;
      const uint64_t rel = c.read<uint64_t>("tensor data offset");
      if (rel % alignment_ != 0)
        c.fail("tensor '" + t.name + "' data offset " + std::to_string(rel) + " is not a multiple of the alignment " +
                   std::to_string(alignment_),
               c.pos - 8);
      for (uint32_t d = n_dims; d-- > 0;) t.shape.push_back(static_cast<std::size_t>(ne[d]));
      rel_offsets.push_back(rel);
      by_name_.emplace(t.name, tensors_.size());
      tensors_.push_back(std::move(t));
    }

    auto start = checked_align_up(c.pos, alignment_);
    if (!start) c.fail("tensor data start overflows", c.pos);
    data_offset_ = *start;
    if (n_tensors > 0 && data_offset_ > file_size)
      c.fail("tensor data section starts past the end of the file", c.pos);
    for (std::size_t i = 0; i < tensors_.size(); ++i) {
      auto& t = tensors_[i];
      auto abs = checked_add(data_offset_, rel_offsets[i]);
      auto end = abs ? checked_add(*abs, t.size) : std::nullopt;
      if (!end || *end > file_size)
        c.fail("tensor '" + t.name + "' data [" + std::to_string(rel_offsets[i]) + ", +" + std::to_string(t.size) +
                   ") extends past the end of the file (truncated?)",
               t.info_offset);
      t.offset = *abs;
    }
  }

  std::shared_ptr<MappedFile> file_;
  std::string path_;
  std::string format_ = "gguf";
  uint32_t version_ = 0;
  uint32_t alignment_ = kDefaultAlignment;
  uint64_t data_offset_ = 0;
  Metadata metadata_;
  std::vector<GgufTensorInfo> tensors_;
  std::unordered_map<std::string, std::size_t> by_name_;
};

}  // namespace llmforge::io
