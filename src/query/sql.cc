// sql.cc — ToSql and FieldSql: the SQL back end. Compiles a bound query to
// a boolean SQLite expression over the columns `id` and `doc` (the record's
// JSON as written by ToJson), with exactly the semantics of Matches.
//
// json_extract cannot tell JSON null from a missing field, nor false from 0,
// nor a string from an array's JSON text, so every test is paired with
// json_type (NULL when missing; else 'null', 'true', 'false', 'integer',
// 'real', 'text', 'array' or 'object'). Every piece evaluates to 0 or 1,
// never NULL, so NOT, AND and OR need no three-valued care. A comparison
// keeps the bare term `json_extract(doc,'$.p') <op> ?` as a conjunct so that
// SQLite can serve it from an expression index on FieldSql(p).
#include <string>
#include <utility>
#include <vector>

#include "query/query.h"

namespace blaze::query {
namespace {

std::string JsonPath(const Path& p) { return "'$." + p.ToString() + "'"; }  // identifiers only: no quoting
std::string TypeSql(const Path& p) { return "json_type(doc," + JsonPath(p) + ")"; }

const char* OpSql(CmpOp op) {
  switch (op) {
    case CmpOp::kEq: return "=";
    case CmpOp::kNe: return "<>";
    case CmpOp::kLt: return "<";
    case CmpOp::kLe: return "<=";
    case CmpOp::kGt: return ">";
    case CmpOp::kGe: return ">=";
  }
  return "=";
}

class SqlCompiler {
 public:
  SqlExpr Compile(const Expr& root) {
    SqlExpr out;
    out.sql = Emit(root);
    out.params = std::move(params_);
    return out;
  }

 private:
  std::string Param(const Value& v) {
    params_.push_back(v);
    return "?";
  }

  static std::string Not(const std::string& inner) {
    if (inner == "0") return "1";
    if (inner == "1") return "0";
    return "NOT COALESCE(" + inner + ",0)";
  }

  std::string Join(const Expr& e, const char* op) {
    std::string out = "(";
    for (size_t i = 0; i < e.children.size(); ++i) {
      if (i > 0) out += op;
      out += Emit(*e.children[i]);
    }
    return out + ")";
  }

  std::string Emit(const Expr& e) {
    switch (e.kind) {
      case Expr::Kind::kTrue: return "1";
      case Expr::Kind::kAnd: return Join(e, " AND ");
      case Expr::Kind::kOr: return Join(e, " OR ");
      case Expr::Kind::kNot: return e.children.size() == 1 ? Not(Emit(*e.children[0])) : "0";
      case Expr::Kind::kExists: return e.path.IsId() ? "1" : "(" + TypeSql(e.path) + " IS NOT NULL)";
      case Expr::Kind::kCompare: {
        const Value* v = OperandValue(e, 0);
        if (v == nullptr) return "0";
        if (e.op == CmpOp::kNe) return Not(Compare(e.path, CmpOp::kEq, *v));
        return Compare(e.path, e.op, *v);
      }
      case Expr::Kind::kIn: return In(e);
      case Expr::Kind::kContains: {
        const Value* v = OperandValue(e, 0);
        return v == nullptr ? "0" : Contains(e.path, *v);
      }
    }
    return "0";
  }

  // `p <op> v` for op in ==, <, <=, >, >=.
  std::string Compare(const Path& p, CmpOp op, const Value& v) {
    const bool eq = op == CmpOp::kEq;
    if (p.IsId()) {  // the id is a string, never missing
      if (!v.is_string()) return "0";
      return std::string("(id ") + OpSql(op) + " " + Param(v) + ")";
    }
    const std::string field = FieldSql(p);
    const std::string type = TypeSql(p);
    switch (v.type()) {
      // json_extract is NULL exactly for a missing field and a JSON null; the
      // bare form lets an expression index serve `== null`.
      case Value::Type::kNull: return eq ? "(" + field + " IS NULL)" : "0";
      case Value::Type::kBool:
        return eq ? "(" + type + (v.as_bool() ? " IS 'true')" : " IS 'false')") : "0";
      case Value::Type::kInt:
      case Value::Type::kDouble:
        return "(" + field + " " + OpSql(op) + " " + Param(v) + " AND COALESCE(" + type +
               ",'') IN ('integer','real'))";
      case Value::Type::kString:
        return "(" + field + " " + OpSql(op) + " " + Param(v) + " AND " + type + " IS 'text')";
      case Value::Type::kBytes:
      case Value::Type::kArray:
      case Value::Type::kMap: return "0";  // Bind lets no such operand through
    }
    return "0";
  }

  std::string In(const Expr& e) {
    std::vector<std::string> terms;
    if (e.path.IsId()) {  // one `id IN (...)` over the string items
      std::string list;
      for (size_t i = 0; i < e.operands.size(); ++i) {
        const Value* v = OperandValue(e, i);
        if (v == nullptr || !v->is_string()) continue;
        list += list.empty() ? Param(*v) : "," + Param(*v);
      }
      return list.empty() ? "0" : "(id IN (" + list + "))";
    }
    for (size_t i = 0; i < e.operands.size(); ++i) {
      const Value* v = OperandValue(e, i);
      if (v == nullptr) continue;
      std::string term = Compare(e.path, CmpOp::kEq, *v);
      if (term != "0") terms.push_back(std::move(term));
    }
    if (terms.empty()) return "0";
    if (terms.size() == 1) return terms[0];
    std::string out = "(";
    for (size_t i = 0; i < terms.size(); ++i) out += (i > 0 ? " OR " : "") + terms[i];
    return out + ")";
  }

  // The element test inside json_each for "element == v".
  std::string ElementEquals(const Value& v) {
    switch (v.type()) {
      case Value::Type::kNull: return "je.type = 'null'";
      case Value::Type::kBool: return v.as_bool() ? "je.type = 'true'" : "je.type = 'false'";
      case Value::Type::kInt:
      case Value::Type::kDouble: return "je.type IN ('integer','real') AND je.value = " + Param(v);
      case Value::Type::kString: return "je.type = 'text' AND je.value = " + Param(v);
      case Value::Type::kBytes:
      case Value::Type::kArray:
      case Value::Type::kMap: return "0";
    }
    return "0";
  }

  std::string Contains(const Path& p, const Value& v) {
    if (p.IsId()) return v.is_string() ? "(instr(id," + Param(v) + ") > 0)" : "0";
    std::string out = "(CASE " + TypeSql(p) + " WHEN 'array' THEN EXISTS(SELECT 1 FROM json_each(doc," + JsonPath(p) +
                      ") AS je WHERE " + ElementEquals(v) + ")";
    if (v.is_string()) out += " WHEN 'text' THEN instr(" + FieldSql(p) + "," + Param(v) + ") > 0";
    return out + " ELSE 0 END)";
  }

  static const Value* OperandValue(const Expr& e, size_t i) {
    return i < e.operands.size() ? std::get_if<Value>(&e.operands[i].v) : nullptr;
  }

  std::vector<Value> params_;
};

}  // namespace

std::string FieldSql(const Path& path) {
  if (path.IsId()) return "id";
  return "json_extract(doc," + JsonPath(path) + ")";
}

SqlExpr ToSql(const BoundQuery& q) {
  SqlCompiler compiler;
  return compiler.Compile(q.root());
}

}  // namespace blaze::query
