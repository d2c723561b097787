// SPDX-License-Identifier: MIT
// jinja::Parser: turns the token stream of jinja_lexer.hpp into a syntax tree, with Jinja2's
// operator precedence and statements (if, for, set, macro, filter, break, continue).
#pragma once

#include <algorithm>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <llmforge/chat/jinja_ast.hpp>
#include <llmforge/chat/jinja_lexer.hpp>

namespace llmforge::jinja {

/// Nesting deeper than this (brackets, operators, blocks) is rejected with a TemplateError, so that
/// hostile input cannot exhaust the stack.
inline constexpr int kMaxParseDepth = 200;

class Parser {
 public:
  Parser(const Source& src, std::vector<Token> tokens) : src_(src), toks_(std::move(tokens)) {}

  /// Parses the whole template. @throws TemplateError with line:column on syntax errors.
  Body parse_template() {
    Body b = parse_body({});
    if (peek().kind != TokenKind::End) fail(peek().pos, "unexpected '" + peek_tag_name() + "'");
    return b;
  }

 private:
  const Source& src_;
  std::vector<Token> toks_;
  std::size_t i_ = 0;
  int depth_ = 0;

  struct DepthGuard {
    Parser& p;
    DepthGuard(Parser& parser, std::size_t pos) : p(parser) {
      if (++p.depth_ > kMaxParseDepth)
        p.fail(pos, "template nests deeper than " + std::to_string(kMaxParseDepth) + " levels");
    }
    ~DepthGuard() { --p.depth_; }
  };

  [[noreturn]] void fail(std::size_t pos, const std::string& msg) const { src_.fail(pos, msg); }
  const Token& peek(std::size_t k = 0) const { return toks_[std::min(i_ + k, toks_.size() - 1)]; }
  const Token& next() {
    const Token& t = toks_[i_];
    if (i_ + 1 < toks_.size()) ++i_;
    return t;
  }
  bool is_op(std::string_view op, std::size_t k = 0) const { return peek(k).kind == TokenKind::Op && peek(k).text == op; }
  bool is_name(std::string_view n, std::size_t k = 0) const { return peek(k).kind == TokenKind::Name && peek(k).text == n; }
  std::string describe(const Token& t) const {
    switch (t.kind) {
      case TokenKind::End: return "end of template";
      case TokenKind::BlockEnd: return "end of block tag '%}'";
      case TokenKind::VarEnd: return "end of expression '}}'";
      case TokenKind::Text: return "text";
      case TokenKind::String: return "string literal";
      default: return "'" + t.text + "'";
    }
  }
  void expect_op(std::string_view op) {
    if (!is_op(op)) fail(peek().pos, "expected '" + std::string(op) + "', found " + describe(peek()));
    next();
  }
  std::string expect_name() {
    if (peek().kind != TokenKind::Name) fail(peek().pos, "expected a name, found " + describe(peek()));
    return next().text;
  }
  void expect_block_end() {
    if (peek().kind != TokenKind::BlockEnd) fail(peek().pos, "expected end of block tag '%}', found " + describe(peek()));
    next();
  }
  std::string peek_tag_name() const { return peek(1).kind == TokenKind::Name ? peek(1).text : describe(peek()); }

  static bool one_of(std::string_view s, std::initializer_list<std::string_view> set) {
    return std::find(set.begin(), set.end(), s) != set.end();
  }
  /// Parses `item` repeatedly, separated by commas (a trailing one allowed), up to the operator `close`.
  template <class Item>
  void comma_list(std::string_view close, Item&& item) {
    while (!is_op(close)) {
      item();
      if (!is_op(",")) break;
      next();
    }
    expect_op(close);
  }
  static ExprPtr make(Expr::Kind k, std::size_t pos) {
    auto e = std::make_unique<Expr>();
    e->kind = k;
    e->pos = pos;
    return e;
  }

  // ---------------------------------------------------------------- statements

  /// Parses statements until a block tag whose name is in `stop` (left unconsumed: its `{%` is the next token).
  Body parse_body(const std::vector<std::string_view>& stop) {
    DepthGuard g(*this, peek().pos);
    Body body;
    while (true) {
      const Token& t = peek();
      if (t.kind == TokenKind::End) {
        if (!stop.empty()) fail(t.pos, "unexpected end of template; expected '{% " + std::string(stop.back()) + " %}'");
        return body;
      }
      if (t.kind == TokenKind::Text) {
        auto s = std::make_unique<Stmt>();
        s->kind = Stmt::Kind::Text;
        s->pos = t.pos;
        s->text = next().text;
        body.push_back(std::move(s));
      } else if (t.kind == TokenKind::VarBegin) {
        auto s = std::make_unique<Stmt>();
        s->kind = Stmt::Kind::Output;
        s->pos = next().pos;
        s->expr = parse_tuple_or_expr();
        if (peek().kind != TokenKind::VarEnd) fail(peek().pos, "expected end of expression '}}', found " + describe(peek()));
        next();
        body.push_back(std::move(s));
      } else if (t.kind == TokenKind::BlockBegin) {
        if (peek(1).kind != TokenKind::Name) fail(peek(1).pos, "expected a statement name after '{%'");
        const std::string& name = peek(1).text;
        for (auto st : stop)
          if (name == st) return body;
        body.push_back(parse_statement());
      } else {
        fail(t.pos, "unexpected " + describe(t));
      }
    }
  }

  StmtPtr parse_statement() {
    const std::size_t pos = next().pos;  // {%
    const std::string name = next().text;
    auto s = std::make_unique<Stmt>();
    s->pos = pos;
    if (name == "if") return parse_if(std::move(s));
    if (name == "for") return parse_for(std::move(s));
    if (name == "set") return parse_set(std::move(s));
    if (name == "macro") return parse_macro(std::move(s));
    if (name == "filter") {
      s->kind = Stmt::Kind::FilterBlock;
      parse_block_filters(*s);
      expect_block_end();
      s->body = parse_body({"endfilter"});
      end_tag();
      return s;
    }
    if (name == "break" || name == "continue") {
      s->kind = name == "break" ? Stmt::Kind::Break : Stmt::Kind::Continue;
      expect_block_end();
      return s;
    }
    if (name == "generation") {  // HF's AssistantTracker extension: renders its body unchanged
      expect_block_end();
      s->kind = Stmt::Kind::FilterBlock;
      s->body = parse_body({"endgeneration"});
      end_tag();
      return s;
    }
    static constexpr std::string_view kEnds[] = {"endif", "endfor", "endset", "endmacro", "endfilter", "else", "elif", "endgeneration"};
    for (auto e : kEnds)
      if (name == e) fail(pos, "unexpected '{% " + name + " %}' without a matching opening tag");
    fail(pos, "unknown statement '" + name + "' (supported: if, for, set, macro, filter, break, continue, raw, generation)");
  }

  /// Consumes a closing tag such as `{% endif %}` (its name was checked by parse_body's stop list).
  void end_tag() {
    next();
    next();
    expect_block_end();
  }

  StmtPtr parse_if(StmtPtr s) {
    s->kind = Stmt::Kind::If;
    auto cond = parse_expr();
    expect_block_end();
    Body b = parse_body({"elif", "else", "endif"});
    s->branches.emplace_back(std::move(cond), std::move(b));
    while (true) {
      next();  // {%
      const std::string tag = next().text;
      if (tag == "elif") {
        auto c = parse_expr();
        expect_block_end();
        Body eb = parse_body({"elif", "else", "endif"});
        s->branches.emplace_back(std::move(c), std::move(eb));
      } else if (tag == "else") {
        expect_block_end();
        s->else_body = parse_body({"endif"});
      } else {
        expect_block_end();
        return s;
      }
    }
  }

  std::vector<std::string> parse_targets() {
    std::vector<std::string> names;
    const bool paren = is_op("(");
    if (paren) next();
    names.push_back(expect_name());
    while (is_op(",")) {
      next();
      if (peek().kind != TokenKind::Name) break;
      names.push_back(expect_name());
    }
    if (paren) expect_op(")");
    return names;
  }

  StmtPtr parse_for(StmtPtr s) {
    s->kind = Stmt::Kind::For;
    s->targets = parse_targets();
    if (!is_name("in")) fail(peek().pos, "expected 'in' in for loop, found " + describe(peek()));
    next();
    s->expr = parse_or_expr_no_cond();
    if (is_name("if")) {
      next();
      s->cond = parse_expr();
    }
    if (is_name("recursive")) fail(peek().pos, "recursive for loops are not supported");
    expect_block_end();
    s->body = parse_body({"else", "endfor"});
    next();
    if (next().text == "else") {
      expect_block_end();
      s->else_body = parse_body({"endfor"});
      end_tag();
    } else {
      expect_block_end();
    }
    return s;
  }

  StmtPtr parse_set(StmtPtr s) {
    if (peek().kind == TokenKind::Name && is_op(".", 1)) {  // set ns.attr = value
      s->kind = Stmt::Kind::Set;
      auto obj = make(Expr::Kind::Name, peek().pos);
      obj->name = next().text;
      next();
      s->target_obj = std::move(obj);
      s->name = expect_name();
      expect_op("=");
      s->expr = parse_tuple_or_expr();
      expect_block_end();
      return s;
    }
    s->targets = parse_targets();
    if (is_op("=")) {
      next();
      s->kind = Stmt::Kind::Set;
      s->expr = parse_tuple_or_expr();
      expect_block_end();
      return s;
    }
    s->kind = Stmt::Kind::SetBlock;
    if (s->targets.size() != 1) fail(s->pos, "a block set takes one name");
    if (is_op("|")) parse_block_filters(*s);
    expect_block_end();
    s->body = parse_body({"endset"});
    end_tag();
    return s;
  }

  void parse_block_filters(Stmt& s) {
    if (is_op("|")) next();
    while (true) {
      s.filters.push_back(parse_filter(nullptr));
      if (!is_op("|")) break;
      next();
    }
  }

  StmtPtr parse_macro(StmtPtr s) {
    s->kind = Stmt::Kind::Macro;
    s->name = expect_name();
    expect_op("(");
    comma_list(")", [&] {
      Param p;
      p.name = expect_name();
      if (is_op("=")) {
        next();
        p.fallback = parse_expr();
      }
      s->params.push_back(std::move(p));
    });
    expect_block_end();
    s->body = parse_body({"endmacro"});
    end_tag();
    return s;
  }

  // ---------------------------------------------------------------- expressions

  /// `a, b` at the top of an output or assignment makes a tuple.
  ExprPtr parse_tuple_or_expr() {
    const std::size_t pos = peek().pos;
    auto first = parse_expr();
    if (!is_op(",")) return first;
    auto t = make(Expr::Kind::Tuple, pos);
    t->args.push_back(std::move(first));
    while (is_op(",")) {
      next();
      if (peek().kind == TokenKind::BlockEnd || peek().kind == TokenKind::VarEnd) break;
      t->args.push_back(parse_expr());
    }
    return t;
  }

  ExprPtr parse_expr() {
    DepthGuard g(*this, peek().pos);
    const std::size_t pos = peek().pos;
    auto e = parse_or();
    if (is_name("if")) {
      next();
      auto c = make(Expr::Kind::Cond, pos);
      auto cond = parse_or();
      ExprPtr other;
      if (is_name("else")) {
        next();
        other = parse_expr();
      }
      c->args.push_back(std::move(cond));
      c->args.push_back(std::move(e));
      c->args.push_back(std::move(other));
      return c;
    }
    return e;
  }
  ExprPtr parse_or_expr_no_cond() {
    DepthGuard g(*this, peek().pos);
    return parse_or();
  }

  ExprPtr binary(std::string op, ExprPtr a, ExprPtr b, std::size_t pos) {
    auto e = make(Expr::Kind::Binary, pos);
    e->name = std::move(op);
    e->args.push_back(std::move(a));
    e->args.push_back(std::move(b));
    return e;
  }

  /// One left-associative level of binary operators (names like `or` or symbols like `+`) over `operand`.
  ExprPtr left_assoc(std::initializer_list<std::string_view> ops, ExprPtr (Parser::*operand)()) {
    auto e = (this->*operand)();
    while ((peek().kind == TokenKind::Op || peek().kind == TokenKind::Name) && one_of(peek().text, ops)) {
      const Token& t = next();
      e = binary(t.text, std::move(e), (this->*operand)(), t.pos);
    }
    return e;
  }
  // Jinja2's precedence, loosest first: or, and, not, comparisons, + -, ~, * / // %, **, unary, postfix.
  ExprPtr parse_or() { return left_assoc({"or"}, &Parser::parse_and); }
  ExprPtr parse_and() { return left_assoc({"and"}, &Parser::parse_not); }
  ExprPtr parse_not() {
    if (is_name("not")) {
      DepthGuard g(*this, peek().pos);
      auto e = make(Expr::Kind::Unary, next().pos);
      e->name = "not";
      e->args.push_back(parse_not());
      return e;
    }
    return parse_compare();
  }
  ExprPtr parse_compare() {
    auto e = parse_math1();
    while (true) {
      const std::size_t pos = peek().pos;
      std::string op;
      if ((peek().kind == TokenKind::Op && one_of(peek().text, {"==", "!=", "<", ">", "<=", ">="})) || is_name("in")) {
        op = next().text;
      } else if (is_name("not") && is_name("in", 1)) {
        next();
        next();
        op = "not in";
      } else {
        return e;
      }
      e = binary(op, std::move(e), parse_math1(), pos);
    }
  }
  ExprPtr parse_math1() { return left_assoc({"+", "-"}, &Parser::parse_concat); }
  ExprPtr parse_concat() { return left_assoc({"~"}, &Parser::parse_math2); }
  ExprPtr parse_math2() { return left_assoc({"*", "/", "//", "%"}, &Parser::parse_pow); }
  ExprPtr parse_pow() { return left_assoc({"**"}, &Parser::parse_filtered_unary); }
  ExprPtr parse_filtered_unary() { return parse_unary(true); }
  ExprPtr parse_unary(bool with_filter) {
    DepthGuard g(*this, peek().pos);
    ExprPtr e;
    if (is_op("-") || is_op("+")) {
      const Token& t = next();
      e = make(Expr::Kind::Unary, t.pos);
      e->name = t.text;
      e->args.push_back(parse_unary(false));
    } else {
      e = parse_postfix(parse_primary());
    }
    if (with_filter) e = parse_filters_and_tests(std::move(e));
    return e;
  }

  ExprPtr parse_primary() {
    const Token& t = peek();
    switch (t.kind) {
      case TokenKind::Name: {
        next();
        auto e = make(Expr::Kind::Literal, t.pos);
        if (t.text == "true" || t.text == "True") e->value = Value(true);
        else if (t.text == "false" || t.text == "False") e->value = Value(false);
        else if (t.text == "none" || t.text == "None") e->value = Value(None{});
        else {
          e->kind = Expr::Kind::Name;
          e->name = t.text;
        }
        return e;
      }
      case TokenKind::String: {
        auto e = make(Expr::Kind::Literal, t.pos);
        std::string s;
        while (peek().kind == TokenKind::String) s += next().text;  // adjacent literals concatenate
        e->value = Value(std::move(s));
        return e;
      }
      case TokenKind::Int: {
        next();
        auto e = make(Expr::Kind::Literal, t.pos);
        try {
          e->value = Value(static_cast<int64_t>(std::stoll(t.text)));
        } catch (const std::exception&) {
          e->value = Value(std::stod(t.text));
        }
        return e;
      }
      case TokenKind::Float: {
        next();
        auto e = make(Expr::Kind::Literal, t.pos);
        e->value = Value(std::stod(t.text));
        return e;
      }
      case TokenKind::Op:
        if (t.text == "(") {
          next();
          if (is_op(")")) {
            next();
            return make(Expr::Kind::Tuple, t.pos);
          }
          auto e = parse_expr();
          if (is_op(",")) {
            auto tup = make(Expr::Kind::Tuple, t.pos);
            tup->args.push_back(std::move(e));
            while (is_op(",")) {
              next();
              if (is_op(")")) break;
              tup->args.push_back(parse_expr());
            }
            e = std::move(tup);
          }
          expect_op(")");
          return e;
        }
        if (t.text == "[") {
          next();
          auto e = make(Expr::Kind::List, t.pos);
          comma_list("]", [&] { e->args.push_back(parse_expr()); });
          return e;
        }
        if (t.text == "{") {
          next();
          auto e = make(Expr::Kind::Dict, t.pos);
          comma_list("}", [&] {
            e->args.push_back(parse_expr());
            expect_op(":");
            e->args.push_back(parse_expr());
          });
          return e;
        }
        [[fallthrough]];
      default: fail(t.pos, "unexpected " + describe(t) + " in expression");
    }
  }

  void parse_call_args(Expr& e) {
    expect_op("(");
    comma_list(")", [&] {
      if (peek().kind == TokenKind::Name && is_op("=", 1)) {
        std::string k = next().text;
        next();
        e.kwargs.emplace_back(std::move(k), parse_expr());
      } else {
        if (!e.kwargs.empty()) fail(peek().pos, "positional argument follows keyword argument");
        e.args.push_back(parse_expr());
      }
    });
  }

  ExprPtr parse_call(ExprPtr callee) {
    auto c = make(Expr::Kind::Call, peek().pos);
    c->args.push_back(std::move(callee));
    parse_call_args(*c);
    return c;
  }

  ExprPtr parse_postfix(ExprPtr e) {
    while (true) {
      if (is_op(".")) {
        const std::size_t pos = next().pos;
        auto a = make(Expr::Kind::Attr, pos);
        if (peek().kind == TokenKind::Int) {  // foo.0 is foo[0]
          a->kind = Expr::Kind::Item;
          a->args.push_back(std::move(e));
          a->args.push_back(parse_primary());
        } else {
          a->name = expect_name();
          a->args.push_back(std::move(e));
        }
        e = std::move(a);
      } else if (is_op("[")) {
        const std::size_t pos = next().pos;
        ExprPtr parts[3];
        int n = 0;
        bool slice = false;
        while (true) {
          if (!is_op(":") && !is_op("]")) parts[n] = parse_expr();
          if (is_op(":") && n < 2) {
            next();
            slice = true;
            ++n;
            continue;
          }
          break;
        }
        expect_op("]");
        auto it = make(slice ? Expr::Kind::Slice : Expr::Kind::Item, pos);
        if (!slice && !parts[0]) fail(pos, "empty subscript");
        it->args.push_back(std::move(e));
        it->args.push_back(std::move(parts[0]));
        if (slice) {
          it->args.push_back(std::move(parts[1]));
          it->args.push_back(std::move(parts[2]));
        }
        e = std::move(it);
      } else if (is_op("(")) {
        e = parse_call(std::move(e));
      } else {
        return e;
      }
    }
  }

  ExprPtr parse_filter(ExprPtr subject) {
    auto f = make(Expr::Kind::Filter, peek().pos);
    f->name = expect_name();
    f->args.push_back(std::move(subject));
    if (is_op("(")) parse_call_args(*f);
    return f;
  }

  bool starts_test_argument() const {
    const Token& t = peek();
    if (t.kind == TokenKind::String || t.kind == TokenKind::Int || t.kind == TokenKind::Float) return true;
    if (t.kind == TokenKind::Op) return one_of(t.text, {"[", "{", "-"});
    return t.kind == TokenKind::Name && !one_of(t.text, {"else", "or", "and", "if", "is", "in", "not"});
  }

  ExprPtr parse_filters_and_tests(ExprPtr e) {
    while (true) {
      if (is_op("|")) {
        next();
        e = parse_filter(std::move(e));
      } else if (is_name("is")) {
        auto t = make(Expr::Kind::Test, next().pos);
        if (is_name("not")) {
          next();
          t->negated = true;
        }
        t->name = expect_name();
        t->args.push_back(std::move(e));
        if (is_op("(")) {
          parse_call_args(*t);
        } else if (starts_test_argument()) {
          t->args.push_back(parse_postfix(parse_primary()));
        }
        e = std::move(t);
      } else if (is_op("(")) {
        e = parse_call(std::move(e));
      } else {
        return e;
      }
    }
  }
};

}  // namespace llmforge::jinja
