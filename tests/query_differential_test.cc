// query_differential_test.cc — holds the two back ends to each other: for
// random documents and random query texts, the ids selected by ToSql's SQL
// in SQLite must be exactly those for which Matches is true. Also checks the
// SQL's shape (FieldSql, parameters, 0/1 results) and that SQLite serves
// comparisons from expression indexes.
//
// Environment: BLAZE_SEED fixes the seed (printed on every run and in every
// failure); BLAZE_DIFF_ITERATIONS sets the number of queries (default 3000).
#include "query/query.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <charconv>
#include <iterator>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "blaze/json.h"

namespace blaze::query {
namespace {

uint64_t EnvOr(const char* name, uint64_t fallback) {
  const char* s = std::getenv(name);
  return s != nullptr && *s != '\0' ? std::strtoull(s, nullptr, 10) : fallback;
}

// An in-memory SQLite database holding the table t(id, doc) records live in.
class Db {
 public:
  Db() {
    EXPECT_EQ(sqlite3_open(":memory:", &db_), SQLITE_OK);
    Exec("CREATE TABLE t(id TEXT PRIMARY KEY, doc TEXT)");
  }
  ~Db() { sqlite3_close(db_); }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  void Exec(const std::string& sql) {
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << sql << ": " << (err ? err : "");
    sqlite3_free(err);
  }

  void Insert(const std::string& id, const Value& doc) {
    Run("INSERT INTO t(id, doc) VALUES (?, ?)", {Value(id), Value(ToJson(doc))});
  }

  // Runs `sql` with `params`; returns each row's columns as text, with
  // "<null>" for NULL. Errors are test failures.
  std::vector<std::vector<std::string>> Run(const std::string& sql, const std::vector<Value>& params) {
    std::vector<std::vector<std::string>> rows;
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << "prepare failed: " << sqlite3_errmsg(db_) << "\nSQL: " << sql;
      return rows;
    }
    for (size_t i = 0; i < params.size(); ++i) BindParam(st, static_cast<int>(i) + 1, params[i]);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      std::vector<std::string> row;
      for (int c = 0; c < sqlite3_column_count(st); ++c) {
        const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(st, c));
        row.push_back(sqlite3_column_type(st, c) == SQLITE_NULL ? "<null>" : std::string(text, sqlite3_column_bytes(st, c)));
      }
      rows.push_back(std::move(row));
    }
    EXPECT_EQ(rc, SQLITE_DONE) << sqlite3_errmsg(db_) << "\nSQL: " << sql;
    sqlite3_finalize(st);
    return rows;
  }

 private:
  static void BindParam(sqlite3_stmt* st, int i, const Value& v) {
    switch (v.type()) {
      case Value::Type::kNull: sqlite3_bind_null(st, i); return;
      case Value::Type::kInt: sqlite3_bind_int64(st, i, v.as_int()); return;
      case Value::Type::kDouble: sqlite3_bind_double(st, i, v.as_double()); return;
      case Value::Type::kString:
        sqlite3_bind_text(st, i, v.as_string().data(), static_cast<int>(v.as_string().size()), SQLITE_TRANSIENT);
        return;
      case Value::Type::kBool:
      case Value::Type::kBytes:
      case Value::Type::kArray:
      case Value::Type::kMap: ADD_FAILURE() << "unexpected parameter type " << TypeName(v.type()); return;
    }
  }

  sqlite3* db_ = nullptr;
};

BoundQuery MustBind(std::string_view text, const Bindings& vars = {}) {
  auto q = Parse(text);
  EXPECT_TRUE(q.ok()) << text << ": " << q.status().message();
  if (!q.ok()) q = Parse("");
  auto b = Bind(*q, vars);
  EXPECT_TRUE(b.ok()) << text << ": " << b.status().message();
  return b.ok() ? std::move(b).value() : *Bind(*Parse(""), {});
}

struct Record {
  std::string id;
  Value doc;
};

std::string ParamsText(const std::vector<Value>& params) {
  std::string out;
  for (const Value& v : params) out += (out.empty() ? "" : ", ") + ToJson(v);
  return out;
}

// Compares both back ends for one bound query over `records` (already in
// `db`). Returns a description of every disagreement ("" if none).
std::string Disagreements(Db& db, const std::vector<Record>& records, const BoundQuery& q,
                          size_t* matched = nullptr) {
  const SqlExpr sql = ToSql(q);
  std::set<std::string> expected;
  for (const Record& r : records) {
    if (Matches(q, r.id, r.doc)) expected.insert(r.id);
  }
  if (matched != nullptr) *matched = expected.size();
  std::set<std::string> selected;
  for (const auto& row : db.Run("SELECT id FROM t WHERE " + sql.sql, sql.params)) selected.insert(row[0]);
  std::map<std::string, std::string> values;  // id -> value of the expression
  for (const auto& row : db.Run("SELECT id, " + sql.sql + " FROM t", sql.params)) values[row[0]] = row[1];

  std::string out;
  int shown = 0;
  for (const Record& r : records) {
    const bool want = expected.count(r.id) > 0;
    const bool where = selected.count(r.id) > 0;
    const std::string& value = values[r.id];
    if (where == want && value == (want ? "1" : "0")) continue;
    if (++shown > 5) break;
    out += "  id " + ToJson(Value(r.id)) + " doc " + ToJson(r.doc) + ": Matches=" + (want ? "true" : "false") +
           ", WHERE " + (where ? "selects" : "skips") + ", value " + value + "\n";
  }
  if (out.empty()) return "";
  return out + "  SQL: " + sql.sql + "\n  params: " + ParamsText(sql.params) + "\n";
}

// Random documents and queries over a small vocabulary, so that values
// collide often (2 vs 2.0, "a" vs "ab", 2^53 vs 2^53+1, ...).
class Generator {
 public:
  explicit Generator(uint64_t seed) : rng_(seed) {}

  Value Doc() {
    Value::Map m;
    for (const char* field : {"a", "b", "c", "d"}) {
      if (Chance(85)) m[field] = Field();
    }
    const int r = Uniform(0, 99);
    if (r < 70) {
      Value::Map n;
      for (const char* field : {"a", "b"}) {
        if (Chance(80)) n[field] = Field();
      }
      m["n"] = Value(std::move(n));
    } else if (r < 85) {
      m["n"] = Field();
    }
    return Value(std::move(m));
  }

  std::string Id() {
    static const std::vector<std::string> kChars = {"a", "b", "c", "1", "é"};
    std::string id;
    for (int i = Uniform(1, 4); i > 0; --i) id += Pick(kChars);
    return id;
  }

  // A random query text; the variables it uses are bound in `vars`.
  std::string Query(Bindings* vars) {
    vars_ = vars;
    return Expression(0);
  }

 private:
  int Uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool Chance(int percent) { return Uniform(0, 99) < percent; }
  template <typename T>
  const T& Pick(const std::vector<T>& items) {
    return items[static_cast<size_t>(Uniform(0, static_cast<int>(items.size()) - 1))];
  }

  Value Scalar() {
    static const std::vector<int64_t> kLargeInts = {
        9007199254740991,   9007199254740992,    9007199254740993,     9007199254740994, -9007199254740993,
        4611686018427387904, INT64_MAX,          INT64_MAX - 1,        INT64_MIN,        INT64_MIN + 1};
    static const std::vector<double> kLargeDoubles = {
        9007199254740992.0,  9007199254740994.0,  -9007199254740992.0, 9223372036854775808.0,
        -9223372036854775808.0, 9223372036854774784.0, 4611686018427387904.0, 1.8446744073709552e19,
        1e300, -1e300, 0.1, -0.0};
    static const std::vector<std::string> kStrings = {"",  "a",  "b",    "ab",   "ba",  "aa",      "A",
                                                      "é", "aé", "😀",   "1",    "2.0", "true",    "null",
                                                      "[1]", "a\"b", "it's", "x/y\\z", "\t", "{\"k\":1}"};
    switch (Uniform(0, 9)) {
      case 0: return Value();
      case 1: return Value(Chance(50));
      case 2:
      case 3: return Value(Uniform(-3, 3));
      case 4: return Value(Pick(kLargeInts));
      case 5:
      case 6: return Value(Uniform(-12, 12) / 4.0);
      case 7: return Value(Pick(kLargeDoubles));
      default: return Value(Pick(kStrings));
    }
  }

  // A document field: a scalar, bytes, an array of scalars, or a small map.
  Value Field() {
    const int r = Uniform(0, 99);
    if (r < 4) return Value(Value::Map{{"b", Scalar()}});
    if (r < 12) {
      Value::Bytes bytes;
      for (int i = Uniform(0, 3); i > 0; --i) bytes.push_back(static_cast<uint8_t>(Uniform(0, 255)));
      return Value::FromBytes(std::move(bytes));
    }
    if (r < 25) {
      Value::Array items;
      for (int i = Uniform(0, 4); i > 0; --i) {
        const int k = Uniform(0, 19);
        items.push_back(k == 0   ? Value::FromBytes({1})
                        : k == 1 ? Value(Value::Array{Value(1)})
                        : k == 2 ? Value(Value::Map{{"b", Value(1)}})
                                 : Scalar());
      }
      return Value(std::move(items));
    }
    return Scalar();
  }

  std::string Ws() {
    switch (Uniform(0, 9)) {
      case 0: return "  ";
      case 1: return "\t";
      case 2: return "\n";
      case 3:
      case 4:
      case 5: return "";
      default: return " ";
    }
  }
  std::string Ws1() {  // whitespace where a token boundary needs it
    std::string ws = Ws();
    return ws.empty() ? " " : ws;
  }

  std::string DoubleText(double d) {
    char buf[64];
    const auto format = Chance(30) ? std::chars_format::scientific : std::chars_format::general;
    std::string s(buf, std::to_chars(buf, buf + sizeof buf, d, format).ptr);
    if (s.find_first_of(".e") == std::string::npos) s += ".0";  // keep it a double
    return s;
  }

  std::string Hex4(uint32_t u) {
    static constexpr char kLower[] = "0123456789abcdef";
    static constexpr char kUpper[] = "0123456789ABCDEF";
    const char* digits = Chance(50) ? kLower : kUpper;
    std::string out = "\\u";
    for (int shift = 12; shift >= 0; shift -= 4) out += digits[(u >> shift) & 0xF];
    return out;
  }

  std::string StringText(const std::string& s) {
    const char quote = Chance(50) ? '"' : '\'';
    std::string out(1, quote);
    for (size_t i = 0; i < s.size();) {
      const auto c = static_cast<unsigned char>(s[i]);
      if (c < 0x80) {
        ++i;
        if (c == static_cast<unsigned char>(quote) || c == '\\') {
          out += std::string("\\") + static_cast<char>(c);
        } else if (c == '\t' && Chance(50)) {
          out += "\\t";
        } else if (c == '/' && Chance(50)) {
          out += "\\/";
        } else if ((c == '"' || c == '\'') && Chance(50)) {
          out += std::string("\\") + static_cast<char>(c);
        } else if (Chance(10)) {
          out += Hex4(c);
        } else {
          out += static_cast<char>(c);
        }
        continue;
      }
      const size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
      uint32_t cp = c & (n == 4 ? 0x07 : n == 3 ? 0x0F : 0x1F);
      for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
      if (Chance(50)) {
        out += s.substr(i, n);
      } else if (cp >= 0x10000) {
        out += Hex4(0xD800 + ((cp - 0x10000) >> 10)) + Hex4(0xDC00 + ((cp - 0x10000) & 0x3FF));
      } else {
        out += Hex4(cp);
      }
      i += n;
    }
    return out + quote;
  }

  std::string LiteralText(const Value& v) {
    switch (v.type()) {
      case Value::Type::kNull: return "null";
      case Value::Type::kBool: return v.as_bool() ? "true" : "false";
      case Value::Type::kInt: return std::to_string(v.as_int());
      case Value::Type::kDouble: return DoubleText(v.as_double());
      case Value::Type::kString: return StringText(v.as_string());
      case Value::Type::kBytes:
      case Value::Type::kArray:
      case Value::Type::kMap: return "null";
    }
    return "null";
  }

  // A value for a comparison with `path`: a literal or a bound $variable.
  std::string Operand(const std::string& path) {
    const Value v = path == "_id" && Chance(60) ? Value(Id()) : Scalar();
    if (!Chance(25)) return LiteralText(v);
    const std::string name = "v" + std::to_string(vars_->size());
    (*vars_)[name] = v;
    return "$" + name;
  }

  std::string PathText(const std::string& path) {
    std::string out;
    for (char c : path) out += c == '.' ? Ws() + "." + Ws() : std::string(1, c);
    return out;
  }

  std::string Leaf() {
    static const std::vector<std::string> kPaths = {"a", "b", "c", "d", "n", "n.a", "n.b", "n.z", "z", "a.b", "_id"};
    static const std::vector<std::string> kOps = {"==", "!=", "<", "<=", ">", ">="};
    const std::string path = Pick(kPaths);
    const int r = Uniform(0, 99);
    if (r < 50) return PathText(path) + Ws() + Pick(kOps) + Ws() + Operand(path);
    if (r < 65) {
      if (Chance(20)) {
        Value::Array items;
        for (int i = Uniform(0, 3); i > 0; --i) items.push_back(Scalar());
        const std::string name = "l" + std::to_string(vars_->size());
        (*vars_)[name] = Value(std::move(items));
        return PathText(path) + Ws1() + "in" + Ws() + "$" + name;
      }
      std::string list = "[" + Ws();
      for (int i = Uniform(0, 3), first = 1; i > 0; --i, first = 0) list += (first ? "" : "," + Ws()) + Operand(path) + Ws();
      return PathText(path) + Ws1() + "in" + Ws() + list + "]";
    }
    if (r < 85) return PathText(path) + Ws1() + "contains" + Ws1() + Operand(path);
    return "exists" + Ws1() + PathText(path);
  }

  std::string Expression(int depth) {
    if (depth >= 4 || Chance(35)) return Leaf();
    const int r = Uniform(0, 99);
    if (r < 70) {
      const std::string op = r < 40 ? "&&" : "||";
      std::string out = Expression(depth + 1);
      for (int i = Uniform(1, 2); i > 0; --i) out += Ws() + op + Ws() + Expression(depth + 1);
      return out;
    }
    if (r < 88) return "!" + Ws() + (Chance(70) ? "(" + Ws() + Expression(depth + 1) + Ws() + ")" : Leaf());
    return "(" + Ws() + Expression(depth + 1) + Ws() + ")";
  }

  std::mt19937_64 rng_;
  Bindings* vars_ = nullptr;
};

TEST(QueryDifferentialTest, RandomQueriesAgreeWithSqlite) {
  const uint64_t seed = EnvOr("BLAZE_SEED", static_cast<uint64_t>(
                                                std::chrono::system_clock::now().time_since_epoch().count()));
  const uint64_t iterations = EnvOr("BLAZE_DIFF_ITERATIONS", 3000);
  constexpr int kDocs = 200;
  constexpr uint64_t kQueriesPerDocSet = 500;
  std::cout << "[ seed     ] BLAZE_SEED=" << seed << " BLAZE_DIFF_ITERATIONS=" << iterations << std::endl;
  SCOPED_TRACE("BLAZE_SEED=" + std::to_string(seed));

  Generator gen(seed);
  Db db;
  // Expression indexes, so that some comparisons run through index lookups.
  db.Exec("CREATE INDEX ix_a ON t(" + FieldSql(Path{{"a"}}) + ")");
  db.Exec("CREATE INDEX ix_na ON t(" + FieldSql(Path{{"n", "a"}}) + ")");
  std::vector<Record> records;
  int failures = 0;
  uint64_t none = 0, some = 0, all = 0;  // queries by how many records they match
  for (uint64_t iter = 0; iter < iterations && failures < 5; ++iter) {
    if (iter % kQueriesPerDocSet == 0) {
      db.Exec("DELETE FROM t");
      records.clear();
      std::set<std::string> ids;
      while (records.size() < kDocs) {
        std::string id = gen.Id();
        if (!ids.insert(id).second) continue;
        records.push_back({id, gen.Doc()});
        db.Insert(records.back().id, records.back().doc);
      }
    }
    Bindings vars;
    const std::string text = gen.Query(&vars);
    auto q = Parse(text);
    ASSERT_TRUE(q.ok()) << "query #" << iter << " " << text << ": " << q.status().message();
    auto b = Bind(*q, vars);
    ASSERT_TRUE(b.ok()) << "query #" << iter << " " << text << ": " << b.status().message();
    size_t matched = 0;
    const std::string diff = Disagreements(db, records, *b, &matched);
    ++(matched == 0 ? none : matched == records.size() ? all : some);
    if (!diff.empty()) {
      ++failures;
      std::string bound;
      for (const auto& [name, v] : vars) bound += " $" + name + "=" + ToJson(v);
      ADD_FAILURE() << "query #" << iter << ": " << text << "\n  bindings:" << bound << "\n" << diff;
    }
  }
  std::cout << "[ queries  ] matching no record: " << none << ", some: " << some << ", all: " << all << std::endl;
  // A generator whose queries all match nothing (or everything) would test little.
  EXPECT_GT(some, (none + some + all) / 3);
}

// Hand-picked edge cases, compared across the back ends.
TEST(QueryDifferentialTest, EdgeCasesAgree) {
  const char* docs[] = {
      R"({"a": 2, "b": 2.0, "c": "2", "d": true, "n": {"a": null}})",
      R"({"a": 9007199254740993, "b": 9007199254740992.0, "c": 9223372036854775807, "d": -9223372036854775808})",
      R"({"a": 9223372036854775808.0, "b": -0.0, "c": 0, "d": false, "n": [1, 2]})",
      R"({"a": [1, "x", null, true, 2.5, {"$bytes": "AA=="}, [7], {"k": 1}], "b": {"$bytes": "AAE="}})",
      R"({"a": "open", "b": "", "c": "é😀", "d": "[1]", "n": {"a": {"b": 1}, "b": "{\"k\":1}"}})",
      R"({"a": null, "b": [], "c": {}, "d": [null], "n": "n"})",
      R"({})",
  };
  const char* queries[] = {
      "a == null", "exists a", "a != null", "a == 2", "a == 2.0", "b == 2", "c == 2", "c == '2'", "d == true",
      "d == 1", "d == false", "d == 0", "d > 0", "a == 9007199254740992.0", "a > 9007199254740992.0",
      "b < 9007199254740993", "c == 9223372036854775807", "c < 9223372036854775808", "a > 9223372036854775807",
      "d == -9223372036854775808.0", "b == 0", "b == -0.0", "a contains 1", "a contains 1.0", "a contains 'x'",
      "a contains null", "a contains true", "a contains 7", "a contains 'AA=='", "b contains 'A'", "a contains ''",
      "a contains 'pe'", "c contains '😀'", "c contains 'é'", "d contains 1", "d contains '1'", "d contains null",
      "b contains null", "n contains 1", "n.a == null", "exists n.a", "exists n.a.b", "n.a.b == 1", "n.b == '{\"k\":1}'",
      "n.b contains 'k'", "c > ''", "c >= 'é'", "a < 'opf'", "a in []", "a in [null]", "a in [2, 'open']",
      "b in [2.0, '']", "!(a == 2) && !exists z", "!(a contains null) || b == ''", "_id == 'r0'", "_id in ['r1', 'r2', 3]",
      "_id contains 'r'", "_id contains ''", "_id >= 'r3'", "_id == null", "_id != null", "exists _id",
      "d == '[1]'", "c == null", "c != null", "exists c",
  };
  Db db;
  std::vector<Record> records;
  for (size_t i = 0; i < std::size(docs); ++i) {
    auto doc = ParseJson(docs[i]);
    ASSERT_TRUE(doc.ok()) << docs[i];
    records.push_back({"r" + std::to_string(i), *doc});
    db.Insert(records.back().id, records.back().doc);
  }
  for (const char* text : queries) {
    EXPECT_EQ(Disagreements(db, records, MustBind(text)), "") << text;
  }
}

TEST(QueryDifferentialTest, SqlShape) {
  EXPECT_EQ(FieldSql(Path{{"a", "b"}}), "json_extract(doc,'$.a.b')");
  EXPECT_EQ(FieldSql(Path{{"_id"}}), "id");
  EXPECT_EQ(ToSql(MustBind("")).sql, "1");
  SqlExpr eq = ToSql(MustBind("status == \"open\""));
  EXPECT_EQ(eq.sql, "(json_extract(doc,'$.status') = ? AND json_type(doc,'$.status') IS 'text')");
  EXPECT_EQ(eq.params, std::vector<Value>{Value("open")});
  SqlExpr range = ToSql(MustBind("a.b < $x", {{"x", Value(2.5)}}));
  EXPECT_EQ(range.sql,
            "(json_extract(doc,'$.a.b') < ? AND COALESCE(json_type(doc,'$.a.b'),'') IN ('integer','real'))");
  EXPECT_EQ(range.params, std::vector<Value>{Value(2.5)});
  EXPECT_EQ(ToSql(MustBind("_id >= 'k'")).sql, "(id >= ?)");
  EXPECT_EQ(ToSql(MustBind("_id in ['k', 1, 'm']")).sql, "(id IN (?,?))");
  EXPECT_EQ(ToSql(MustBind("a == null")).sql, "(json_extract(doc,'$.a') IS NULL)");
  EXPECT_EQ(ToSql(MustBind("a == true")).sql, "(json_type(doc,'$.a') IS 'true')");
  EXPECT_EQ(ToSql(MustBind("!(a == true)")).sql, "NOT COALESCE((json_type(doc,'$.a') IS 'true'),0)");
  EXPECT_EQ(ToSql(MustBind("a < null || b >= false || a in [] || _id == 1")).sql, "(0 OR 0 OR 0 OR 0)");
  // Parameters are null-free, typed, and in textual order.
  SqlExpr many = ToSql(MustBind("a == 1 && b contains \"x\" && c in [2.5, 'y', null] && d != true"));
  EXPECT_EQ(many.params, (std::vector<Value>{Value(1), Value("x"), Value("x"), Value(2.5), Value("y")}));
  EXPECT_EQ(ToSql(MustBind("a contains 1")).sql,
            "(CASE json_type(doc,'$.a') WHEN 'array' THEN EXISTS(SELECT 1 FROM json_each(doc,'$.a') AS je WHERE "
            "je.type IN ('integer','real') AND je.value = ?) ELSE 0 END)");
}

std::string Plan(Db& db, const std::string& text) {
  const SqlExpr sql = ToSql(MustBind(text));
  std::string plan;
  for (const auto& row : db.Run("EXPLAIN QUERY PLAN SELECT id FROM t WHERE " + sql.sql, sql.params)) {
    plan += row.back() + "\n";
  }
  return plan;
}

TEST(QueryDifferentialTest, ComparisonsUseExpressionIndexes) {
  Db db;
  db.Exec("CREATE INDEX ix ON t(json_extract(doc,'$.status'))");
  db.Exec("CREATE INDEX ixp ON t(" + FieldSql(Path{{"priority"}}) + ")");
  db.Exec("CREATE INDEX ixn ON t(" + FieldSql(Path{{"n", "a"}}) + ")");
  EXPECT_NE(Plan(db, "status == \"open\" && priority >= 2").find("USING INDEX ix "), std::string::npos)
      << Plan(db, "status == \"open\" && priority >= 2");
  EXPECT_NE(Plan(db, "priority > 1 && priority < 5").find("USING INDEX ixp"), std::string::npos);
  EXPECT_NE(Plan(db, "n.a == 3").find("USING INDEX ixn"), std::string::npos);
  EXPECT_NE(Plan(db, "priority in [1, 'x']").find("USING INDEX ixp"), std::string::npos);  // MULTI-INDEX OR
  EXPECT_NE(Plan(db, "priority == null").find("USING INDEX ixp"), std::string::npos);
  EXPECT_NE(Plan(db, "_id == 'x'").find("INDEX sqlite_autoindex_t_1"), std::string::npos);
  EXPECT_NE(Plan(db, "_id in ['x', 'y']").find("INDEX sqlite_autoindex_t_1"), std::string::npos);
  // Under '!' the index is not usable (and not claimed): a full scan.
  EXPECT_EQ(Plan(db, "!(status == 'open')").find("USING INDEX"), std::string::npos);

  // And the indexed query still returns exactly the matching records.
  std::vector<Record> records;
  const char* docs[] = {R"({"status": "open", "priority": 2})", R"({"status": "open", "priority": 2.5})",
                        R"({"status": "open", "priority": "3"})", R"({"status": "closed", "priority": 5})",
                        R"({"status": ["open"], "priority": 9})", R"({"priority": 3})",
                        R"({"status": "open", "priority": true})", R"({"status": "open", "priority": 1.75})"};
  for (size_t i = 0; i < std::size(docs); ++i) {
    records.push_back({"r" + std::to_string(i), *ParseJson(docs[i])});
    db.Insert(records.back().id, records.back().doc);
  }
  const BoundQuery q = MustBind("status == \"open\" && priority >= 2");
  EXPECT_EQ(Disagreements(db, records, q), "");
  const SqlExpr sql = ToSql(q);
  EXPECT_EQ(db.Run("SELECT id FROM t WHERE " + sql.sql + " ORDER BY id", sql.params),
            (std::vector<std::vector<std::string>>{{"r0"}, {"r1"}}));
}

}  // namespace
}  // namespace blaze::query
