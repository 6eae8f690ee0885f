// json.cc — JSON <-> Value through nlohmann::json.
//
// Parsing uses nlohmann's SAX interface to build Values directly (no
// intermediate DOM) and to stop at kMaxJsonDepth before recursion can grow.
// nlohmann's lexer already rejects ill-formed UTF-8.
#include "blaze/json.h"

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <vector>

#include "value/base64.h"

namespace blaze {
namespace {

using nlohmann::json;

class ValueBuilder final : public nlohmann::json_sax<json> {
 public:
  bool null() override { return Add(Value()); }
  bool boolean(bool v) override { return Add(Value(v)); }
  bool number_integer(number_integer_t v) override { return Add(Value(static_cast<int64_t>(v))); }
  bool number_unsigned(number_unsigned_t v) override {
    if (v <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return Add(Value(static_cast<int64_t>(v)));
    return Add(Value(static_cast<double>(v)));
  }
  bool number_float(number_float_t v, const string_t&) override {
    if (!std::isfinite(v)) return Fail("number out of range for a double");
    return Add(Value(v));
  }
  bool string(string_t& v) override { return Add(Value(std::move(v))); }
  bool binary(binary_t&) override { return Fail("binary values are not JSON"); }
  bool start_object(std::size_t) override { return Open(Value::EmptyMap()); }
  bool key(string_t& k) override {
    keys_.back() = std::move(k);
    return true;
  }
  bool end_object() override { return Close(); }
  bool start_array(std::size_t) override { return Open(Value::EmptyArray()); }
  bool end_array() override { return Close(); }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& ex) override {
    // ex.what() reads like "[json.exception.parse_error.101] parse error at line 1, column 5: ..."
    std::string what = ex.what();
    auto p = what.find("] ");
    error_ = "invalid JSON at byte " + std::to_string(position > 0 ? position - 1 : 0) + ": " +
             (p == std::string::npos ? what : what.substr(p + 2));
    return false;
  }

  const std::string& error() const { return error_; }
  Value& result() { return result_; }

 private:
  bool Fail(std::string m) {
    error_ = std::move(m);
    return false;
  }
  bool Open(Value container) {
    if (static_cast<int>(stack_.size()) >= kMaxJsonDepth) {
      return Fail("JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    }
    stack_.push_back(std::move(container));
    keys_.emplace_back();
    return true;
  }
  bool Close() {
    Value done = std::move(stack_.back());
    stack_.pop_back();
    keys_.pop_back();
    if (done.is_map() && done.as_map().size() == 1) {
      auto it = done.as_map().find("$bytes");
      if (it != done.as_map().end()) {
        if (!it->second.is_string()) return Fail("\"$bytes\" must hold a base64 string");
        auto bytes = value::Base64Decode(it->second.as_string());
        if (!bytes) return Fail("\"$bytes\" holds invalid base64 (expected standard, padded base64)");
        done = Value::FromBytes(std::move(*bytes));
      }
    }
    return Add(std::move(done));
  }
  bool Add(Value v) {
    if (stack_.empty()) {
      result_ = std::move(v);
      return true;
    }
    Value& top = stack_.back();
    if (top.is_array()) {
      top.as_array().push_back(std::move(v));
    } else {
      top.as_map().insert_or_assign(std::move(keys_.back()), std::move(v));
    }
    return true;
  }

  std::vector<Value> stack_;
  std::vector<std::string> keys_;
  Value result_;
  std::string error_;
};

json ToNlohmann(const Value& v) {
  switch (v.type()) {
    case Value::Type::kNull: return nullptr;
    case Value::Type::kBool: return v.as_bool();
    case Value::Type::kInt: return v.as_int();
    case Value::Type::kDouble: return std::isfinite(v.as_double()) ? json(v.as_double()) : json(nullptr);
    case Value::Type::kString: return v.as_string();
    case Value::Type::kBytes: return json::object({{"$bytes", value::Base64Encode(v.as_bytes())}});
    case Value::Type::kArray: {
      json a = json::array();
      for (const Value& item : v.as_array()) a.push_back(ToNlohmann(item));
      return a;
    }
    case Value::Type::kMap: {
      json o = json::object();
      for (const auto& [k, item] : v.as_map()) o.emplace(k, ToNlohmann(item));
      return o;
    }
  }
  return nullptr;
}

}  // namespace

Result<Value> ParseJson(std::string_view text) {
  ValueBuilder builder;
  bool ok = json::sax_parse(text.begin(), text.end(), &builder, nlohmann::detail::input_format_t::json,
                            /*strict=*/true);
  if (!ok) return Status::InvalidArgument(builder.error().empty() ? "invalid JSON" : builder.error());
  return std::move(builder.result());
}

std::string ToJson(const Value& value) {
  return ToNlohmann(value).dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace blaze
