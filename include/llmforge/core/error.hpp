// SPDX-License-Identifier: MIT
// Exception types thrown by llmforge on bad input, bad files and bad configuration.
#pragma once

#include <stdexcept>
#include <string>

namespace llmforge {

/// Base class of every exception llmforge throws on bad input; `what()` is one readable sentence.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A file is malformed, truncated, or uses a feature this build does not read.
class FormatError : public Error {
 public:
  using Error::Error;
};

/// Tensor shapes (or sizes) do not fit together.
class ShapeError : public Error {
 public:
  using Error::Error;
};

/// A configuration value (model metadata, sampler setting, option) is missing or out of range.
class ConfigError : public Error {
 public:
  using Error::Error;
};

/// A tokenizer cannot be built or cannot process the given input.
class TokenizerError : public Error {
 public:
  using Error::Error;
};

/// An operating-system level I/O failure (open, map, write, rename).
class IoError : public Error {
 public:
  using Error::Error;
};

/// A feature that exists in the file format but is not supported by this build (e.g. a tensor type).
class UnsupportedError : public Error {
 public:
  using Error::Error;
};

/// A (chat) template cannot be parsed or fails while rendering; `what()` names the line and column.
class TemplateError : public Error {
 public:
  using Error::Error;
};

/// A template called `raise_exception(message)`; `what()` is exactly that message.
class TemplateRaisedError : public TemplateError {
 public:
  using TemplateError::TemplateError;
};

}  // namespace llmforge
