// control.cc — encoding and decoding of the relay's control messages.
#include "net/control.h"

#include "blaze/binary.h"
#include "blaze/value.h"
#include "value/utf8.h"

namespace blaze::net {
namespace {

Status Malformed(const std::string& what) { return Status::Corruption("relay control message: " + what); }

std::string_view TypeName(ControlMessage::Type t) {
  switch (t) {
    case ControlMessage::Type::kOpen: return "open";
    case ControlMessage::Type::kOpened: return "opened";
    case ControlMessage::Type::kError: return "error";
    case ControlMessage::Type::kClose: return "close";
  }
  return "";
}

Status GetString(const Value::Map& m, std::string_view key, size_t max, std::string* out) {
  auto it = m.find(key);
  if (it == m.end()) return Malformed("missing \"" + std::string(key) + "\"");
  if (!it->second.is_string()) return Malformed("\"" + std::string(key) + "\" must be a string");
  if (it->second.as_string().size() > max) {
    return Malformed("\"" + std::string(key) + "\" longer than " + std::to_string(max) + " bytes");
  }
  *out = it->second.as_string();
  return Status::Ok();
}

// Text the decoder accepts: valid UTF-8 (else every byte past ASCII becomes
// '?'), cut to `max` bytes at a character boundary.
std::string Clamp(std::string text, size_t max) {
  if (!value::IsValidUtf8(text)) {
    for (char& c : text) {
      if (static_cast<unsigned char>(c) >= 0x80) c = '?';
    }
  }
  if (text.size() <= max) return text;
  size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  text.resize(cut);
  return text;
}

}  // namespace

std::string EncodeControl(const ControlMessage& m) {
  Value::Map map;
  map.emplace("type", Value(TypeName(m.type)));
  map.emplace("stream", Value(static_cast<int64_t>(m.stream)));
  switch (m.type) {
    case ControlMessage::Type::kOpen:
      map.emplace("database", Value(Clamp(m.database, 256)));
      break;
    case ControlMessage::Type::kOpened:
      break;
    case ControlMessage::Type::kError:
    case ControlMessage::Type::kClose:
      map.emplace("code", Value(Clamp(m.code, 64)));
      map.emplace("message", Value(Clamp(m.message, kMaxControlText)));
      break;
  }
  return EncodeBinary(Value(std::move(map)));
}

Result<ControlMessage> DecodeControl(std::string_view bytes) {
  auto decoded = DecodeBinary(bytes);
  if (!decoded.ok()) return Malformed("not BlazeBinary: " + decoded.status().message());
  if (!decoded->is_map()) return Malformed("expected a map");
  const Value::Map& map = decoded->as_map();
  ControlMessage m;
  std::string type;
  BLAZE_RETURN_IF_ERROR(GetString(map, "type", 16, &type));
  if (type == "open") {
    m.type = ControlMessage::Type::kOpen;
  } else if (type == "opened") {
    m.type = ControlMessage::Type::kOpened;
  } else if (type == "error") {
    m.type = ControlMessage::Type::kError;
  } else if (type == "close") {
    m.type = ControlMessage::Type::kClose;
  } else {
    return Malformed("unknown type \"" + type + "\" (expected open, opened, error or close)");
  }
  auto stream = map.find("stream");
  if (stream == map.end() || !stream->second.is_int()) return Malformed("\"stream\" must be an integer");
  int64_t s = stream->second.as_int();
  // Only error may name stream 0 (a request that could not be read).
  int64_t lowest = m.type == ControlMessage::Type::kError ? 0 : 1;
  if (s < lowest || s > 65535) {
    return Malformed("\"stream\" " + std::to_string(s) + " out of range (" + std::to_string(lowest) + "..65535)");
  }
  m.stream = static_cast<uint16_t>(s);
  switch (m.type) {
    case ControlMessage::Type::kOpen:
      // Length only: the name's characters are the relay's business (it
      // answers bad-request), not a decoding error.
      BLAZE_RETURN_IF_ERROR(GetString(map, "database", 256, &m.database));
      break;
    case ControlMessage::Type::kOpened:
      break;
    case ControlMessage::Type::kError:
    case ControlMessage::Type::kClose:
      BLAZE_RETURN_IF_ERROR(GetString(map, "code", 64, &m.code));
      BLAZE_RETURN_IF_ERROR(GetString(map, "message", kMaxControlText, &m.message));
      break;
  }
  return m;
}

Status ValidateDatabaseName(std::string_view name) {
  if (name.empty() || name.size() > kMaxDatabaseName) {
    return Status::InvalidArgument("database name must be 1.." + std::to_string(kMaxDatabaseName) + " bytes, got " +
                                   std::to_string(name.size()));
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) {
      return Status::InvalidArgument("database name may hold only a-z, 0-9, '_' and '-' (got a byte 0x" +
                                     std::string(1, "0123456789abcdef"[(static_cast<unsigned char>(c) >> 4) & 15]) +
                                     std::string(1, "0123456789abcdef"[static_cast<unsigned char>(c) & 15]) + ")");
    }
  }
  if (name[0] == '-' || name[0] == '_') return Status::InvalidArgument("database name must start with a-z or 0-9");
  return Status::Ok();
}

}  // namespace blaze::net
