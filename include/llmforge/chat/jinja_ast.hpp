// SPDX-License-Identifier: MIT
// The syntax tree of a parsed Jinja template: expressions and statements.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <llmforge/chat/jinja_value.hpp>

namespace llmforge::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

/// One expression node. `kind` says which fields are used:
/// - Literal: `value`; Name: `name`; List/Tuple/Dict: `args` (Dict: key, value, key, value, ...)
/// - Attr: `args[0]`.`name`; Item: `args[0]`[`args[1]`]; Slice: `args[0]`[`args[1]`:`args[2]`:`args[3]`] (null = omitted)
/// - Call: `args[0]`(`args[1..]`, `kwargs`); Filter: `args[0]` | `name`(`args[1..]`, `kwargs`)
/// - Test: `args[0]` is [not] `name`(`args[1..]`); Unary: `name` in {-, +, not}
/// - Binary: `args[0]` `name` `args[1]` (arithmetic, comparison, in, not in, and, or, ~)
/// - Cond: `args[1]` if `args[0]` else `args[2]` (null = undefined)
struct Expr {
  enum class Kind { Literal, Name, List, Tuple, Dict, Attr, Item, Slice, Call, Filter, Test, Unary, Binary, Cond };
  Kind kind;
  std::size_t pos = 0;
  std::string name;
  Value value;
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  bool negated = false;  ///< `is not`
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

/// A macro's parameter: name and optional default.
struct Param {
  std::string name;
  ExprPtr fallback;
};

/// One statement node:
/// - Text: `text`; Output: `expr`
/// - If: `branches` (condition, body) in order, an `else_body`
/// - For: `targets` in `expr` [if `cond`], `body`, `else_body`
/// - Set: `targets` = `expr` (or `target_obj`.`name` = `expr` for namespace attributes); SetBlock: `targets[0]` = rendered `body` (filtered by `filters`)
/// - Macro: `name`(`params`) `body`; CallBlock: `expr` call with `body` as caller()
/// - FilterBlock: `body` through `filters`; Break; Continue
struct Stmt {
  enum class Kind { Text, Output, If, For, Set, SetBlock, Macro, FilterBlock, Break, Continue };
  Kind kind;
  std::size_t pos = 0;
  std::string text;
  std::string name;
  ExprPtr expr;
  ExprPtr cond;
  ExprPtr target_obj;
  std::vector<std::string> targets;
  std::vector<std::pair<ExprPtr, Body>> branches;
  std::vector<Param> params;
  std::vector<ExprPtr> filters;  ///< Filter nodes whose args[0] is empty (applied to the block's output)
  Body body;
  Body else_body;
};

}  // namespace llmforge::jinja
