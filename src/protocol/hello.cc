// hello.cc — see hello.h.
#include "protocol/hello.h"

#include <algorithm>

#include "blaze/binary.h"
#include "blaze/value.h"

namespace blaze::protocol {
namespace {

Status Bad(std::string_view what) { return Status::Corruption("protocol error: " + std::string(what)); }

Status ReadString(const Value& map, std::string_view key, std::string* out) {
  const Value* v = map.Find(key);
  if (v == nullptr) return Status::Ok();
  if (!v->is_string() || v->as_string().size() > kMaxHelloString) {
    return Bad("'" + std::string(key) + "' must be a string of at most 256 bytes");
  }
  *out = v->as_string();
  return Status::Ok();
}

}  // namespace

std::string EncodeHello(const Hello& hello) {
  Value::Array versions, caps;
  for (uint8_t v : hello.versions) versions.emplace_back(static_cast<int64_t>(v));
  for (const std::string& c : hello.capabilities) caps.emplace_back(c);
  Value::Map m;
  m.emplace("versions", Value(std::move(versions)));
  m.emplace("version", Value(static_cast<int64_t>(hello.version)));
  m.emplace("identity", Value(hello.identity));
  m.emplace("capabilities", Value(std::move(caps)));
  return EncodeBinary(Value(std::move(m)));
}

Result<Hello> DecodeHello(std::string_view bytes) {
  Result<Value> v = DecodeBinary(bytes);
  if (!v.ok()) return Bad("hello is not BlazeBinary: " + v.status().message());
  if (!v->is_map()) return Bad("hello must be a map");
  Hello hello;
  const Value* versions = v->Find("versions");
  if (versions == nullptr || !versions->is_array() || versions->as_array().empty() ||
      versions->as_array().size() > kMaxHelloVersions) {
    return Bad("hello 'versions' must be an array of 1 to 16 versions");
  }
  for (const Value& x : versions->as_array()) {
    if (!x.is_int() || x.as_int() < 1 || x.as_int() > 255) return Bad("hello versions must be integers 1..255");
    const auto v = static_cast<uint8_t>(x.as_int());
    if (!hello.versions.empty() && v <= hello.versions.back()) {
      return Bad("hello versions must be strictly increasing");
    }
    hello.versions.push_back(v);
  }
  const Value* version = v->Find("version");
  if (version == nullptr || !version->is_int() || version->as_int() < 1 || version->as_int() > 255) {
    return Bad("hello 'version' must be an integer 1..255");
  }
  hello.version = static_cast<uint8_t>(version->as_int());
  if (std::find(hello.versions.begin(), hello.versions.end(), hello.version) == hello.versions.end()) {
    return Bad("hello 'version' must be one of its 'versions'");
  }
  BLAZE_RETURN_IF_ERROR(ReadString(*v, "identity", &hello.identity));
  if (const Value* caps = v->Find("capabilities")) {
    if (!caps->is_array() || caps->as_array().size() > kMaxHelloCapabilities) {
      return Bad("hello 'capabilities' must be an array of at most 64 strings");
    }
    for (const Value& c : caps->as_array()) {
      if (!c.is_string() || c.as_string().size() > kMaxHelloString) {
        return Bad("hello capabilities must be strings of at most 256 bytes");
      }
      hello.capabilities.push_back(c.as_string());
    }
  }
  return hello;
}

std::string EncodeErrorMessage(const ErrorMessage& error) {
  Value::Map m;
  m.emplace("code", Value(error.code));
  m.emplace("message", Value(error.message));
  return EncodeBinary(Value(std::move(m)));
}

Result<ErrorMessage> DecodeErrorMessage(std::string_view bytes) {
  Result<Value> v = DecodeBinary(bytes);
  if (!v.ok()) return Bad("error message is not BlazeBinary: " + v.status().message());
  if (!v->is_map()) return Bad("error message must be a map");
  ErrorMessage e;
  BLAZE_RETURN_IF_ERROR(ReadString(*v, "code", &e.code));
  BLAZE_RETURN_IF_ERROR(ReadString(*v, "message", &e.message));
  if (e.code.empty()) return Bad("error message needs a 'code'");
  return e;
}

Result<std::string> BuildPrologue(std::string_view database) {
  if (database.size() > 65535) return Status::InvalidArgument("database/app name longer than 65535 bytes");
  std::string p = "BlazeDB-channel";
  p.push_back('\0');
  p.push_back(static_cast<char>(database.size() >> 8));
  p.push_back(static_cast<char>(database.size() & 0xFF));
  p.append(database);
  return p;
}

}  // namespace blaze::protocol
