// json.cc — JSON <-> Value through nlohmann::json.
//
// Parsing uses nlohmann's SAX interface to build Values directly (no
// intermediate DOM) and to stop at kMaxJsonDepth before recursion can grow.
// nlohmann's lexer already rejects ill-formed UTF-8.
#include "blaze/json.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <vector>

#include "value/base64.h"
#include "value/utf8.h"

namespace blaze {
namespace {

using nlohmann::json;

class ValueBuilder final : public nlohmann::json_sax<json> {
 public:
  explicit ValueBuilder(bool reject_duplicate_keys = false) : reject_duplicate_keys_(reject_duplicate_keys) {}
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
      auto [it, inserted] = top.as_map().try_emplace(std::move(keys_.back()), std::move(v));
      if (!inserted) {
        if (reject_duplicate_keys_) return Fail("duplicate key " + ToJson(Value(it->first)) + " in a JSON object");
        it->second = std::move(v);
      }
    }
    return true;
  }

  bool reject_duplicate_keys_;
  std::vector<Value> stack_;
  std::vector<std::string> keys_;
  Value result_;
  std::string error_;
};

// JSON text is written directly rather than through a nlohmann::json DOM:
// building the DOM cost a quarter of the insert path. Output is RFC 8259
// JSON: strings escape '"', '\\' and control characters; doubles use the
// shortest text that reads back to the same double (std::to_chars) and always
// carry a '.' or an exponent, so they read back as doubles.
// Invalid UTF-8 (possible only in Values built in C++; documents are
// validated) is written with each bad byte replaced by U+FFFD, so the output
// is always valid JSON.
std::string ReplaceInvalidUtf8(std::string_view s) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    size_t len = 1;
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0xF0) len = 4;
    else if (c >= 0xE0) len = 3;
    else if (c >= 0xC0) len = 2;
    if (i + len <= s.size() && value::IsValidUtf8(s.substr(i, len))) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

void WriteString(std::string& out, std::string_view s) {
  if (!value::IsValidUtf8(s)) {
    std::string fixed = ReplaceInvalidUtf8(s);
    WriteString(out, fixed);
    return;
  }
  static const char* kHex = "0123456789abcdef";
  out += '"';
  size_t run = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 15];
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

void WriteJson(std::string& out, const Value& v) {
  switch (v.type()) {
    case Value::Type::kNull: out += "null"; return;
    case Value::Type::kBool: out += v.as_bool() ? "true" : "false"; return;
    case Value::Type::kInt: {
      char buf[24];
      auto r = std::to_chars(buf, buf + sizeof buf, v.as_int());
      out.append(buf, r.ptr);
      return;
    }
    case Value::Type::kDouble: {
      double d = v.as_double();
      if (!std::isfinite(d)) {
        out += "null";
        return;
      }
      char buf[32];
      auto r = std::to_chars(buf, buf + sizeof buf, d);
      std::string_view text(buf, static_cast<size_t>(r.ptr - buf));
      out += text;
      if (text.find_first_of(".eE") == std::string_view::npos) out += ".0";
      return;
    }
    case Value::Type::kString: WriteString(out, v.as_string()); return;
    case Value::Type::kBytes:
      out += "{\"$bytes\":\"";
      out += value::Base64Encode(v.as_bytes());
      out += "\"}";
      return;
    case Value::Type::kArray: {
      out += '[';
      bool first = true;
      for (const Value& item : v.as_array()) {
        if (!first) out += ',';
        first = false;
        WriteJson(out, item);
      }
      out += ']';
      return;
    }
    case Value::Type::kMap: {
      out += '{';
      bool first = true;
      for (const auto& [k, item] : v.as_map()) {
        if (!first) out += ',';
        first = false;
        WriteString(out, k);
        out += ':';
        WriteJson(out, item);
      }
      out += '}';
      return;
    }
  }
}

}  // namespace

Result<Value> ParseJson(std::string_view text) { return ParseJson(text, JsonParseOptions{}); }

Result<Value> ParseJson(std::string_view text, const JsonParseOptions& options) {
  // The parser would take a NUL byte for the end of the text and ignore
  // whatever follows; JSON text cannot contain one anywhere.
  if (size_t nul = text.find('\0'); nul != std::string_view::npos) {
    return Status::InvalidArgument("invalid JSON: a NUL byte at offset " + std::to_string(nul) +
                                   " (JSON text cannot contain one; inside a string write \\u0000)");
  }
  ValueBuilder builder(options.reject_duplicate_keys);
  bool ok = json::sax_parse(text.begin(), text.end(), &builder, nlohmann::detail::input_format_t::json,
                            /*strict=*/true);
  if (!ok) return Status::InvalidArgument(builder.error().empty() ? "invalid JSON" : builder.error());
  return std::move(builder.result());
}

std::string ToJson(const Value& value) {
  std::string out;
  out.reserve(128);
  WriteJson(out, value);
  return out;
}

}  // namespace blaze
