// SPDX-License-Identifier: MIT
// The built-in filters (`x | trim`) and tests (`x is defined`) of the Jinja engine, following
// Jinja2 3.1, with `tojson` as Hugging Face's chat-template environment defines it.
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <llmforge/chat/jinja_access.hpp>
#include <llmforge/chat/jinja_python.hpp>
#include <llmforge/chat/jinja_value.hpp>

namespace llmforge::jinja {

using FilterFn = std::function<Value(const Value& subject, CallArgs& args)>;
using TestFn = std::function<bool(const Value& subject, CallArgs& args)>;

const std::map<std::string, FilterFn, std::less<>>& filters();
const std::map<std::string, TestFn, std::less<>>& tests();

namespace detail {

/// Text of a value as filters see it (undefined is empty).
inline std::string text_of(const Value& v) { return to_str(v); }

inline Value apply_filter(std::string_view name, const Value& v, CallArgs& a) {
  const auto& f = filters();
  auto it = f.find(name);
  if (it == f.end()) throw TemplateError("no filter named '" + std::string(name) + "'");
  return it->second(v, a);
}
inline bool apply_test(std::string_view name, const Value& v, CallArgs& a) {
  const auto& t = tests();
  auto it = t.find(name);
  if (it == t.end()) throw TemplateError("no test named '" + std::string(name) + "'");
  return it->second(v, a);
}

/// The arguments after the first `skip` positional ones (for map/select passing extra arguments on).
inline CallArgs rest_args(const CallArgs& a, std::size_t skip) {
  CallArgs r;
  for (std::size_t i = skip; i < a.args.size(); ++i) r.args.push_back(a.args[i]);
  for (const auto& kv : a.kwargs)
    if (kv.first != "attribute" && kv.first != "default") r.kwargs.push_back(kv);
  return r;
}

/// select / reject / selectattr / rejectattr.
inline Value select_items(const Value& seq, CallArgs& a, bool by_attr, bool keep) {
  std::vector<Value> out;
  const std::size_t name_at = by_attr ? 1 : 0;
  const std::string attr = by_attr ? text_of(a.get(0, "attribute")) : std::string();
  for (const auto& item : iterate(seq)) {
    const Value subject = by_attr ? get_path(item, attr) : item;
    bool ok;
    if (a.args.size() > name_at) {
      CallArgs ta = rest_args(a, name_at + 1);
      ok = apply_test(text_of(a.args[name_at]), subject, ta);
    } else {
      ok = subject.truthy();
    }
    if (ok == keep) out.push_back(item);
  }
  return Value::list(std::move(out));
}

/// Sort key for sort/unique/dictsort: lower-cased strings unless case-sensitive.
inline Value sort_key(const Value& v, bool case_sensitive) {
  return !case_sensitive && v.is_string() ? Value(py::lower(v.str())) : v;
}

inline Value do_round(const Value& v, CallArgs& a) {
  const int64_t prec = a.get(0, "precision", Value(int64_t{0})).as_int();
  const std::string method = text_of(a.get(1, "method", Value("common")));
  if (method == "common" && (v.is_int() || v.is_bool())) return Value(v.as_int());  // Python's round(int, n) stays int
  const double scale = std::pow(10.0, static_cast<double>(prec));
  const double x = v.as_double() * scale;
  double r;
  if (method == "common") {
    // Python's round(): to nearest, ties to even, on the decimal value.
    r = std::nearbyint(x);
    if (std::fabs(x - std::trunc(x)) != 0.5) r = std::round(x);
  } else if (method == "ceil") {
    r = std::ceil(x);
  } else if (method == "floor") {
    r = std::floor(x);
  } else {
    throw TemplateError("round: method must be 'common', 'ceil' or 'floor'");
  }
  return Value(r / scale);
}

/// A width or count argument, refused beyond `kMaxWidth` (so `indent(10**18)` is an error, not an allocation).
inline constexpr int64_t kMaxWidth = int64_t{1} << 20;
inline std::size_t width_arg(const Value& w, const char* what) {
  const int64_t n = w.as_int();
  if (n > kMaxWidth) throw TemplateError(std::string(what) + " " + std::to_string(n) + " is larger than " + std::to_string(kMaxWidth));
  return static_cast<std::size_t>(std::max<int64_t>(0, n));
}

inline Value do_indent(const Value& v, CallArgs& a) {
  const Value w = a.get(0, "width", Value(int64_t{4}));
  const std::string ind = w.is_string() ? w.str() : std::string(width_arg(w, "indent width"), ' ');
  const bool first = a.get(1, "first", Value(false)).truthy();
  const bool blank = a.get(2, "blank", Value(false)).truthy();
  const std::string s = text_of(v) + "\n";
  std::vector<std::string> lines;
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t j = s.find_first_of("\r\n", i);
    lines.push_back(s.substr(i, j - i));
    i = j + ((j + 1 < s.size() && s[j] == '\r' && s[j + 1] == '\n') ? 2 : 1);
  }
  std::string out = lines.empty() ? std::string() : lines[0];
  for (std::size_t k = 1; k < lines.size(); ++k) out += "\n" + ((blank || !lines[k].empty()) ? ind + lines[k] : lines[k]);
  return Value(first ? ind + out : out);
}

inline Value do_tojson(const Value& v, CallArgs& a) {
  py::JsonOptions o;
  o.ensure_ascii = a.get(999, "ensure_ascii", Value(false)).truthy();
  const Value indent = a.get(0, "indent", Value(None{}));
  if (!indent.is_none()) {
    o.indent_set = true;
    o.indent = indent.is_string() ? indent.str() : std::string(width_arg(indent, "tojson indent"), ' ');
    o.item_sep = ",";
  }
  const Value seps = a.get(999, "separators", Value(None{}));
  if (seps.is_list() && seps.items().size() == 2) {
    o.item_sep = text_of(seps.items()[0]);
    o.key_sep = text_of(seps.items()[1]);
  }
  o.sort_keys = a.get(999, "sort_keys", Value(false)).truthy();
  std::string out;
  py::dump_json(out, v, o);
  return Value(out);
}

/// Python's int(float), refused (rather than undefined behaviour) outside the 64-bit range.
inline Value float_to_int(double d) {
  if (!(d > -9.2233720368547758e18 && d < 9.2233720368547758e18)) throw TemplateError("cannot convert " + float_repr(d) + " to a 64-bit integer");
  return Value(static_cast<int64_t>(d));
}

inline Value to_int(const Value& v, CallArgs& a) {
  const Value dflt = a.get(0, "default", Value(int64_t{0}));
  if (v.is_int() || v.is_bool()) return Value(v.as_int());
  if (v.is_float()) return float_to_int(v.as_double());
  if (v.is_string()) {
    const std::string s = py::strip(v.str(), Value(), true, true);
    try {
      std::size_t used = 0;
      const long long i = std::stoll(s, &used, static_cast<int>(a.get(1, "base", Value(int64_t{10})).as_int()));
      if (used == s.size()) return Value(static_cast<int64_t>(i));
      const double d = std::stod(s, &used);
      if (used == s.size()) return float_to_int(d);
    } catch (const std::exception&) {
    }
  }
  return dflt;
}

inline Value to_float(const Value& v, CallArgs& a) {
  const Value dflt = a.get(0, "default", Value(0.0));
  if (v.is_number()) return Value(v.as_double());
  if (v.is_string()) {
    const std::string s = py::strip(v.str(), Value(), true, true);
    try {
      std::size_t used = 0;
      const double d = std::stod(s, &used);
      if (used == s.size()) return Value(d);
    } catch (const std::exception&) {
    }
  }
  return dflt;
}

inline Value sorted(const Value& v, CallArgs& a) {
  const bool rev = a.get(0, "reverse", Value(false)).truthy();
  const bool cs = a.get(1, "case_sensitive", Value(false)).truthy();
  const Value attr = a.get(2, "attribute");
  std::vector<Value> items = iterate(v);
  auto key = [&](const Value& x) { return sort_key(attr.is_string() ? get_path(x, attr.str()) : x, cs); };
  std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) { return rev ? less(key(y), key(x)) : less(key(x), key(y)); });
  return Value::list(std::move(items));
}

inline Value unique(const Value& v, CallArgs& a) {
  const bool cs = a.get(0, "case_sensitive", Value(false)).truthy();
  const Value attr = a.get(1, "attribute");
  std::vector<Value> out, seen;
  for (const auto& x : iterate(v)) {
    const Value k = sort_key(attr.is_string() ? get_path(x, attr.str()) : x, cs);
    if (std::none_of(seen.begin(), seen.end(), [&](const Value& s) { return equals(s, k); })) {
      seen.push_back(k);
      out.push_back(x);
    }
  }
  return Value::list(std::move(out));
}

inline Value dictsort(const Value& v, CallArgs& a) {
  if (!v.is_dict()) throw TemplateError("dictsort: expected a mapping, got " + v.type_name());
  const bool cs = a.get(0, "case_sensitive", Value(false)).truthy();
  const bool by_value = text_of(a.get(1, "by", Value("key"))) == "value";
  const bool rev = a.get(2, "reverse", Value(false)).truthy();
  std::vector<Value> items;
  for (const auto& [k, x] : v.dict_ptr()->items) items.push_back(Value::list({k, x}, true));
  std::stable_sort(items.begin(), items.end(), [&](const Value& p, const Value& q) {
    const Value kp = sort_key(p.items()[by_value ? 1 : 0], cs), kq = sort_key(q.items()[by_value ? 1 : 0], cs);
    return rev ? less(kq, kp) : less(kp, kq);
  });
  return Value::list(std::move(items));
}

inline Value mapped(const Value& v, CallArgs& a) {
  std::vector<Value> out;
  const Value attr = a.get(999, "attribute");
  for (const auto& x : iterate(v)) {
    if (attr.is_string()) {
      Value r = get_path(x, attr.str());
      if (r.is_undefined() && a.has(999, "default")) r = a.get(999, "default");
      out.push_back(r);
    } else {
      if (a.args.empty()) throw TemplateError("map: give a filter name or attribute=");
      CallArgs fa = rest_args(a, 1);
      out.push_back(apply_filter(text_of(a.args[0]), x, fa));
    }
  }
  return Value::list(std::move(out));
}

}  // namespace detail

/// The filter table, by name.
inline const std::map<std::string, FilterFn, std::less<>>& filters() {
  using namespace detail;
  static const std::map<std::string, FilterFn, std::less<>> table = [] {
    std::map<std::string, FilterFn, std::less<>> t;
    t["trim"] = [](const Value& v, CallArgs& a) { return Value(py::strip(text_of(v), a.get(0, "chars"), true, true)); };
    t["upper"] = [](const Value& v, CallArgs&) { return Value(py::upper(text_of(v))); };
    t["lower"] = [](const Value& v, CallArgs&) { return Value(py::lower(text_of(v))); };
    t["capitalize"] = [](const Value& v, CallArgs&) { return Value(py::capitalize(text_of(v))); };
    t["title"] = [](const Value& v, CallArgs&) { return Value(py::title_words(text_of(v))); };
    t["length"] = [](const Value& v, CallArgs&) { return Value(length_of(v)); };
    t["count"] = t["length"];
    t["first"] = [](const Value& v, CallArgs&) {
      auto items = iterate(v);
      return items.empty() ? Value::undefined("first: sequence is empty") : items.front();
    };
    t["last"] = [](const Value& v, CallArgs&) {
      auto items = iterate(v);
      return items.empty() ? Value::undefined("last: sequence is empty") : items.back();
    };
    t["join"] = [](const Value& v, CallArgs& a) {
      const std::string sep = text_of(a.get(0, "d", Value("")));
      const Value attr = a.get(1, "attribute");
      std::string out;
      bool first = true;
      for (const auto& x : iterate(v)) {
        if (!first) out += sep;
        out += text_of(attr.is_string() ? get_path(x, attr.str()) : x);
        first = false;
      }
      return Value(out);
    };
    t["default"] = [](const Value& v, CallArgs& a) {
      const bool boolean = a.get(1, "boolean", Value(false)).truthy();
      if (v.is_undefined() || (boolean && !v.truthy())) return a.get(0, "default_value", Value(""));
      return v;
    };
    t["d"] = t["default"];
    t["replace"] = [](const Value& v, CallArgs& a) {
      return Value(py::replace(text_of(v), text_of(a.get(0, "old")), text_of(a.get(1, "new")), a.get(2, "count", Value(int64_t{-1})).as_int()));
    };
    t["list"] = [](const Value& v, CallArgs&) { return Value::list(iterate(v)); };
    t["items"] = [](const Value& v, CallArgs&) {
      if (v.is_undefined()) return Value::list();
      if (!v.is_dict()) throw TemplateError("items: expected a mapping, got " + v.type_name());
      CallArgs none;
      return get_attr(v, "items").function_ptr()->call(none);
    };
    t["tojson"] = do_tojson;
    t["string"] = [](const Value& v, CallArgs&) { return Value(text_of(v)); };
    t["int"] = to_int;
    t["float"] = to_float;
    t["abs"] = [](const Value& v, CallArgs&) {
      if (v.is_float()) return Value(std::fabs(v.as_double()));
      if (v.is_int() || v.is_bool()) {
        if (v.as_int() == INT64_MIN) throw TemplateError("integer result does not fit in 64 bits");
        return Value(v.as_int() < 0 ? -v.as_int() : v.as_int());
      }
      throw TemplateError("bad operand type for abs(): '" + v.type_name() + "'");
    };
    t["round"] = do_round;
    t["safe"] = [](const Value& v, CallArgs&) { return v; };
    t["escape"] = [](const Value& v, CallArgs&) { return Value(py::html_escape(text_of(v))); };
    t["e"] = t["escape"];
    t["map"] = mapped;
    t["select"] = [](const Value& v, CallArgs& a) { return select_items(v, a, false, true); };
    t["reject"] = [](const Value& v, CallArgs& a) { return select_items(v, a, false, false); };
    t["selectattr"] = [](const Value& v, CallArgs& a) { return select_items(v, a, true, true); };
    t["rejectattr"] = [](const Value& v, CallArgs& a) { return select_items(v, a, true, false); };
    t["unique"] = unique;
    t["sort"] = sorted;
    t["dictsort"] = dictsort;
    t["reverse"] = [](const Value& v, CallArgs&) {
      if (v.is_string()) return get_slice(v, Value(None{}), Value(None{}), Value(int64_t{-1}));
      auto items = iterate(v);
      std::reverse(items.begin(), items.end());
      return Value::list(std::move(items));
    };
    t["indent"] = do_indent;
    t["wordcount"] = [](const Value& v, CallArgs&) { return Value(static_cast<int64_t>(py::split(text_of(v), Value(), -1).size())); };
    t["batch"] = [](const Value& v, CallArgs& a) {
      const auto n = static_cast<int64_t>(width_arg(a.get(0, "linecount"), "batch linecount"));
      if (n <= 0) throw TemplateError("batch: linecount must be positive");
      const Value fill = a.get(1, "fill_with", Value(None{}));
      std::vector<Value> out, cur;
      for (const auto& x : iterate(v)) {
        cur.push_back(x);
        if (static_cast<int64_t>(cur.size()) == n) out.push_back(Value::list(std::exchange(cur, {})));
      }
      if (!cur.empty()) {
        if (!fill.is_none())
          while (static_cast<int64_t>(cur.size()) < n) cur.push_back(fill);
        out.push_back(Value::list(std::move(cur)));
      }
      return Value::list(std::move(out));
    };
    t["sum"] = [](const Value& v, CallArgs& a) {
      const Value attr = a.get(0, "attribute");
      Value acc = a.get(1, "start", Value(int64_t{0}));
      for (const auto& x : iterate(v)) {
        const Value y = attr.is_string() ? get_path(x, attr.str()) : x;
        int64_t r = 0;
        if (acc.is_float() || y.is_float()) acc = Value(acc.as_double() + y.as_double());
        else if (__builtin_add_overflow(acc.as_int(), y.as_int(), &r)) throw TemplateError("sum does not fit in 64 bits");
        else acc = Value(r);
      }
      return acc;
    };
    t["min"] = [](const Value& v, CallArgs&) {
      auto items = iterate(v);
      if (items.empty()) return Value::undefined("min: sequence is empty");
      return *std::min_element(items.begin(), items.end(), [](const Value& x, const Value& y) { return less(x, y); });
    };
    t["max"] = [](const Value& v, CallArgs&) {
      auto items = iterate(v);
      if (items.empty()) return Value::undefined("max: sequence is empty");
      return *std::max_element(items.begin(), items.end(), [](const Value& x, const Value& y) { return less(x, y); });
    };
    t["attr"] = [](const Value& v, CallArgs& a) { return get_attr(v, text_of(a.get(0, "name"))); };
    t["center"] = [](const Value& v, CallArgs& a) {
      const std::string s = text_of(v);
      const std::size_t w = width_arg(a.get(0, "width", Value(int64_t{80})), "center width");
      const std::size_t n = py::length(s);
      if (w <= n) return Value(s);
      const std::size_t total = w - n, left = total / 2 + (total & w & 1);
      return Value(std::string(left, ' ') + s + std::string(total - left, ' '));
    };
    return t;
  }();
  return table;
}

/// The test table, by name.
inline const std::map<std::string, TestFn, std::less<>>& tests() {
  static const std::map<std::string, TestFn, std::less<>> table = [] {
    std::map<std::string, TestFn, std::less<>> t;
    t["defined"] = [](const Value& v, CallArgs&) { return !v.is_undefined(); };
    t["undefined"] = [](const Value& v, CallArgs&) { return v.is_undefined(); };
    t["none"] = [](const Value& v, CallArgs&) { return v.is_none(); };
    t["string"] = [](const Value& v, CallArgs&) { return v.is_string(); };
    t["number"] = [](const Value& v, CallArgs&) { return v.is_number(); };
    t["integer"] = [](const Value& v, CallArgs&) { return v.is_int(); };
    t["float"] = [](const Value& v, CallArgs&) { return v.is_float(); };
    t["boolean"] = [](const Value& v, CallArgs&) { return v.is_bool(); };
    t["true"] = [](const Value& v, CallArgs&) { return v.is_bool() && v.as_bool(); };
    t["false"] = [](const Value& v, CallArgs&) { return v.is_bool() && !v.as_bool(); };
    t["mapping"] = [](const Value& v, CallArgs&) { return v.is_dict() && !v.dict_ptr()->is_namespace; };
    t["iterable"] = [](const Value& v, CallArgs&) { return v.is_list() || v.is_dict() || v.is_string() || v.is_undefined(); };
    t["sequence"] = [](const Value& v, CallArgs&) { return v.is_list() || v.is_dict() || v.is_string(); };
    t["callable"] = [](const Value& v, CallArgs&) { return v.is_function(); };
    t["even"] = [](const Value& v, CallArgs&) { return v.as_int() % 2 == 0; };
    t["odd"] = [](const Value& v, CallArgs&) { return v.as_int() % 2 != 0; };
    t["divisibleby"] = [](const Value& v, CallArgs& a) {
      const int64_t n = a.get(0, "num").as_int();
      if (n == 0) throw TemplateError("divisibleby: division by zero");
      return v.as_int() % n == 0;
    };
    t["eq"] = [](const Value& v, CallArgs& a) { return equals(v, a.get(0, "other")); };
    t["equalto"] = t["eq"];
    t["=="] = t["eq"];
    t["ne"] = [](const Value& v, CallArgs& a) { return !equals(v, a.get(0, "other")); };
    t["!="] = t["ne"];
    t["lt"] = [](const Value& v, CallArgs& a) { return less(v, a.get(0, "other")); };
    t["lessthan"] = t["lt"];
    t["gt"] = [](const Value& v, CallArgs& a) { return less(a.get(0, "other"), v); };
    t["greaterthan"] = t["gt"];
    t["le"] = [](const Value& v, CallArgs& a) { return !less(a.get(0, "other"), v); };
    t["ge"] = [](const Value& v, CallArgs& a) { return !less(v, a.get(0, "other")); };
    t["in"] = [](const Value& v, CallArgs& a) { return contains(a.get(0, "seq"), v); };
    t["sameas"] = [](const Value& v, CallArgs& a) {
      const Value o = a.get(0, "other");
      return v.type() == o.type() && (v.is_none() || v.is_bool() ? equals(v, o) : false);
    };
    t["lower"] = [](const Value& v, CallArgs&) { return v.is_string() && py::lower(v.str()) == v.str(); };
    t["upper"] = [](const Value& v, CallArgs&) { return v.is_string() && py::upper(v.str()) == v.str(); };
    t["escaped"] = [](const Value&, CallArgs&) { return false; };
    return t;
  }();
  return table;
}

}  // namespace llmforge::jinja
