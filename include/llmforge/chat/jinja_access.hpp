// SPDX-License-Identifier: MIT
// Attribute access, subscripts, iteration and the methods of str, dict and list values, with the
// semantics of Jinja2's ImmutableSandboxedEnvironment (methods that mutate are refused).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <llmforge/chat/jinja_python.hpp>
#include <llmforge/chat/jinja_value.hpp>

namespace llmforge::jinja {

/// Raises Jinja's UndefinedError for a use of an undefined value that needs a real one.
[[noreturn]] inline void fail_undefined(const Value& v) {
  throw TemplateError(v.undefined_hint().empty() ? std::string("value is undefined") : v.undefined_hint());
}

/// The items a `for` loop visits: list items, dict keys, the characters of a string; nothing for undefined.
/// @throws TemplateError for values that are not iterable.
inline std::vector<Value> iterate(const Value& v) {
  switch (v.type()) {
    case Value::Type::Undefined: return {};
    case Value::Type::List: return v.items();
    case Value::Type::Dict: {
      std::vector<Value> keys;
      for (const auto& kv : v.dict_ptr()->items) keys.push_back(kv.first);
      return keys;
    }
    case Value::Type::String: {
      const auto cp = py::code_points(v.str());
      std::vector<Value> chars;
      for (std::size_t i = 0; i + 1 < cp.size(); ++i) chars.emplace_back(v.str().substr(cp[i], cp[i + 1] - cp[i]));
      return chars;
    }
    default: throw TemplateError("'" + v.type_name() + "' object is not iterable");
  }
}

/// Python's len(); undefined has length 0. @throws TemplateError for numbers and None.
inline int64_t length_of(const Value& v) {
  switch (v.type()) {
    case Value::Type::Undefined: return 0;
    case Value::Type::String: return static_cast<int64_t>(py::length(v.str()));
    case Value::Type::List: return static_cast<int64_t>(v.items().size());
    case Value::Type::Dict: return static_cast<int64_t>(v.dict_ptr()->items.size());
    default: throw TemplateError("object of type '" + v.type_name() + "' has no len()");
  }
}

namespace detail {

inline std::string need_str(const Value& v, std::string_view what) {
  if (v.is_string()) return v.str();
  if (v.is_undefined()) fail_undefined(v);
  throw TemplateError(std::string(what) + " must be str, not " + v.type_name());
}

inline Value bound(std::string name, std::function<Value(CallArgs&)> fn) { return Value::function(std::move(name), std::move(fn)); }

inline bool starts_or_ends(const std::string& s, const Value& arg, bool start) {
  auto one = [&](const std::string& p) {
    if (p.size() > s.size()) return false;
    return start ? s.compare(0, p.size(), p) == 0 : s.compare(s.size() - p.size(), p.size(), p) == 0;
  };
  if (arg.is_list()) {
    for (const auto& p : arg.items())
      if (one(need_str(p, start ? "startswith() argument" : "endswith() argument"))) return true;
    return false;
  }
  return one(need_str(arg, start ? "startswith() argument" : "endswith() argument"));
}

inline Value str_method(const std::string& s, std::string_view name) {
  const std::string n(name);
  auto strip_like = [s, n](bool l, bool r) {
    return bound(n, [s, l, r](CallArgs& a) { return Value(py::strip(s, a.get(0, "chars"), l, r)); });
  };
  if (name == "strip") return strip_like(true, true);
  if (name == "lstrip") return strip_like(true, false);
  if (name == "rstrip") return strip_like(false, true);
  if (name == "upper") return bound(n, [s](CallArgs&) { return Value(py::upper(s)); });
  if (name == "lower") return bound(n, [s](CallArgs&) { return Value(py::lower(s)); });
  if (name == "title") return bound(n, [s](CallArgs&) { return Value(py::title(s)); });
  if (name == "capitalize") return bound(n, [s](CallArgs&) { return Value(py::capitalize(s)); });
  if (name == "split" || name == "rsplit") {
    return bound(n, [s, n](CallArgs& a) {
      const Value ms = a.get(1, "maxsplit", Value(int64_t{-1}));
      if (n == "rsplit" && ms.as_int() >= 0) throw TemplateError("rsplit() with maxsplit is not supported");
      std::vector<Value> parts;
      for (auto& p : py::split(s, a.get(0, "sep"), ms.as_int())) parts.emplace_back(std::move(p));
      return Value::list(std::move(parts));
    });
  }
  if (name == "splitlines") {
    return bound(n, [s](CallArgs&) {
      std::vector<Value> lines;
      std::size_t i = 0;
      while (i < s.size()) {
        std::size_t j = s.find_first_of("\r\n", i);
        if (j == std::string::npos) j = s.size();
        lines.emplace_back(s.substr(i, j - i));
        i = j + ((j + 1 < s.size() && s[j] == '\r' && s[j + 1] == '\n') ? 2 : 1);
      }
      return Value::list(std::move(lines));
    });
  }
  if (name == "startswith" || name == "endswith") {
    const bool start = name == "startswith";
    return bound(n, [s, start](CallArgs& a) { return Value(starts_or_ends(s, a.get(0, "prefix"), start)); });
  }
  if (name == "replace") {
    return bound(n, [s](CallArgs& a) {
      return Value(py::replace(s, need_str(a.get(0, "old"), "replace() argument 1"), need_str(a.get(1, "new"), "replace() argument 2"),
                               a.get(2, "count", Value(int64_t{-1})).as_int()));
    });
  }
  if (name == "find" || name == "count") {
    const bool find = name == "find";
    return bound(n, [s, find](CallArgs& a) {
      const std::string sub = need_str(a.get(0, "sub"), "argument");
      if (find) {
        const auto p = s.find(sub);
        return Value(p == std::string::npos ? int64_t{-1} : static_cast<int64_t>(py::length(std::string_view(s).substr(0, p))));
      }
      int64_t c = 0;
      if (sub.empty()) return Value(static_cast<int64_t>(py::length(s)) + 1);
      for (std::size_t p = s.find(sub); p != std::string::npos; p = s.find(sub, p + sub.size())) ++c;
      return Value(c);
    });
  }
  if (name == "join") {
    return bound(n, [s](CallArgs& a) {
      std::string out;
      bool first = true;
      for (const auto& v : iterate(a.get(0, "iterable"))) {
        if (!first) out += s;
        out += need_str(v, "join() item");
        first = false;
      }
      return Value(out);
    });
  }
  if (name == "isdigit" || name == "isalpha" || name == "isspace" || name == "isalnum") {
    return bound(n, [s, n](CallArgs&) {
      if (s.empty()) return Value(false);
      for (char c : s) {
        const bool d = c >= '0' && c <= '9';
        const bool ok = n == "isdigit" ? d : n == "isalpha" ? py::is_alpha(c) : n == "isspace" ? py::is_py_space(c) : d || py::is_alpha(c);
        if (!ok) return Value(false);
      }
      return Value(true);
    });
  }
  return Value::undefined("'str object' has no attribute '" + n + "'");
}

inline Value dict_method(const DictPtr& d, std::string_view name) {
  const std::string n(name);
  if (name == "items") {
    return bound(n, [d](CallArgs&) {
      std::vector<Value> out;
      for (const auto& [k, v] : d->items) out.push_back(Value::list({k, v}, true));
      return Value::list(std::move(out));
    });
  }
  if (name == "keys" || name == "values") {
    const bool keys = name == "keys";
    return bound(n, [d, keys](CallArgs&) {
      std::vector<Value> out;
      for (const auto& [k, v] : d->items) out.push_back(keys ? k : v);
      return Value::list(std::move(out));
    });
  }
  if (name == "get") {
    return bound(n, [d](CallArgs& a) {
      const Value* v = d->find(a.get(0, "key"));
      return v ? *v : a.get(1, "default", Value(None{}));
    });
  }
  if (name == "update" || name == "pop" || name == "popitem" || name == "setdefault" || name == "clear") {
    return bound(n, [n](CallArgs&) -> Value {
      throw TemplateError("access to attribute '" + n + "' of 'dict' object is unsafe.");
    });
  }
  return Value();
}

}  // namespace detail

/// `obj.name`: a method of str, dict or list, else (for dicts) the item `name`; otherwise undefined.
/// @throws TemplateError when `obj` itself is undefined.
inline Value get_attr(const Value& obj, std::string_view name) {
  const std::string n(name);
  switch (obj.type()) {
    case Value::Type::Undefined: fail_undefined(obj);
    case Value::Type::String: return detail::str_method(obj.str(), name);
    case Value::Type::Dict: {
      const auto& d = obj.dict_ptr();
      if (!d->is_namespace) {
        Value m = detail::dict_method(d, name);
        if (!m.is_undefined()) return m;
      }
      if (const Value* v = d->find(name)) return *v;
      return Value::undefined("'" + std::string(d->is_namespace ? "Namespace" : "dict") + " object' has no attribute '" + n + "'");
    }
    case Value::Type::List:
      if (name == "append" || name == "extend" || name == "insert" || name == "pop" || name == "remove" || name == "sort" ||
          name == "reverse" || name == "clear") {
        const std::string tn = obj.type_name();
        return detail::bound(n, [n, tn](CallArgs&) -> Value {
          throw TemplateError("access to attribute '" + n + "' of '" + tn + "' object is unsafe.");
        });
      }
      return Value::undefined("'" + obj.type_name() + " object' has no attribute '" + n + "'");
    case Value::Type::None: return Value::undefined("'None' has no attribute '" + n + "'");
    default: return Value::undefined("'" + obj.type_name() + " object' has no attribute '" + n + "'");
  }
}

/// `obj[key]`: list/str index (negative counts from the end), dict lookup; missing items are undefined
/// (a string key falls back to an attribute, as Jinja does). @throws TemplateError when `obj` is undefined.
inline Value get_item(const Value& obj, const Value& key) {
  if (obj.is_undefined()) fail_undefined(obj);
  if (obj.is_dict()) {
    if (const Value* v = obj.dict_ptr()->find(key)) return *v;
  } else if ((obj.is_list() || obj.is_string()) && (key.is_int() || key.is_bool())) {
    int64_t i = key.as_int();
    if (obj.is_list()) {
      const auto n = static_cast<int64_t>(obj.items().size());
      if (i < 0) i += n;
      if (i >= 0 && i < n) return obj.items()[static_cast<std::size_t>(i)];
    } else {
      const auto cp = py::code_points(obj.str());
      const auto n = static_cast<int64_t>(cp.size()) - 1;
      if (i < 0) i += n;
      if (i >= 0 && i < n) {
        const auto k = static_cast<std::size_t>(i);
        return Value(obj.str().substr(cp[k], cp[k + 1] - cp[k]));
      }
    }
  }
  if (key.is_string()) {
    Value v = get_attr(obj, key.str());
    if (!v.is_undefined()) return v;
  }
  return Value::undefined("'" + obj.type_name() + " object' has no attribute " + to_repr(key));
}

/// `obj[start:stop:step]` for lists, tuples and strings.
inline Value get_slice(const Value& obj, const Value& start, const Value& stop, const Value& step) {
  if (obj.is_undefined()) fail_undefined(obj);
  for (const Value* v : {&start, &stop, &step})
    if (!v->is_none() && !v->is_undefined() && !v->is_int() && !v->is_bool())
      throw TemplateError("slice indices must be integers or None");
  if (obj.is_list()) {
    std::vector<Value> out;
    for (auto i : py::slice_indices(static_cast<int64_t>(obj.items().size()), start, stop, step)) out.push_back(obj.items()[i]);
    return Value::list(std::move(out), obj.list_ptr()->tuple);
  }
  if (obj.is_string()) {
    const auto cp = py::code_points(obj.str());
    std::string out;
    for (auto i : py::slice_indices(static_cast<int64_t>(cp.size()) - 1, start, stop, step))
      out += obj.str().substr(cp[i], cp[i + 1] - cp[i]);
    return Value(out);
  }
  throw TemplateError("'" + obj.type_name() + "' object is not subscriptable");
}

/// `a in b`: substring, list membership or dict key.
inline bool contains(const Value& container, const Value& item) {
  switch (container.type()) {
    case Value::Type::String: return container.str().find(detail::need_str(item, "left operand of 'in'")) != std::string::npos;
    case Value::Type::List:
      for (const auto& v : container.items())
        if (equals(v, item)) return true;
      return false;
    case Value::Type::Dict: return container.dict_ptr()->find(item) != nullptr;
    case Value::Type::Undefined: return false;
    default: throw TemplateError("argument of type '" + container.type_name() + "' is not iterable");
  }
}

/// Follows a dotted attribute path ("a.b.0") as the `attribute=` arguments of filters do.
inline Value get_path(const Value& obj, const std::string& path) {
  Value cur = obj;
  std::size_t i = 0;
  while (i <= path.size()) {
    std::size_t j = path.find('.', i);
    if (j == std::string::npos) j = path.size();
    const std::string part = path.substr(i, j - i);
    const bool digits = !part.empty() && part.find_first_not_of("0123456789") == std::string::npos;
    cur = digits ? get_item(cur, Value(static_cast<int64_t>(std::stoll(part)))) : get_item(cur, Value(part));
    if (cur.is_undefined()) return cur;
    i = j + 1;
  }
  return cur;
}

}  // namespace llmforge::jinja
