// SPDX-License-Identifier: MIT
// jinja::Template: a parsed Jinja2 template and its renderer (scopes, loops, macros, operators),
// matching what Python's jinja2 prints for the templates models ship.
#pragma once

#include <cmath>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <llmforge/chat/jinja_access.hpp>
#include <llmforge/chat/jinja_ast.hpp>
#include <llmforge/chat/jinja_builtins.hpp>
#include <llmforge/chat/jinja_lexer.hpp>
#include <llmforge/chat/jinja_parser.hpp>
#include <llmforge/chat/jinja_value.hpp>

namespace llmforge::jinja {

/// Limits that keep hostile templates from exhausting the stack, memory or time.
struct RenderOptions {
  int max_depth = 1000;                          ///< nested evaluation (expressions, blocks, macro calls)
  int max_macro_depth = 100;                     ///< macro calls inside macro calls
  std::size_t max_output = std::size_t{1} << 28; ///< bytes of rendered text (and of any string built)
  std::size_t max_range = 10'000'000;            ///< items `range()` may produce
};

/// Variables passed to `render`, in order.
using Variables = std::vector<std::pair<std::string, Value>>;

/// A variable scope; loops and macros open child scopes, `if` blocks do not (as in Jinja2).
struct Frame {
  std::unordered_map<std::string, Value> vars;
  std::shared_ptr<Frame> parent;
  [[nodiscard]] const Value* find(const std::string& name) const {
    for (const Frame* f = this; f; f = f->parent.get()) {
      auto it = f->vars.find(name);
      if (it != f->vars.end()) return &it->second;
    }
    return nullptr;
  }
};
using FramePtr = std::shared_ptr<Frame>;

namespace detail {
/// A TemplateError that already names its line and column.
class LocatedError : public TemplateError {
 public:
  using TemplateError::TemplateError;
};
}  // namespace detail

class Template {
 public:
  /// Parses `source`. @throws TemplateError (name:line:column: what) on syntax errors, unknown
  /// filters or tests, and nesting deeper than kMaxParseDepth.
  explicit Template(std::string_view source, std::string name = "template", LexOptions opt = {})
      : src_(std::make_shared<Source>(normalize_source(source, std::move(name), opt))) {
    Parser p(*src_, lex(*src_, opt));
    body_ = std::make_shared<Body>(p.parse_template());
    for (const auto& s : *body_) validate(*s);
  }

  /// Renders with `vars` as the template's globals. @throws TemplateRaisedError when the template
  /// calls raise_exception (the message is exactly the template's); TemplateError for other failures.
  [[nodiscard]] std::string render(const Variables& vars, const RenderOptions& opt = {}) const {
    Renderer r(*src_, opt);
    auto globals = std::make_shared<Frame>();
    r.add_builtins(*globals);
    for (const auto& [k, v] : vars) globals->vars[k] = v;
    auto top = std::make_shared<Frame>(Frame{{}, globals});
    std::string out;
    r.exec(*body_, top, out);
    return out;
  }

  [[nodiscard]] const std::string& source() const noexcept { return src_->text; }

 private:
  std::shared_ptr<Source> src_;
  std::shared_ptr<Body> body_;

  void validate(const Expr& e) const {
    if (e.kind == Expr::Kind::Filter && !filters().count(e.name)) src_->fail(e.pos, "no filter named '" + e.name + "'");
    if (e.kind == Expr::Kind::Test && !tests().count(e.name)) src_->fail(e.pos, "no test named '" + e.name + "'");
    for (const auto& a : e.args)
      if (a) validate(*a);
    for (const auto& kv : e.kwargs) validate(*kv.second);
  }
  void validate(const Stmt& s) const {
    for (const Expr* e : {s.expr.get(), s.cond.get(), s.target_obj.get()})
      if (e) validate(*e);
    for (const auto& f : s.filters) validate(*f);
    for (const auto& p : s.params)
      if (p.fallback) validate(*p.fallback);
    for (const auto& [c, b] : s.branches) {
      validate(*c);
      for (const auto& x : b) validate(*x);
    }
    for (const auto& x : s.body) validate(*x);
    for (const auto& x : s.else_body) validate(*x);
  }

  enum class Flow { Normal, Break, Continue };

  class Renderer {
   public:
    Renderer(const Source& src, const RenderOptions& opt) : src_(src), opt_(opt) {}
    Renderer(const Renderer&) = delete;
    Renderer& operator=(const Renderer&) = delete;
    ~Renderer() {
      for (auto& w : namespaces_)
        if (auto d = w.lock()) std::vector<std::pair<Value, Value>>().swap(d->items);
    }

    void add_builtins(Frame& g) {
      const std::size_t max_range = opt_.max_range;
      g.vars["range"] = Value::function("range", [max_range](CallArgs& a) {
        int64_t start = 0, stop = 0, step = 1;
        if (a.args.size() == 1) {
          stop = a.args[0].as_int();
        } else if (a.args.size() >= 2) {
          start = a.args[0].as_int();
          stop = a.args[1].as_int();
          if (a.args.size() > 2) step = a.args[2].as_int();
        } else {
          throw TemplateError("range expected at least 1 argument, got 0");
        }
        if (step == 0) throw TemplateError("range() arg 3 must not be zero");
        const long double count = std::ceil((static_cast<long double>(stop) - start) / step);
        if (count > static_cast<long double>(max_range)) throw TemplateError("range() is longer than " + std::to_string(max_range) + " items");
        std::vector<Value> out;
        const auto n = count > 0 ? static_cast<int64_t>(count) : 0;
        out.reserve(static_cast<std::size_t>(n));
        for (int64_t k = 0; k < n; ++k) out.emplace_back(start + k * step);  // stays between start and stop
        return Value::list(std::move(out));
      });
      auto make_dict = [this](bool ns) {
        return [this, ns](CallArgs& a) {
          auto d = std::make_shared<DictData>();
          d->is_namespace = ns;
          if (ns) namespaces_.push_back(d);
          for (const auto& v : a.args)
            if (v.is_dict())
              for (const auto& kv : v.dict_ptr()->items) d->set(kv.first, kv.second);
          for (const auto& [k, v] : a.kwargs) d->set(Value(k), v);
          return Value(d);
        };
      };
      g.vars["namespace"] = Value::function("namespace", make_dict(true));
      g.vars["dict"] = Value::function("dict", make_dict(false));
    }

    Flow exec(const Body& body, const FramePtr& f, std::string& out) {
      for (const auto& s : body) {
        const Flow fl = exec(*s, f, out);
        if (fl != Flow::Normal) return fl;
      }
      return Flow::Normal;
    }

    Value eval(const Expr& e, const FramePtr& f) {
      Depth d(*this, e.pos);
      try {
        return eval_inner(e, f);
      } catch (const TemplateRaisedError&) {
        throw;
      } catch (const detail::LocatedError&) {
        throw;
      } catch (const TemplateError& err) {
        throw detail::LocatedError(src_.where(e.pos) + ": " + err.what());
      }
    }

   private:
    const Source& src_;
    const RenderOptions& opt_;
    int depth_ = 0;
    int macro_depth_ = 0;
    std::vector<std::weak_ptr<DictData>> namespaces_;  ///< emptied at the end: breaks cycles like `ns.self = ns`

    [[noreturn]] void fail_at(std::size_t pos, const std::string& msg) const {
      throw detail::LocatedError(src_.where(pos) + ": " + msg);
    }

    struct Depth {
      Renderer& r;
      Depth(Renderer& rr, std::size_t pos) : r(rr) {
        if (++r.depth_ > r.opt_.max_depth)
          throw detail::LocatedError(r.src_.where(pos) + ": rendering nests deeper than " + std::to_string(r.opt_.max_depth) + " levels");
      }
      ~Depth() { --r.depth_; }
    };

    void emit(std::string& out, std::string_view s, std::size_t pos) const {
      if (out.size() + s.size() > opt_.max_output)
        throw detail::LocatedError(src_.where(pos) + ": output is larger than " + std::to_string(opt_.max_output) + " bytes");
      out += s;
    }

    void assign(Frame& f, const std::vector<std::string>& targets, const Value& v, std::size_t pos) {
      if (targets.size() == 1) {
        f.vars[targets[0]] = v;
        return;
      }
      const auto items = iterate(v);
      if (items.size() != targets.size())
        fail_at(pos, (items.size() > targets.size() ? "too many values to unpack (expected " : "not enough values to unpack (expected ") +
                           std::to_string(targets.size()) + ", got " + std::to_string(items.size()) + ")");
      for (std::size_t i = 0; i < targets.size(); ++i) f.vars[targets[i]] = items[i];
    }

    Value apply_filters(const std::vector<ExprPtr>& fs, Value v, const FramePtr& f) {
      for (const auto& fe : fs) {
        CallArgs a = eval_args(*fe, 1, f);
        v = detail::apply_filter(fe->name, v, a);
      }
      return v;
    }

    Flow exec(const Stmt& s, const FramePtr& f, std::string& out) {
      Depth d(*this, s.pos);
      switch (s.kind) {
        case Stmt::Kind::Text: emit(out, s.text, s.pos); return Flow::Normal;
        case Stmt::Kind::Output: emit(out, to_str(eval(*s.expr, f)), s.pos); return Flow::Normal;
        case Stmt::Kind::If:
          for (const auto& [cond, body] : s.branches)
            if (eval(*cond, f).truthy()) return exec(body, f, out);
          return exec(s.else_body, f, out);
        case Stmt::Kind::For: return exec_for(s, f, out);
        case Stmt::Kind::Set: {
          Value v = eval(*s.expr, f);
          if (s.target_obj) {
            const Value ns = eval(*s.target_obj, f);
            if (!ns.is_dict() || !ns.dict_ptr()->is_namespace)
              fail_at(s.pos, "cannot assign attribute '" + s.name + "' on a non-namespace object");
            ns.dict_ptr()->set(Value(s.name), std::move(v));
          } else {
            assign(*f, s.targets, v, s.pos);
          }
          return Flow::Normal;
        }
        case Stmt::Kind::SetBlock: {
          std::string text;
          exec(s.body, f, text);
          f->vars[s.targets[0]] = apply_filters(s.filters, Value(std::move(text)), f);
          return Flow::Normal;
        }
        case Stmt::Kind::FilterBlock: {
          std::string text;
          const Flow fl = exec(s.body, f, text);
          emit(out, to_str(apply_filters(s.filters, Value(std::move(text)), f)), s.pos);
          return fl;
        }
        case Stmt::Kind::Macro: f->vars[s.name] = make_macro(s, f); return Flow::Normal;
        case Stmt::Kind::Break: return Flow::Break;
        case Stmt::Kind::Continue: return Flow::Continue;
      }
      return Flow::Normal;
    }

    Flow exec_for(const Stmt& s, const FramePtr& f, std::string& out) {
      std::vector<Value> items = iterate(eval(*s.expr, f));
      if (s.cond) {
        std::vector<Value> kept;
        for (auto& it : items) {
          auto probe = std::make_shared<Frame>(Frame{{}, f});
          assign(*probe, s.targets, it, s.pos);
          if (eval(*s.cond, probe).truthy()) kept.push_back(std::move(it));
        }
        items = std::move(kept);
      }
      if (items.empty()) return exec(s.else_body, std::make_shared<Frame>(Frame{{}, f}), out);
      const auto n = static_cast<int64_t>(items.size());
      for (int64_t i = 0; i < n; ++i) {
        auto it = std::make_shared<Frame>(Frame{{}, f});
        assign(*it, s.targets, items[static_cast<std::size_t>(i)], s.pos);
        auto loop = std::make_shared<DictData>();
        auto put = [&](const char* k, Value v) {
          loop->depth = std::max(loop->depth, depth_of(v) + 1);
          loop->items.emplace_back(Value(k), std::move(v));
        };
        put("index", Value(i + 1));
        put("index0", Value(i));
        put("revindex", Value(n - i));
        put("revindex0", Value(n - i - 1));
        put("first", Value(i == 0));
        put("last", Value(i == n - 1));
        put("length", Value(n));
        put("depth", Value(int64_t{1}));
        put("depth0", Value(int64_t{0}));
        put("previtem", i > 0 ? items[static_cast<std::size_t>(i - 1)] : Value::undefined("there is no previous item"));
        put("nextitem", i + 1 < n ? items[static_cast<std::size_t>(i + 1)] : Value::undefined("there is no next item"));
        put("cycle", Value::function("cycle", [i](CallArgs& a) {
              if (a.args.empty()) throw TemplateError("no items for cycling given");
              return a.args[static_cast<std::size_t>(i) % a.args.size()];
            }));
        it->vars["loop"] = Value(loop);
        if (exec(s.body, it, out) == Flow::Break) break;
      }
      return Flow::Normal;
    }

    Value make_macro(const Stmt& s, const FramePtr& f) {
      std::weak_ptr<Frame> closure = f;
      const Stmt* stmt = &s;
      return Value::function(s.name, [this, stmt, closure](CallArgs& a) {
        auto parent = closure.lock();
        if (!parent) throw TemplateError("macro '" + stmt->name + "' called after its scope ended");
        if (macro_depth_ >= opt_.max_macro_depth)
          throw TemplateError("macro '" + stmt->name + "' nests deeper than " + std::to_string(opt_.max_macro_depth) + " calls");
        struct Guard {
          int& d;
          ~Guard() { --d; }
        } guard{++macro_depth_};
        auto frame = std::make_shared<Frame>(Frame{{}, parent});
        for (std::size_t i = 0; i < stmt->params.size(); ++i) {
          const Param& p = stmt->params[i];
          if (a.has(i, p.name)) frame->vars[p.name] = a.get(i, p.name);
          else frame->vars[p.name] = p.fallback ? eval(*p.fallback, frame) : Value::undefined("'" + p.name + "' is undefined");
        }
        for (const auto& [k, v] : a.kwargs) {
          bool known = false;
          for (const auto& p : stmt->params) known = known || p.name == k;
          if (!known) throw TemplateError("macro '" + stmt->name + "' takes no keyword argument '" + k + "'");
        }
        std::vector<Value> extra;
        for (std::size_t i = stmt->params.size(); i < a.args.size(); ++i) extra.push_back(a.args[i]);
        frame->vars["varargs"] = Value::list(std::move(extra));
        std::string text;
        exec(stmt->body, frame, text);
        return Value(std::move(text));
      });
    }

    CallArgs eval_args(const Expr& e, std::size_t first, const FramePtr& f) {
      CallArgs a;
      for (std::size_t i = first; i < e.args.size(); ++i) a.args.push_back(eval(*e.args[i], f));
      for (const auto& [k, v] : e.kwargs) a.kwargs.emplace_back(k, eval(*v, f));
      return a;
    }

    Value eval_inner(const Expr& e, const FramePtr& f) {
      switch (e.kind) {
        case Expr::Kind::Literal: return e.value;
        case Expr::Kind::Name: {
          const Value* v = f->find(e.name);
          return v ? *v : Value::undefined("'" + e.name + "' is undefined");
        }
        case Expr::Kind::List:
        case Expr::Kind::Tuple: {
          std::vector<Value> items;
          for (const auto& a : e.args) items.push_back(eval(*a, f));
          return Value::list(std::move(items), e.kind == Expr::Kind::Tuple);
        }
        case Expr::Kind::Dict: {
          auto d = std::make_shared<DictData>();
          for (std::size_t i = 0; i + 1 < e.args.size(); i += 2) d->set(eval(*e.args[i], f), eval(*e.args[i + 1], f));
          return Value(d);
        }
        case Expr::Kind::Attr: return get_attr(eval(*e.args[0], f), e.name);
        case Expr::Kind::Item: return get_item(eval(*e.args[0], f), eval(*e.args[1], f));
        case Expr::Kind::Slice: {
          auto opt = [&](std::size_t i) { return e.args[i] ? eval(*e.args[i], f) : Value(None{}); };
          return get_slice(eval(*e.args[0], f), opt(1), opt(2), opt(3));
        }
        case Expr::Kind::Call: {
          const Value callee = eval(*e.args[0], f);
          CallArgs a = eval_args(e, 1, f);
          if (callee.is_undefined()) fail_undefined(callee);
          if (!callee.is_function()) throw TemplateError("'" + callee.type_name() + "' object is not callable");
          a.callee = callee.function_ptr()->name;
          return callee.function_ptr()->call(a);
        }
        case Expr::Kind::Filter: {
          const Value subject = eval(*e.args[0], f);
          CallArgs a = eval_args(e, 1, f);
          Value r = detail::apply_filter(e.name, subject, a);
          if (r.is_string() && r.str().size() > opt_.max_output) throw TemplateError("filter result is too large");
          return r;
        }
        case Expr::Kind::Test: {
          const Value subject = eval(*e.args[0], f);
          CallArgs a = eval_args(e, 1, f);
          return Value(detail::apply_test(e.name, subject, a) != e.negated);
        }
        case Expr::Kind::Unary: {
          const Value v = eval(*e.args[0], f);
          if (e.name == "not") return Value(!v.truthy());
          if (v.is_undefined()) fail_undefined(v);
          if (!v.is_number()) throw TemplateError("bad operand type for unary " + e.name + ": '" + v.type_name() + "'");
          if (e.name == "+") return v.is_float() ? v : Value(v.as_int());
          if (!v.is_float() && v.as_int() == INT64_MIN) throw TemplateError("integer result does not fit in 64 bits");
          return v.is_float() ? Value(-v.as_double()) : Value(-v.as_int());
        }
        case Expr::Kind::Cond:
          if (eval(*e.args[0], f).truthy()) return eval(*e.args[1], f);
          return e.args[2] ? eval(*e.args[2], f) : Value::undefined("the inline if-expression had no else branch");
        case Expr::Kind::Binary: return eval_binary(e, f);
      }
      return Value();
    }

    Value eval_binary(const Expr& e, const FramePtr& f) {
      const std::string& op = e.name;
      Value a = eval(*e.args[0], f);
      if (op == "and") return a.truthy() ? eval(*e.args[1], f) : a;
      if (op == "or") return a.truthy() ? a : eval(*e.args[1], f);
      Value b = eval(*e.args[1], f);
      if (op == "~") {
        std::string s = to_str(a) + to_str(b);
        if (s.size() > opt_.max_output) throw TemplateError("string is too large");
        return Value(std::move(s));
      }
      if (op == "==") return Value(equals(a, b));
      if (op == "!=") return Value(!equals(a, b));
      if (op == "in") return Value(contains(b, a));
      if (op == "not in") return Value(!contains(b, a));
      if (op == "<") return Value(less(a, b));
      if (op == ">") return Value(less(b, a));
      if (op == "<=") return Value(!less(b, a));
      if (op == ">=") return Value(!less(a, b));
      return arithmetic(op, a, b);
    }

    Value arithmetic(const std::string& op, const Value& a, const Value& b) {
      if (a.is_undefined()) fail_undefined(a);
      if (b.is_undefined()) fail_undefined(b);
      auto type_error = [&]() -> Value {
        throw TemplateError("unsupported operand type(s) for " + op + ": '" + a.type_name() + "' and '" + b.type_name() + "'");
      };
      if (op == "+") {
        if (a.is_string() && b.is_string()) {
          if (a.str().size() + b.str().size() > opt_.max_output) throw TemplateError("string is too large");
          return Value(a.str() + b.str());
        }
        if (a.is_list() && b.is_list()) {
          std::vector<Value> items = a.items();
          items.insert(items.end(), b.items().begin(), b.items().end());
          return Value::list(std::move(items), a.list_ptr()->tuple);
        }
      }
      if (op == "*" && (a.is_string() || a.is_list() || b.is_string() || b.is_list())) {
        const Value& seq = a.is_string() || a.is_list() ? a : b;
        const Value& count = &seq == &a ? b : a;
        if (!count.is_int() && !count.is_bool()) return type_error();
        const int64_t n = std::max<int64_t>(0, count.as_int());
        const std::size_t unit = seq.is_string() ? seq.str().size() : seq.items().size();
        if (unit == 0) return seq.is_string() ? Value("") : Value::list();
        if (static_cast<std::size_t>(n) > opt_.max_output / unit) throw TemplateError("repetition result is too large");
        if (seq.is_string()) {
          std::string s;
          for (int64_t i = 0; i < n; ++i) s += seq.str();
          return Value(std::move(s));
        }
        std::vector<Value> items;
        for (int64_t i = 0; i < n; ++i) items.insert(items.end(), seq.items().begin(), seq.items().end());
        return Value::list(std::move(items));
      }
      if (!a.is_number() || !b.is_number()) {
        if (op == "%" && a.is_string()) throw TemplateError("printf-style string formatting ('%') is not supported");
        return type_error();
      }
      const bool fl = a.is_float() || b.is_float();
      const double x = a.as_double(), y = b.as_double();
      // Python's integers do not overflow; ours are 64-bit, so overflow is an error rather than a wrong number.
      auto checked = [](bool overflow, const int64_t& r) {  // r by reference: read after the builtin wrote it
        if (overflow) throw TemplateError("integer result does not fit in 64 bits");
        return Value(r);
      };
      int64_t r = 0;
      if (op == "+") return fl ? Value(x + y) : checked(__builtin_add_overflow(a.as_int(), b.as_int(), &r), r);
      if (op == "-") return fl ? Value(x - y) : checked(__builtin_sub_overflow(a.as_int(), b.as_int(), &r), r);
      if (op == "*") return fl ? Value(x * y) : checked(__builtin_mul_overflow(a.as_int(), b.as_int(), &r), r);
      if (op == "/") {
        if (y == 0) throw TemplateError("division by zero");
        return Value(x / y);
      }
      if (op == "//" || op == "%") {
        if (y == 0) throw TemplateError(op == "//" ? "integer division or modulo by zero" : "modulo by zero");
        if (fl) {
          const double q = std::floor(x / y);
          return op == "//" ? Value(q) : Value(x - q * y);
        }
        const int64_t p = a.as_int(), q = b.as_int();
        if (p == INT64_MIN && q == -1) throw TemplateError("integer result does not fit in 64 bits");
        // Python rounds the quotient down and gives the remainder the divisor's sign.
        int64_t d = p / q, m = p % q;
        if (m != 0 && ((m < 0) != (q < 0))) {
          --d;
          m += q;
        }
        return op == "//" ? Value(d) : Value(m);
      }
      if (op == "**") {
        if (!fl && b.as_int() >= 0) {  // by squaring, with overflow checks
          int64_t base = a.as_int(), e = b.as_int(), p = 1;
          while (e > 0) {
            if ((e & 1) && __builtin_mul_overflow(p, base, &p)) throw TemplateError("integer result does not fit in 64 bits");
            e >>= 1;
            if (e && __builtin_mul_overflow(base, base, &base)) throw TemplateError("integer result does not fit in 64 bits");
          }
          return Value(p);
        }
        return Value(std::pow(x, y));
      }
      return type_error();
    }
  };
};

}  // namespace llmforge::jinja
