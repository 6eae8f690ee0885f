// bind.cc — Bind: replaces a parsed query's $variables by Values, checking
// that each bound Value is one its operator can use.
//
// Comparisons, contains and in-list items take null, bool, int, finite
// double or valid-UTF-8 string; `in $v` takes an array of those. Non-finite
// doubles have no JSON form (they are stored as null) and are refused so
// that both back ends see the same operand.
#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "query/query.h"
#include "value/utf8.h"

namespace blaze::query {
namespace {

using ExprPtr = std::unique_ptr<Expr>;

// Why `v` cannot be an operand ("a map", ...), or nullopt if it can.
std::optional<std::string> ScalarProblem(const Value& v) {
  switch (v.type()) {
    case Value::Type::kNull:
    case Value::Type::kBool:
    case Value::Type::kInt: return std::nullopt;
    case Value::Type::kDouble:
      if (std::isfinite(v.as_double())) return std::nullopt;
      return "a non-finite double";
    case Value::Type::kString:
      if (value::IsValidUtf8(v.as_string())) return std::nullopt;
      return "a string that is not valid UTF-8";
    case Value::Type::kBytes: return "a bytes value";
    case Value::Type::kArray: return "an array";
    case Value::Type::kMap: return "a map";
  }
  return "a value of unknown type";
}

// "null", "a bool", "an int", ... for a scalar `v`.
std::string Described(const Value& v) {
  if (v.is_null()) return "null";
  const std::string_view name = TypeName(v.type());
  return (name[0] == 'i' || name[0] == 'a' ? "an " : "a ") + std::string(name);
}

std::string OperatorName(const Expr& e) {
  switch (e.kind) {
    case Expr::Kind::kCompare:
      switch (e.op) {
        case CmpOp::kEq: return "==";
        case CmpOp::kNe: return "!=";
        case CmpOp::kLt: return "<";
        case CmpOp::kLe: return "<=";
        case CmpOp::kGt: return ">";
        case CmpOp::kGe: return ">=";
      }
      return "?";
    case Expr::Kind::kIn: return "in";
    case Expr::Kind::kContains: return "contains";
    case Expr::Kind::kTrue:
    case Expr::Kind::kAnd:
    case Expr::Kind::kOr:
    case Expr::Kind::kNot:
    case Expr::Kind::kExists: return "?";
  }
  return "?";
}

Result<const Value*> Lookup(const std::string& name, const Bindings& vars) {
  auto it = vars.find(name);
  if (it == vars.end()) return Status::InvalidArgument("query variable $" + name + " is not bound");
  return &it->second;
}

Result<Operand> BindOperand(const Operand& o, const Expr& e, const Bindings& vars) {
  if (std::holds_alternative<Value>(o.v)) return o;
  const std::string& name = std::get<std::string>(o.v);
  BLAZE_ASSIGN_OR_RETURN(const Value* v, Lookup(name, vars));
  if (auto problem = ScalarProblem(*v)) {
    return Status::InvalidArgument("query variable $" + name + " is bound to " + *problem + ", but '" +
                                   OperatorName(e) + "' takes null, bool, int, double or string");
  }
  Operand out;
  out.v.emplace<Value>(*v);
  out.column = o.column;
  return out;
}

// `in $name`: the bound array's items become the operands of `out`.
Status BindList(const Expr& e, const Bindings& vars, Expr* out) {
  const std::string& name = e.list_variable;
  BLAZE_ASSIGN_OR_RETURN(const Value* v, Lookup(name, vars));
  auto fail = [&](const std::string& found) {
    return Status::InvalidArgument("query variable $" + name +
                                   " must be bound to an array of null, bool, int, double or string values for "
                                   "'in', found " + found);
  };
  if (!v->is_array()) return fail(ScalarProblem(*v).value_or(Described(*v)));
  const Value::Array& items = v->as_array();
  for (size_t i = 0; i < items.size(); ++i) {
    if (auto problem = ScalarProblem(items[i])) return fail("an array holding " + *problem + " at index " + std::to_string(i));
    Operand o;
    o.v.emplace<Value>(items[i]);
    o.column = e.column;
    out->operands.push_back(std::move(o));
  }
  return Status::Ok();
}

Result<ExprPtr> BindExpr(const Expr& e, const Bindings& vars) {
  auto out = std::make_unique<Expr>();
  out->kind = e.kind;
  out->path = e.path;
  out->op = e.op;
  out->column = e.column;
  for (const auto& child : e.children) {
    BLAZE_ASSIGN_OR_RETURN(ExprPtr c, BindExpr(*child, vars));
    out->children.push_back(std::move(c));
  }
  for (const Operand& o : e.operands) {
    BLAZE_ASSIGN_OR_RETURN(Operand bound, BindOperand(o, e, vars));
    out->operands.push_back(std::move(bound));
  }
  if (!e.list_variable.empty()) BLAZE_RETURN_IF_ERROR(BindList(e, vars, out.get()));
  return out;
}

}  // namespace

Result<BoundQuery> Bind(const Query& q, const Bindings& vars) {
  BLAZE_ASSIGN_OR_RETURN(ExprPtr root, BindExpr(q.root(), vars));
  BoundQuery bound;
  bound.root_ = std::move(root);
  return bound;
}

}  // namespace blaze::query
