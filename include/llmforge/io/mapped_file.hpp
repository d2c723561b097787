// SPDX-License-Identifier: MIT
// Read-only view of a whole file through mmap (copy-on-write, so stray writes never reach the file).
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <memory>
#include <span>
#include <string>

#include <llmforge/core/error.hpp>

namespace llmforge::io {

/// A file mapped into memory in one piece. Share it through `std::shared_ptr<MappedFile>`: tensors
/// viewing its bytes hold such a pointer, so the mapping outlives every view.
class MappedFile {
 public:
  /// Maps `path` privately (pages are shared with the page cache until written to).
  /// @throws IoError if the file cannot be opened or mapped; FormatError if it is empty.
  static std::shared_ptr<MappedFile> open(const std::filesystem::path& path) {
    std::shared_ptr<MappedFile> f(new MappedFile());
    f->path_ = path.string();
    const int fd = ::open(f->path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw IoError(f->path_ + ": cannot open file (" + std::strerror(errno) + ")");
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      const int err = errno;
      ::close(fd);
      throw IoError(f->path_ + ": cannot stat file (" + std::strerror(err) + ")");
    }
    if (S_ISDIR(st.st_mode)) {
      ::close(fd);
      throw IoError(f->path_ + ": is a directory, expected a file");
    }
    f->size_ = static_cast<std::size_t>(st.st_size);
    if (f->size_ == 0) {
      ::close(fd);
      throw FormatError(f->path_ + ": file is empty");
    }
    void* p = ::mmap(nullptr, f->size_, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    const int err = errno;
    ::close(fd);
    if (p == MAP_FAILED) throw IoError(f->path_ + ": cannot map file (" + std::strerror(err) + ")");
    f->data_ = static_cast<std::byte*>(p);
    return f;
  }

  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile() {
    if (data_) ::munmap(data_, size_);
  }

  [[nodiscard]] std::byte* data() const noexcept { return data_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] std::span<const std::byte> bytes() const noexcept { return {data_, size_}; }
  [[nodiscard]] const std::string& path() const noexcept { return path_; }

 private:
  MappedFile() = default;
  std::string path_;
  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace llmforge::io
