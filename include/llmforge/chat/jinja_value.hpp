// SPDX-License-Identifier: MIT
// jinja::Value: the dynamically typed value of the Jinja engine, with Python's semantics for truth,
// equality, ordering, str() and repr(), and conversion from JSON.
#pragma once

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <llmforge/core/error.hpp>

namespace llmforge::jinja {

class Value;
struct CallArgs;

/// A value that was looked up but does not exist; `hint` says what was missing (for errors).
struct Undefined {
  std::string hint;
};
struct None {};

/// A Python list (or tuple, which only differs in how it prints). Shared, so that aliases see changes.
struct ListData {
  std::vector<Value> items;
  bool tuple = false;
  int depth = 1;  ///< nesting depth, kept to refuse values too deep to print or even destroy safely
};
/// An insertion-ordered Python dict; also the storage of `namespace()` objects and `loop`.
struct DictData {
  std::vector<std::pair<Value, Value>> items;
  bool is_namespace = false;
  int depth = 1;  ///< as ListData::depth; raised by set()
  [[nodiscard]] const Value* find(const Value& key) const;
  [[nodiscard]] const Value* find(std::string_view key) const;
  void set(Value key, Value value);
};
/// A callable: a global function (`range`, `namespace`), a bound method (`"a".upper`) or a macro.
struct Function {
  std::string name;
  std::function<Value(CallArgs&)> call;
};

using ListPtr = std::shared_ptr<ListData>;
using DictPtr = std::shared_ptr<DictData>;
using FunctionPtr = std::shared_ptr<const Function>;

class Value {
 public:
  enum class Type { Undefined, None, Bool, Int, Float, String, List, Dict, Function };

  Value() : v_(Undefined{}) {}
  Value(Undefined u) : v_(std::move(u)) {}
  Value(None) : v_(None{}) {}
  Value(bool b) : v_(b) {}
  Value(int i) : v_(static_cast<int64_t>(i)) {}
  Value(int64_t i) : v_(i) {}
  Value(double d) : v_(d) {}
  Value(std::string s) : v_(std::move(s)) {}
  Value(std::string_view s) : v_(std::string(s)) {}
  Value(const char* s) : v_(std::string(s)) {}
  Value(ListPtr l) : v_(std::move(l)) {}
  Value(DictPtr d) : v_(std::move(d)) {}
  Value(FunctionPtr f) : v_(std::move(f)) {}

  /// A list (or tuple). @throws TemplateError when it would nest deeper than kMaxValueDepth.
  static Value list(std::vector<Value> items = {}, bool tuple = false);
  static Value dict() { return Value(std::make_shared<DictData>()); }
  static Value function(std::string name, std::function<Value(CallArgs&)> fn) {
    return Value(std::make_shared<const Function>(Function{std::move(name), std::move(fn)}));
  }
  static Value undefined(std::string hint) { return Value(Undefined{std::move(hint)}); }

  [[nodiscard]] Type type() const noexcept { return static_cast<Type>(v_.index()); }
  [[nodiscard]] bool is_undefined() const noexcept { return type() == Type::Undefined; }
  [[nodiscard]] bool is_none() const noexcept { return type() == Type::None; }
  [[nodiscard]] bool is_bool() const noexcept { return type() == Type::Bool; }
  [[nodiscard]] bool is_int() const noexcept { return type() == Type::Int; }
  [[nodiscard]] bool is_float() const noexcept { return type() == Type::Float; }
  /// Python's numbers.Number: bool, int and float.
  [[nodiscard]] bool is_number() const noexcept { return is_bool() || is_int() || is_float(); }
  [[nodiscard]] bool is_string() const noexcept { return type() == Type::String; }
  [[nodiscard]] bool is_list() const noexcept { return type() == Type::List; }
  [[nodiscard]] bool is_dict() const noexcept { return type() == Type::Dict; }
  [[nodiscard]] bool is_function() const noexcept { return type() == Type::Function; }

  // Accessors check the type: a template that passes the wrong kind of value gets a TemplateError.
  [[nodiscard]] bool as_bool() const { return get<bool>("a bool"); }
  [[nodiscard]] const std::string& str() const { return get<std::string>("a string"); }
  [[nodiscard]] const ListPtr& list_ptr() const { return get<ListPtr>("a list"); }
  [[nodiscard]] const DictPtr& dict_ptr() const { return get<DictPtr>("a dict"); }
  [[nodiscard]] const std::vector<Value>& items() const { return list_ptr()->items; }
  [[nodiscard]] const FunctionPtr& function_ptr() const { return get<FunctionPtr>("a function"); }
  [[nodiscard]] const std::string& undefined_hint() const { return get<Undefined>("undefined").hint; }
  /// The integer value of a bool or int. @throws TemplateError for other types.
  [[nodiscard]] int64_t as_int() const { return is_bool() ? (as_bool() ? 1 : 0) : get<int64_t>("an integer"); }
  /// The value of any number as a double. @throws TemplateError for other types.
  [[nodiscard]] double as_double() const { return is_float() ? std::get<double>(v_) : static_cast<double>(as_int()); }

  /// Python's type name, as error messages print it.
  [[nodiscard]] std::string type_name() const {
    switch (type()) {
      case Type::Undefined: return "undefined";
      case Type::None: return "NoneType";
      case Type::Bool: return "bool";
      case Type::Int: return "int";
      case Type::Float: return "float";
      case Type::String: return "str";
      case Type::List: return list_ptr()->tuple ? "tuple" : "list";
      case Type::Dict: return dict_ptr()->is_namespace ? "Namespace" : "dict";
      case Type::Function: return "function";
    }
    return "?";
  }

  /// Python truthiness; undefined is false.
  [[nodiscard]] bool truthy() const {
    switch (type()) {
      case Type::Undefined:
      case Type::None: return false;
      case Type::Bool: return as_bool();
      case Type::Int: return as_int() != 0;
      case Type::Float: return as_double() != 0.0;
      case Type::String: return !str().empty();
      case Type::List: return !items().empty();
      case Type::Dict: return dict_ptr()->is_namespace || !dict_ptr()->items.empty();
      case Type::Function: return true;
    }
    return false;
  }

 private:
  std::variant<Undefined, None, bool, int64_t, double, std::string, ListPtr, DictPtr, FunctionPtr> v_;

  template <class T>
  const T& get(const char* what) const {
    if (const T* p = std::get_if<T>(&v_)) return *p;
    throw TemplateError(std::string("expected ") + what + ", got a value of type '" + type_name() + "'");
  }
};

/// Positional and keyword arguments of a call, with Python-like binding helpers.
struct CallArgs {
  std::vector<Value> args;
  std::vector<std::pair<std::string, Value>> kwargs;
  std::string callee;  ///< for error messages

  /// Argument `i` (positional) or `name` (keyword), or `fallback` when neither was given.
  [[nodiscard]] Value get(std::size_t i, std::string_view name, Value fallback = Value()) const {
    if (i < args.size()) return args[i];
    for (const auto& [k, v] : kwargs)
      if (k == name) return v;
    return fallback;
  }
  [[nodiscard]] bool has(std::size_t i, std::string_view name) const {
    if (i < args.size()) return true;
    for (const auto& kv : kwargs)
      if (kv.first == name) return true;
    return false;
  }
};

/// Python's repr() of a float: the shortest round-tripping digits, exponent form outside [1e-4, 1e16).
inline std::string float_repr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  const auto epos = sci.find('e');
  std::string mant = sci.substr(0, epos);
  const int exp = std::stoi(sci.substr(epos + 1));
  const bool neg = mant[0] == '-';
  if (neg) mant.erase(0, 1);
  std::string digits;
  for (char c : mant)
    if (c != '.') digits += c;
  std::string out;
  if (exp < -4 || exp >= 16) {
    out = digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char e[16];
    std::snprintf(e, sizeof e, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    out += e;
  } else if (exp < 0) {
    out = "0." + std::string(static_cast<std::size_t>(-exp - 1), '0') + digits;
  } else {
    const auto int_len = static_cast<std::size_t>(exp) + 1;
    if (digits.size() <= int_len) {
      out = digits + std::string(int_len - digits.size(), '0') + ".0";
    } else {
      out = digits.substr(0, int_len) + "." + digits.substr(int_len);
    }
  }
  return neg ? "-" + out : out;
}

/// Python's repr() of a str: single quotes unless the text holds ' and no ".
inline std::string string_repr(const std::string& s) {
  const bool dq = s.find('\'') != std::string::npos && s.find('"') == std::string::npos;
  const char q = dq ? '"' : '\'';
  std::string out(1, q);
  for (unsigned char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == q) out += std::string("\\") + static_cast<char>(q);
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20 || c == 0x7f) {
      char b[8];
      std::snprintf(b, sizeof b, "\\x%02x", c);
      out += b;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + q;
}

/// Values nested deeper than this (in repr, comparisons, JSON output or JSON input) raise a
/// TemplateError instead of recursing further (a namespace can even hold itself).
inline constexpr int kMaxValueDepth = 512;

inline void check_value_depth(int depth) {
  if (depth > kMaxValueDepth) throw TemplateError("value nests deeper than " + std::to_string(kMaxValueDepth) + " levels");
}

std::string to_repr(const Value& v, int depth = 0);

/// Python's str() of a value, which is what `{{ v }}` prints; undefined prints as nothing.
inline std::string to_str(const Value& v) {
  switch (v.type()) {
    case Value::Type::Undefined: return "";
    case Value::Type::String: return v.str();
    default: return to_repr(v);
  }
}

/// Python's repr() of a value (how lists and dicts show their items).
inline std::string to_repr(const Value& v, int depth) {
  check_value_depth(depth);
  switch (v.type()) {
    case Value::Type::Undefined: return "";
    case Value::Type::None: return "None";
    case Value::Type::Bool: return v.as_bool() ? "True" : "False";
    case Value::Type::Int: return std::to_string(v.as_int());
    case Value::Type::Float: return float_repr(v.as_double());
    case Value::Type::String: return string_repr(v.str());
    case Value::Type::List: {
      const auto& l = *v.list_ptr();
      std::string out = l.tuple ? "(" : "[";
      for (std::size_t i = 0; i < l.items.size(); ++i) out += (i ? ", " : "") + to_repr(l.items[i], depth + 1);
      if (l.tuple && l.items.size() == 1) out += ",";
      return out + (l.tuple ? ")" : "]");
    }
    case Value::Type::Dict: {
      const auto& d = *v.dict_ptr();
      std::string out = d.is_namespace ? "<Namespace {" : "{";
      for (std::size_t i = 0; i < d.items.size(); ++i)
        out += (i ? ", " : "") + to_repr(d.items[i].first, depth + 1) + ": " + to_repr(d.items[i].second, depth + 1);
      return out + (d.is_namespace ? "}>" : "}");
    }
    case Value::Type::Function: return "<function " + v.function_ptr()->name + ">";
  }
  return "";
}

/// Python's `==` (1 == 1.0 == True; lists and dicts compare item by item).
inline bool equals(const Value& a, const Value& b, int depth = 0) {
  check_value_depth(depth);
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.as_double() == b.as_double();
    return a.as_int() == b.as_int();
  }
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case Value::Type::Undefined:
    case Value::Type::None: return true;
    case Value::Type::String: return a.str() == b.str();
    case Value::Type::List: {
      const auto &x = a.items(), &y = b.items();
      if (a.list_ptr()->tuple != b.list_ptr()->tuple || x.size() != y.size()) return false;
      for (std::size_t i = 0; i < x.size(); ++i)
        if (!equals(x[i], y[i], depth + 1)) return false;
      return true;
    }
    case Value::Type::Dict: {
      const auto &x = *a.dict_ptr(), &y = *b.dict_ptr();
      if (x.items.size() != y.items.size()) return false;
      for (const auto& [k, val] : x.items) {
        const Value* o = y.find(k);
        if (!o || !equals(val, *o, depth + 1)) return false;
      }
      return true;
    }
    case Value::Type::Function: return a.function_ptr() == b.function_ptr();
    default: return false;
  }
}

/// Python's `<` for numbers, strings and lists. @throws TemplateError for other types.
inline bool less(const Value& a, const Value& b, int depth = 0) {
  check_value_depth(depth);
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.as_double() < b.as_double();
    return a.as_int() < b.as_int();
  }
  if (a.is_string() && b.is_string()) return a.str() < b.str();
  if (a.is_list() && b.is_list()) {
    const auto &x = a.items(), &y = b.items();
    for (std::size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (less(x[i], y[i], depth + 1)) return true;
      if (less(y[i], x[i], depth + 1)) return false;
    }
    return x.size() < y.size();
  }
  throw TemplateError("'<' not supported between instances of '" + a.type_name() + "' and '" + b.type_name() + "'");
}

inline const Value* DictData::find(const Value& key) const {
  for (const auto& kv : items)
    if (equals(kv.first, key)) return &kv.second;
  return nullptr;
}
inline const Value* DictData::find(std::string_view key) const {
  for (const auto& kv : items)
    if (kv.first.is_string() && kv.first.str() == key) return &kv.second;
  return nullptr;
}
/// The nesting depth of a list or dict (0 for scalars).
inline int depth_of(const Value& v) {
  return v.is_list() ? v.list_ptr()->depth : v.is_dict() ? v.dict_ptr()->depth : 0;
}
inline Value Value::list(std::vector<Value> items, bool tuple) {
  int depth = 1;
  for (const auto& x : items) depth = std::max(depth, depth_of(x) + 1);
  check_value_depth(depth);
  return Value(std::make_shared<ListData>(ListData{std::move(items), tuple, depth}));
}
inline void DictData::set(Value key, Value value) {
  const int d = std::max(depth_of(key), depth_of(value)) + 1;
  check_value_depth(d);
  depth = std::max(depth, d);
  for (auto& kv : items)
    if (equals(kv.first, key)) {
      kv.second = std::move(value);
      return;
    }
  items.emplace_back(std::move(key), std::move(value));
}

/// A JSON document as a template value (objects keep their key order).
inline Value from_json(const nlohmann::ordered_json& j, int depth = 0) {
  check_value_depth(depth);
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null: return Value(None{});
    case nlohmann::ordered_json::value_t::boolean: return Value(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer: return Value(j.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned: {
      const auto u = j.get<uint64_t>();
      return u > static_cast<uint64_t>(INT64_MAX) ? Value(static_cast<double>(u)) : Value(static_cast<int64_t>(u));
    }
    case nlohmann::ordered_json::value_t::number_float: return Value(j.get<double>());
    case nlohmann::ordered_json::value_t::string: return Value(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      std::vector<Value> items;
      items.reserve(j.size());
      for (const auto& e : j) items.push_back(from_json(e, depth + 1));
      return Value::list(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
      auto d = std::make_shared<DictData>();
      for (const auto& [k, e] : j.items()) {  // JSON keys are unique: no lookup needed
        Value v = from_json(e, depth + 1);
        d->depth = std::max(d->depth, depth_of(v) + 1);
        d->items.emplace_back(Value(k), std::move(v));
      }
      return Value(d);
    }
    default: return Value(None{});
  }
}

}  // namespace llmforge::jinja
