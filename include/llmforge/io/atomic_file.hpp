// SPDX-License-Identifier: MIT
// Writing a file so that nothing is left at its path unless all of it was written: the data goes to a
// temporary file beside it, which is renamed into place (replacing an earlier file atomically).
#pragma once

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <string_view>

#include <llmforge/core/error.hpp>

namespace llmforge::io {

/// Calls `body(f, tmp)` with a temporary file `tmp` opened for binary writing, then flushes, closes
/// and renames it to `path`. If anything throws or fails, the temporary file is removed and `path` is
/// untouched. @throws IoError if the file cannot be created, written or renamed; whatever `body` throws.
inline void write_file_atomically(const std::filesystem::path& path,
                                  const std::function<void(std::FILE*, const std::filesystem::path&)>& body) {
  std::filesystem::path tmp = path;
  tmp += ".tmp" + std::to_string(std::random_device{}() % 1000000);
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) throw IoError("cannot create " + tmp.string() + ": " + std::strerror(errno));
  try {
    body(f, tmp);
    const bool flushed = std::fflush(f) == 0;
    const bool closed = std::fclose(f) == 0;
    f = nullptr;
    if (!flushed || !closed) throw IoError("cannot finish writing " + tmp.string() + ": " + std::strerror(errno));
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) throw IoError("cannot rename " + tmp.string() + " to " + path.string() + ": " + ec.message());
  } catch (...) {
    if (f) std::fclose(f);
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    throw;
  }
}

/// write_file_atomically for bytes already in memory.
inline void write_file_atomically(const std::filesystem::path& path, std::string_view bytes) {
  write_file_atomically(path, [&](std::FILE* f, const std::filesystem::path& tmp) {
    if (std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size())
      throw IoError("cannot write " + tmp.string() + ": " + std::strerror(errno));
  });
}

}  // namespace llmforge::io
