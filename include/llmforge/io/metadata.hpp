// SPDX-License-Identifier: MIT
// Key/value model metadata (GGUF KV pairs, or keys derived from a Hugging Face config.json).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include <llmforge/core/error.hpp>

namespace llmforge::io {

/// Value type codes exactly as GGUF stores them.
enum class ValueType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, Bool = 7, String = 8, Array = 9,
  U64 = 10, I64 = 11, F64 = 12,
};

/// Name of a value type ("u32", "string", "array", ...).
[[nodiscard]] constexpr std::string_view value_type_name(ValueType t) noexcept {
  constexpr std::string_view names[] = {"u8", "i8",  "u16",   "i16",    "u32", "i32", "f32",
                                        "bool", "string", "array", "u64", "i64", "f64"};
  const auto i = static_cast<uint32_t>(t);
  return i < std::size(names) ? names[i] : std::string_view("unknown");
}

struct ArrayValue;

/// One metadata value. Arrays (possibly nested) are held through a shared pointer.
using Value = std::variant<uint8_t, int8_t, uint16_t, int16_t, uint32_t, int32_t, float, bool, std::string, std::shared_ptr<const ArrayValue>,
                           uint64_t, int64_t, double>;

/// A homogeneous array of metadata values.
struct ArrayValue {
  ValueType element_type = ValueType::U8;
  std::vector<Value> items;
};

/// The GGUF type code of a value.
[[nodiscard]] inline ValueType value_type(const Value& v) noexcept { return static_cast<ValueType>(v.index()); }

/// Formats a value for display; long arrays are abbreviated.
[[nodiscard]] inline std::string to_display_string(const Value& v, std::size_t max_items = 8) {
  return std::visit(
      [&](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return '"' + x + '"';
        } else if constexpr (std::is_same_v<T, bool>) {
          return x ? "true" : "false";
        } else if constexpr (std::is_same_v<T, std::shared_ptr<const ArrayValue>>) {
          std::string out = "[";
          const std::size_t n = x->items.size();
          for (std::size_t i = 0; i < n && i < max_items; ++i) {
            if (i) out += ", ";
            out += to_display_string(x->items[i], max_items);
          }
          if (n > max_items) out += ", ... (" + std::to_string(n) + " items)";
          return out + "]";
        } else if constexpr (std::is_floating_point_v<T>) {
          return std::to_string(x);
        } else {
          return std::to_string(static_cast<std::conditional_t<std::is_signed_v<T>, int64_t, uint64_t>>(x));
        }
      },
      v);
}

/// Ordered key/value metadata with typed, checked accessors. Every accessor that fails throws
/// ConfigError naming the key, what was expected and what was found.
class Metadata {
 public:
  Metadata() = default;
  explicit Metadata(std::string source) : source_(std::move(source)) {}

  /// Adds or replaces a key.
  void set(std::string key, Value v) {
    auto [it, inserted] = index_.try_emplace(key, entries_.size());
    if (inserted) {
      entries_.emplace_back(std::move(key), std::move(v));
    } else {
      entries_[it->second].second = std::move(v);
    }
  }

  [[nodiscard]] bool contains(std::string_view key) const { return index_.find(std::string(key)) != index_.end(); }
  [[nodiscard]] const Value* find(std::string_view key) const {
    auto it = index_.find(std::string(key));
    return it == index_.end() ? nullptr : &entries_[it->second].second;
  }
  [[nodiscard]] std::size_t size() const noexcept { return entries_.size(); }
  [[nodiscard]] const std::vector<std::pair<std::string, Value>>& entries() const noexcept { return entries_; }
  /// Where the metadata came from (a file name), used in error messages.
  [[nodiscard]] const std::string& source() const noexcept { return source_; }

  /// The value of `key` converted to an unsigned integer; accepts any integer type holding a
  /// non-negative value. @throws ConfigError if missing or not a non-negative integer.
  [[nodiscard]] uint64_t get_uint(std::string_view key) const {
    auto v = find_uint(key);
    if (!v) throw ConfigError(where(key) + "is missing (expected an unsigned integer)");
    return *v;
  }
  [[nodiscard]] uint64_t get_uint(std::string_view key, uint64_t fallback) const {
    auto v = find_uint(key);
    return v ? *v : fallback;
  }
  /// The value of `key` as a signed integer (any integer type). @throws ConfigError.
  [[nodiscard]] int64_t get_int(std::string_view key) const {
    auto v = find_int(key);
    if (!v) throw ConfigError(where(key) + "is missing (expected an integer)");
    return *v;
  }
  [[nodiscard]] int64_t get_int(std::string_view key, int64_t fallback) const {
    auto v = find_int(key);
    return v ? *v : fallback;
  }
  /// The value of `key` as a float (any numeric type). @throws ConfigError.
  [[nodiscard]] double get_float(std::string_view key) const {
    auto v = find_float(key);
    if (!v) throw ConfigError(where(key) + "is missing (expected a number)");
    return *v;
  }
  [[nodiscard]] double get_float(std::string_view key, double fallback) const {
    auto v = find_float(key);
    return v ? *v : fallback;
  }
  [[nodiscard]] bool get_bool(std::string_view key, bool fallback) const {
    const Value* v = find(key);
    if (!v) return fallback;
    if (auto b = std::get_if<bool>(v)) return *b;
    if (auto i = as_int(*v)) return *i != 0;
    throw ConfigError(where(key) + "has type " + std::string(value_type_name(value_type(*v))) + ", expected bool");
  }
  [[nodiscard]] const std::string& get_string(std::string_view key) const {
    const Value* v = find(key);
    if (!v) throw ConfigError(where(key) + "is missing (expected a string)");
    if (auto s = std::get_if<std::string>(v)) return *s;
    throw ConfigError(where(key) + "has type " + std::string(value_type_name(value_type(*v))) + ", expected string");
  }
  [[nodiscard]] std::string get_string(std::string_view key, std::string_view fallback) const {
    const Value* v = find(key);
    return v ? get_string(key) : std::string(fallback);
  }
  /// The array stored at `key`, or null if absent. @throws ConfigError if present but not an array.
  [[nodiscard]] const ArrayValue* find_array(std::string_view key) const {
    const Value* v = find(key);
    if (!v) return nullptr;
    if (auto a = std::get_if<std::shared_ptr<const ArrayValue>>(v)) return a->get();
    throw ConfigError(where(key) + "has type " + std::string(value_type_name(value_type(*v))) + ", expected array");
  }
  /// All strings of a string array. @throws ConfigError if missing or of another type.
  [[nodiscard]] std::vector<std::string> get_string_array(std::string_view key) const {
    const ArrayValue* a = require_array(key);
    std::vector<std::string> out;
    out.reserve(a->items.size());
    for (const auto& it : a->items) {
      auto s = std::get_if<std::string>(&it);
      if (!s) throw ConfigError(where(key) + "must be an array of strings, found array of " +
                                std::string(value_type_name(a->element_type)));
      out.push_back(*s);
    }
    return out;
  }
  /// All numbers of a numeric array, as double. @throws ConfigError.
  [[nodiscard]] std::vector<double> get_number_array(std::string_view key) const {
    const ArrayValue* a = require_array(key);
    std::vector<double> out;
    out.reserve(a->items.size());
    for (const auto& it : a->items) {
      auto f = as_float(it);
      if (!f) throw ConfigError(where(key) + "must be an array of numbers, found array of " +
                                std::string(value_type_name(a->element_type)));
      out.push_back(*f);
    }
    return out;
  }
  /// All integers of an integer array. @throws ConfigError.
  [[nodiscard]] std::vector<int64_t> get_int_array(std::string_view key) const {
    const ArrayValue* a = require_array(key);
    std::vector<int64_t> out;
    out.reserve(a->items.size());
    for (const auto& it : a->items) {
      auto f = as_int(it);
      if (!f) throw ConfigError(where(key) + "must be an array of integers, found array of " +
                                std::string(value_type_name(a->element_type)));
      out.push_back(*f);
    }
    return out;
  }

  [[nodiscard]] std::optional<uint64_t> find_uint(std::string_view key) const {
    const Value* v = find(key);
    if (!v) return std::nullopt;
    auto i = as_int(*v);
    if (!i || *i < 0) {
      if (auto u = std::get_if<uint64_t>(v)) return *u;
      throw ConfigError(where(key) + "has type " + std::string(value_type_name(value_type(*v))) +
                        (i ? " with a negative value" : "") + ", expected a non-negative integer");
    }
    return static_cast<uint64_t>(*i);
  }
  [[nodiscard]] std::optional<int64_t> find_int(std::string_view key) const {
    const Value* v = find(key);
    if (!v) return std::nullopt;
    auto i = as_int(*v);
    if (!i) throw ConfigError(where(key) + "has type " + std::string(value_type_name(value_type(*v))) + ", expected an integer");
    return i;
  }
  [[nodiscard]] std::optional<double> find_float(std::string_view key) const {
    const Value* v = find(key);
    if (!v) return std::nullopt;
    auto f = as_float(*v);
    if (!f) throw ConfigError(where(key) + "has type " + std::string(value_type_name(value_type(*v))) + ", expected a number");
    return f;
  }

  /// Converts any integer (or bool) value to int64; nothing for other types or u64 values above INT64_MAX.
  [[nodiscard]] static std::optional<int64_t> as_int(const Value& v) {
    return std::visit(
        [](const auto& x) -> std::optional<int64_t> {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, uint64_t>) {
            if (x > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
            return static_cast<int64_t>(x);
          } else if constexpr (std::is_integral_v<T>) {
            return static_cast<int64_t>(x);
          } else {
            return std::nullopt;
          }
        },
        v);
  }
  /// Converts any numeric value to double; nothing for strings and arrays.
  [[nodiscard]] static std::optional<double> as_float(const Value& v) {
    return std::visit(
        [](const auto& x) -> std::optional<double> {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_arithmetic_v<T>) return static_cast<double>(x);
          else return std::nullopt;
        },
        v);
  }

 private:
  [[nodiscard]] std::string where(std::string_view key) const {
    return (source_.empty() ? std::string() : source_ + ": ") + "metadata key '" + std::string(key) + "' ";
  }
  [[nodiscard]] const ArrayValue* require_array(std::string_view key) const {
    const ArrayValue* a = find_array(key);
    if (!a) throw ConfigError(where(key) + "is missing (expected an array)");
    return a;
  }

  std::string source_;
  std::vector<std::pair<std::string, Value>> entries_;
  std::map<std::string, std::size_t, std::less<>> index_;
};

}  // namespace llmforge::io
