// SPDX-License-Identifier: MIT
// SafeTensors reader: the JSON header validated in full, tensors as zero-copy views of the mapping,
// and sharded checkpoints through model.safetensors.index.json.
#pragma once

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <llmforge/core/checked.hpp>
#include <llmforge/core/error.hpp>
#include <llmforge/core/ggml_type.hpp>
#include <llmforge/io/mapped_file.hpp>
#include <llmforge/tensor/shape.hpp>

namespace llmforge::io {

/// Element types of the SafeTensors format.
enum class StDType { Bool, U8, I8, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64, F8_E4M3, F8_E5M2 };

namespace detail {
struct StDTypeInfo {
  StDType type;
  std::string_view name;
  std::size_t size;
};
inline constexpr StDTypeInfo kStDTypes[] = {
    {StDType::Bool, "BOOL", 1}, {StDType::U8, "U8", 1},     {StDType::I8, "I8", 1},
    {StDType::I16, "I16", 2},   {StDType::U16, "U16", 2},   {StDType::F16, "F16", 2},
    {StDType::BF16, "BF16", 2}, {StDType::I32, "I32", 4},   {StDType::U32, "U32", 4},
    {StDType::F32, "F32", 4},   {StDType::F64, "F64", 8},   {StDType::I64, "I64", 8},
    {StDType::U64, "U64", 8},   {StDType::F8_E4M3, "F8_E4M3", 1}, {StDType::F8_E5M2, "F8_E5M2", 1},
};
}  // namespace detail

[[nodiscard]] inline std::string_view st_dtype_name(StDType t) noexcept {
  for (const auto& d : detail::kStDTypes)
    if (d.type == t) return d.name;
  return "?";
}
[[nodiscard]] inline std::size_t st_dtype_size(StDType t) noexcept {
  for (const auto& d : detail::kStDTypes)
    if (d.type == t) return d.size;
  return 0;
}
/// The GGUF type holding the same elements, if there is one (F32, F16, BF16, I8, I16, I32, I64, F64).
[[nodiscard]] inline std::optional<GgmlType> st_to_ggml(StDType t) noexcept {
  switch (t) {
    case StDType::F32: return GgmlType::F32;
    case StDType::F16: return GgmlType::F16;
    case StDType::BF16: return GgmlType::BF16;
    case StDType::I8: return GgmlType::I8;
    case StDType::I16: return GgmlType::I16;
    case StDType::I32: return GgmlType::I32;
    case StDType::I64: return GgmlType::I64;
    case StDType::F64: return GgmlType::F64;
    default: return std::nullopt;
  }
}

/// One tensor of a SafeTensors file.
struct StTensor {
  std::string name;
  StDType dtype = StDType::F32;
  Shape shape;              ///< row-major, outermost first (as PyTorch)
  uint64_t offset = 0;      ///< absolute byte offset in the file
  uint64_t size = 0;        ///< bytes
};

/// A `.safetensors` file, validated at open and memory-mapped.
class SafeTensorsFile {
 public:
  static constexpr uint64_t kMaxHeader = 100u << 20;  ///< the format's own limit (100 MB)

  /// Opens and validates a file: the 8-byte header length and its bounds, the JSON (well-formed, an
  /// object, no duplicate names), every entry (known dtype, non-negative shape, `data_offsets` whose
  /// length equals shape x dtype size, inside the file), and the ranges (no overlaps).
  /// @throws IoError if the file cannot be read; FormatError naming the file and the problem.
  [[nodiscard]] static SafeTensorsFile open(const std::filesystem::path& path) {
    SafeTensorsFile f;
    f.file_ = MappedFile::open(path);
    f.parse();
    return f;
  }

  [[nodiscard]] const std::string& path() const noexcept { return file_->path(); }
  [[nodiscard]] const std::shared_ptr<MappedFile>& mapping() const noexcept { return file_; }
  [[nodiscard]] const std::vector<StTensor>& tensors() const noexcept { return tensors_; }
  /// The `__metadata__` string map (may be empty).
  [[nodiscard]] const std::map<std::string, std::string>& metadata() const noexcept { return metadata_; }
  [[nodiscard]] uint64_t header_size() const noexcept { return header_size_; }

  [[nodiscard]] const StTensor* find(std::string_view name) const {
    auto it = by_name_.find(std::string(name));
    return it == by_name_.end() ? nullptr : &tensors_[it->second];
  }
  [[nodiscard]] std::byte* data(const StTensor& t) const noexcept { return file_->data() + t.offset; }

 private:
  SafeTensorsFile() = default;

  [[noreturn]] void fail(const std::string& what) const { throw FormatError(path() + ": invalid SafeTensors file: " + what); }

  void parse() {
    const uint64_t size = file_->size();
    if (size < 8) fail("the file holds " + std::to_string(size) + " bytes, fewer than the 8-byte header length");
    uint64_t n = 0;
    std::memcpy(&n, file_->data(), 8);
    if (n < 2) fail("header length " + std::to_string(n) + " is too small for a JSON object");
    if (n > kMaxHeader) fail("header length " + std::to_string(n) + " exceeds the format's limit of 100 MB");
    if (n > size - 8)
      fail("header length " + std::to_string(n) + " runs past the end of the file (" + std::to_string(size) + " bytes)");
    header_size_ = 8 + n;
    const std::string_view text(reinterpret_cast<const char*>(file_->data()) + 8, static_cast<std::size_t>(n));
    if (text.front() != '{') fail("the header does not start with '{'");

    // Parse, refusing duplicate keys (nlohmann::json would keep the last one silently).
    std::vector<std::set<std::string>> open_objects;
    std::string duplicate;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(
          text,
          [&](int, nlohmann::json::parse_event_t ev, nlohmann::json& parsed) {
            using E = nlohmann::json::parse_event_t;
            if (ev == E::object_start) {
              open_objects.emplace_back();
            } else if (ev == E::object_end) {
              if (!open_objects.empty()) open_objects.pop_back();
            } else if (ev == E::key && !open_objects.empty()) {
              if (!open_objects.back().insert(parsed.get<std::string>()).second && duplicate.empty())
                duplicate = parsed.get<std::string>();
            }
            return true;
          },
          true);
    } catch (const nlohmann::json::exception& e) {
      fail(std::string("the header is not valid JSON (") + e.what() + ")");
    }
    if (!duplicate.empty()) fail("the header names '" + duplicate + "' twice");
    if (!j.is_object()) fail("the header is not a JSON object");

    const uint64_t data_start = header_size_, data_size = size - header_size_;
    for (auto it = j.begin(); it != j.end(); ++it) {
      const std::string& name = it.key();
      const auto& v = it.value();
      if (name == "__metadata__") {
        if (!v.is_object()) fail("__metadata__ is not an object");
        for (auto m = v.begin(); m != v.end(); ++m) {
          if (!m.value().is_string()) fail("__metadata__ value '" + m.key() + "' is not a string");
          metadata_[m.key()] = m.value().get<std::string>();
        }
        continue;
      }
      const std::string where = "tensor '" + name + "' ";
      if (!v.is_object()) fail(where + "is not described by an object");
      if (!v.contains("dtype") || !v["dtype"].is_string()) fail(where + "has no string 'dtype'");
      if (!v.contains("shape") || !v["shape"].is_array()) fail(where + "has no 'shape' array");
      if (!v.contains("data_offsets") || !v["data_offsets"].is_array() || v["data_offsets"].size() != 2)
        fail(where + "has no 'data_offsets' pair");
      StTensor t;
      t.name = name;
      const std::string dt = v["dtype"].get<std::string>();
      bool known = false;
      for (const auto& d : detail::kStDTypes)
        if (d.name == dt) { t.dtype = d.type; known = true; }
      if (!known) fail(where + "has unknown dtype '" + dt + "'");
      uint64_t count = 1;
      for (const auto& d : v["shape"]) {
        if (!d.is_number_unsigned()) fail(where + "has a shape entry that is not a non-negative integer: " + d.dump());
        auto m = checked_mul(count, d.get<uint64_t>());
        if (!m) fail(where + "has a shape whose element count overflows");
        count = *m;
        t.shape.push_back(static_cast<std::size_t>(d.get<uint64_t>()));
      }
      if (t.shape.size() > 8) fail(where + "has " + std::to_string(t.shape.size()) + " dimensions (at most 8 are supported)");
      for (const auto& o : v["data_offsets"])
        if (!o.is_number_unsigned()) fail(where + "has a data offset that is not a non-negative integer: " + o.dump());
      const uint64_t begin = v["data_offsets"][0].get<uint64_t>(), end = v["data_offsets"][1].get<uint64_t>();
      if (end < begin) fail(where + "has data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) + ") that end before they begin");
      auto bytes = checked_mul(count, static_cast<uint64_t>(st_dtype_size(t.dtype)));
      if (!bytes || *bytes != end - begin)
        fail(where + "has shape " + to_string(t.shape) + " of " + dt + " (" + (bytes ? std::to_string(*bytes) : std::string("too many")) +
             " bytes) but data_offsets span " + std::to_string(end - begin) + " bytes");
      if (end > data_size)
        fail(where + "data [" + std::to_string(begin) + ", " + std::to_string(end) + ") extends past the end of the data (" +
             std::to_string(data_size) + " bytes; truncated file?)");
      t.offset = data_start + begin;
      t.size = end - begin;
      by_name_.emplace(t.name, tensors_.size());
      tensors_.push_back(std::move(t));
    }
    // Ranges must not overlap (empty tensors take no bytes).
    std::vector<const StTensor*> order;
    for (const auto& t : tensors_)
      if (t.size > 0) order.push_back(&t);
    std::sort(order.begin(), order.end(), [](const StTensor* a, const StTensor* b) { return a->offset < b->offset; });
    for (std::size_t i = 1; i < order.size(); ++i)
      if (order[i]->offset < order[i - 1]->offset + order[i - 1]->size)
        fail("tensors '" + order[i - 1]->name + "' and '" + order[i]->name + "' overlap");
  }

  std::shared_ptr<MappedFile> file_;
  uint64_t header_size_ = 0;
  std::vector<StTensor> tensors_;
  std::unordered_map<std::string, std::size_t> by_name_;
  std::map<std::string, std::string> metadata_;
};

/// The SafeTensors files of a checkpoint: one `model.safetensors`, the shards a
/// `model.safetensors.index.json` lists, or every `*.safetensors` file of a folder.
class SafeTensorsCheckpoint {
 public:
  /// Opens `path`: a `.safetensors` file, an index file or a folder holding either.
  /// @throws IoError; FormatError naming the file and the problem (a shard the index names is missing,
  ///         a tensor the index places in a shard is not there, a name in two shards, ...).
  [[nodiscard]] static SafeTensorsCheckpoint open(const std::filesystem::path& path) {
    namespace fs = std::filesystem;
    SafeTensorsCheckpoint c;
    std::error_code ec;
    fs::path index;
    if (fs::is_directory(path, ec)) {
      if (fs::exists(path / "model.safetensors.index.json", ec)) {
        index = path / "model.safetensors.index.json";
      } else if (fs::exists(path / "model.safetensors", ec)) {
        c.add(SafeTensorsFile::open(path / "model.safetensors"));
      } else {
        std::vector<fs::path> files;
        for (const auto& e : fs::directory_iterator(path, ec))
          if (e.path().extension() == ".safetensors") files.push_back(e.path());
        std::sort(files.begin(), files.end());
        if (files.empty()) throw FormatError(path.string() + ": folder holds no .safetensors files");
        for (const auto& f : files) c.add(SafeTensorsFile::open(f));
      }
    } else if (path.string().ends_with(".index.json")) {
      index = path;
    } else {
      c.add(SafeTensorsFile::open(path));
    }
    if (!index.empty()) c.open_index(index);
    return c;
  }

  [[nodiscard]] const std::vector<SafeTensorsFile>& files() const noexcept { return files_; }
  /// The tensor called `name` and the file holding it, or nulls.
  [[nodiscard]] std::pair<const SafeTensorsFile*, const StTensor*> find(std::string_view name) const {
    auto it = where_.find(std::string(name));
    if (it == where_.end()) return {nullptr, nullptr};
    const auto& f = files_[it->second];
    return {&f, f.find(name)};
  }
  /// Every tensor name, in file order.
  [[nodiscard]] std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& f : files_)
      for (const auto& t : f.tensors()) out.push_back(t.name);
    return out;
  }

 private:
  void add(SafeTensorsFile f) {
    for (const auto& t : f.tensors()) {
      auto [it, fresh] = where_.emplace(t.name, files_.size());
      if (!fresh)
        throw FormatError(f.path() + ": tensor '" + t.name + "' is also in " + files_[it->second].path());
    }
    files_.push_back(std::move(f));
  }

  void open_index(const std::filesystem::path& index) {
    std::ifstream in(index, std::ios::binary);
    if (!in) throw IoError(index.string() + ": cannot open file");
    const std::string text((std::istreambuf_iterator<char>(in)), {});
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
      throw FormatError(index.string() + ": invalid SafeTensors index: not valid JSON (" + e.what() + ")");
    }
    if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
      throw FormatError(index.string() + ": invalid SafeTensors index: no \"weight_map\" object");
    std::map<std::string, std::vector<std::string>> by_shard;
    for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
      if (!it.value().is_string())
        throw FormatError(index.string() + ": invalid SafeTensors index: the shard of '" + it.key() + "' is not a file name");
      const std::string shard = it.value().get<std::string>();
      if (shard.empty() || shard.find('/') != std::string::npos || shard == "..")
        throw FormatError(index.string() + ": invalid SafeTensors index: shard name '" + shard + "' is not a plain file name");
      by_shard[shard].push_back(it.key());
    }
    if (by_shard.empty()) throw FormatError(index.string() + ": invalid SafeTensors index: \"weight_map\" is empty");
    for (const auto& [shard, names] : by_shard) {
      const auto p = index.parent_path() / shard;
      std::error_code ec;
      if (!std::filesystem::exists(p, ec))
        throw FormatError(index.string() + ": shard '" + shard + "' (holding '" + names.front() + "') is missing");
      add(SafeTensorsFile::open(p));
      for (const auto& n : names)
        if (!files_.back().find(n))
          throw FormatError(index.string() + ": tensor '" + n + "' is not in shard '" + shard + "' as the index says");
    }
  }

  std::vector<SafeTensorsFile> files_;
  std::unordered_map<std::string, std::size_t> where_;
};

}  // namespace llmforge::io
