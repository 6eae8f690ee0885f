// evaluate.cc — Matches: the in-memory back end. Evaluates a bound query
// against one record with exactly the semantics of docs/query-language.md,
// which ToSql (sql.cc) reproduces in SQL.
//
// A document double that is NaN or infinite counts as null, because that is
// how ToJson stores it and so how the SQL back end sees it.
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>

#include "query/query.h"

namespace blaze::query {
namespace {

bool IsNullish(const Value& v) { return v.is_null() || (v.is_double() && !std::isfinite(v.as_double())); }
bool IsNumber(const Value& v) { return v.is_int() || (v.is_double() && std::isfinite(v.as_double())); }

int Sign(bool less, bool greater) { return less ? -1 : (greater ? 1 : 0); }

// Exact comparison of an int64 and a finite double (no rounding of either).
int CompareIntDouble(int64_t i, double d) {
  constexpr double kTwo63 = 9223372036854775808.0;
  if (d >= kTwo63) return -1;
  if (d < -kTwo63) return 1;
  const double whole = std::trunc(d);  // in [-2^63, 2^63): converts exactly
  const auto w = static_cast<int64_t>(whole);
  if (i != w) return Sign(i < w, i > w);
  const double fraction = d - whole;  // exact
  return Sign(fraction > 0, fraction < 0);
}

// Both finite numbers.
int CompareNumbers(const Value& a, const Value& b) {
  if (a.is_int() && b.is_int()) return Sign(a.as_int() < b.as_int(), a.as_int() > b.as_int());
  if (a.is_double() && b.is_double()) return Sign(a.as_double() < b.as_double(), a.as_double() > b.as_double());
  if (a.is_int()) return CompareIntDouble(a.as_int(), b.as_double());
  return -CompareIntDouble(b.as_int(), a.as_double());
}

// The typed equality "f == v" for a present field (or array element) f.
bool TypedEquals(const Value& f, const Value& v) {
  switch (v.type()) {
    case Value::Type::kNull: return IsNullish(f);
    case Value::Type::kBool: return f.is_bool() && f.as_bool() == v.as_bool();
    case Value::Type::kInt:
    case Value::Type::kDouble: return IsNumber(f) && IsNumber(v) && CompareNumbers(f, v) == 0;
    case Value::Type::kString: return f.is_string() && f.as_string() == v.as_string();
    case Value::Type::kBytes:
    case Value::Type::kArray:
    case Value::Type::kMap: return false;  // Bind lets no such operand through
  }
  return false;
}

bool Equals(const Value* f, const Value& v) { return f == nullptr ? v.is_null() : TypedEquals(*f, v); }

bool Orders(const Value* f, CmpOp op, const Value& v) {
  if (f == nullptr) return false;
  int c;
  if (IsNumber(*f) && IsNumber(v)) {
    c = CompareNumbers(*f, v);
  } else if (f->is_string() && v.is_string()) {
    c = f->as_string().compare(v.as_string());  // bytewise, like memcmp
  } else {
    return false;
  }
  switch (op) {
    case CmpOp::kLt: return c < 0;
    case CmpOp::kLe: return c <= 0;
    case CmpOp::kGt: return c > 0;
    case CmpOp::kGe: return c >= 0;
    case CmpOp::kEq: return c == 0;
    case CmpOp::kNe: return c != 0;
  }
  return false;
}

bool Contains(const Value* f, const Value& v) {
  if (f == nullptr) return false;
  if (f->is_array()) {
    for (const Value& item : f->as_array()) {
      if (TypedEquals(item, v)) return true;
    }
    return false;
  }
  if (f->is_string() && v.is_string()) return f->as_string().find(v.as_string()) != std::string::npos;
  return false;
}

class Evaluator {
 public:
  Evaluator(std::string_view id, const Value& doc) : id_(id), doc_(doc) {}

  bool Eval(const Expr& e) {
    switch (e.kind) {
      case Expr::Kind::kTrue: return true;
      case Expr::Kind::kAnd:
        for (const auto& c : e.children) {
          if (!Eval(*c)) return false;
        }
        return true;
      case Expr::Kind::kOr:
        for (const auto& c : e.children) {
          if (Eval(*c)) return true;
        }
        return false;
      case Expr::Kind::kNot: return e.children.size() == 1 && !Eval(*e.children[0]);
      case Expr::Kind::kExists: return Field(e.path) != nullptr;
      case Expr::Kind::kCompare: {
        const Value* v = OperandValue(e, 0);
        if (v == nullptr) return false;
        if (e.op == CmpOp::kEq) return Equals(Field(e.path), *v);
        if (e.op == CmpOp::kNe) return !Equals(Field(e.path), *v);
        return Orders(Field(e.path), e.op, *v);
      }
      case Expr::Kind::kIn: {
        const Value* f = Field(e.path);
        for (size_t i = 0; i < e.operands.size(); ++i) {
          const Value* v = OperandValue(e, i);
          if (v != nullptr && Equals(f, *v)) return true;
        }
        return false;
      }
      case Expr::Kind::kContains: {
        const Value* v = OperandValue(e, 0);
        return v != nullptr && Contains(Field(e.path), *v);
      }
    }
    return false;
  }

 private:
  // The value at `p`, or nullptr when missing. `_id` is the record id.
  const Value* Field(const Path& p) {
    if (p.IsId()) {
      if (!id_value_) id_value_.emplace(std::string(id_));
      return &*id_value_;
    }
    const Value* v = &doc_;
    for (const std::string& segment : p.segments) {
      v = v->Find(segment);  // nullptr for a missing key or a non-map
      if (v == nullptr) return nullptr;
    }
    return v;
  }

  // Operand i as a Value (always one after Bind), or nullptr.
  static const Value* OperandValue(const Expr& e, size_t i) {
    return i < e.operands.size() ? std::get_if<Value>(&e.operands[i].v) : nullptr;
  }

  std::string_view id_;
  const Value& doc_;
  std::optional<Value> id_value_;
};

}  // namespace

bool Matches(const BoundQuery& q, std::string_view id, const Value& doc) {
  Evaluator evaluator(id, doc);
  return evaluator.Eval(q.root());
}

}  // namespace blaze::query
