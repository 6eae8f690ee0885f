// value.h — the document model: a Value is null, bool, int64, double,
// string, bytes, array or map.
//
// A record is a Value of type map. Strings hold UTF-8 text; bytes hold
// arbitrary octets (they appear in JSON as {"$bytes": "<base64>"}, see
// json.h). Maps are ordered by key bytes, which makes equality and the binary
// encoding canonical. Value is a regular value type: copyable, movable,
// comparable with ==; no shared state, so distinct Values may be used from
// different threads freely.
#ifndef BLAZE_VALUE_H_
#define BLAZE_VALUE_H_

#include <concepts>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace blaze {

class Value {
 public:
  enum class Type : uint8_t { kNull, kBool, kInt, kDouble, kString, kBytes, kArray, kMap };

  using Bytes = std::vector<uint8_t>;
  using Array = std::vector<Value>;
  using Map = std::map<std::string, Value, std::less<>>;

  Value() = default;  // null
  Value(std::nullptr_t) {}                                   // NOLINT(google-explicit-constructor)
  Value(bool b) : v_(b) {}                                   // NOLINT
  template <std::integral I>
    requires(!std::same_as<I, bool>)
  Value(I i) : v_(static_cast<int64_t>(i)) {}                // NOLINT
  Value(double d) : v_(d) {}                                 // NOLINT
  Value(std::string s) : v_(std::move(s)) {}                 // NOLINT
  Value(std::string_view s) : v_(std::string(s)) {}          // NOLINT
  Value(const char* s) : v_(std::string(s)) {}               // NOLINT
  Value(Array a) : v_(std::move(a)) {}                       // NOLINT
  Value(Map m) : v_(std::move(m)) {}                         // NOLINT
  static Value FromBytes(Bytes b) { Value v; v.v_ = std::move(b); return v; }
  static Value EmptyMap() { return Value(Map{}); }
  static Value EmptyArray() { return Value(Array{}); }

  Type type() const { return static_cast<Type>(v_.index()); }
  bool is_null() const { return type() == Type::kNull; }
  bool is_bool() const { return type() == Type::kBool; }
  bool is_int() const { return type() == Type::kInt; }
  bool is_double() const { return type() == Type::kDouble; }
  bool is_number() const { return is_int() || is_double(); }
  bool is_string() const { return type() == Type::kString; }
  bool is_bytes() const { return type() == Type::kBytes; }
  bool is_array() const { return type() == Type::kArray; }
  bool is_map() const { return type() == Type::kMap; }

  // Accessors; calling one for the wrong type is a bug (std::bad_variant_access).
  bool as_bool() const { return std::get<bool>(v_); }
  int64_t as_int() const { return std::get<int64_t>(v_); }
  double as_double() const { return std::get<double>(v_); }
  const std::string& as_string() const { return std::get<std::string>(v_); }
  const Bytes& as_bytes() const { return std::get<Bytes>(v_); }
  const Array& as_array() const { return std::get<Array>(v_); }
  Array& as_array() { return std::get<Array>(v_); }
  const Map& as_map() const { return std::get<Map>(v_); }
  Map& as_map() { return std::get<Map>(v_); }

  // For maps: the member `key`, or nullptr when absent or not a map.
  const Value* Find(std::string_view key) const;

  // Deep, type-strict equality: Value(1) != Value(1.0).
  friend bool operator==(const Value& a, const Value& b) { return a.v_ == b.v_; }

 private:
  std::variant<std::monostate, bool, int64_t, double, std::string, Bytes, Array, Map> v_;
};

std::string_view TypeName(Value::Type type);

}  // namespace blaze

#endif  // BLAZE_VALUE_H_
