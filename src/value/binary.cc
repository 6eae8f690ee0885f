// binary.cc — BlazeBinary encoder and strict decoder.
//
// The decoder is the security boundary for everything read from disk or the
// network, so it checks every length against the bytes left before
// allocating, caps nesting at kMaxBinaryDepth, and rejects every
// non-canonical form (long forms where a short one fits, overlong varints,
// unsorted or duplicate map keys, invalid UTF-8, non-canonical NaNs). Being
// strict keeps "equal values have equal bytes" true for decoded data too.
#include "blaze/binary.h"

#include <bit>

#include "value/binary_codec.h"
#include "value/utf8.h"

namespace blaze::value {
namespace {

constexpr uint64_t kCanonicalNaN = 0x7FF8000000000000ULL;

void AppendString(Writer& w, const std::string& s) {
  if (s.size() < 32) {
    w.PutByte(static_cast<uint8_t>(tag::kShortString + s.size()));
  } else {
    w.PutByte(tag::kString);
    w.PutVarint(s.size());
  }
  w.PutRaw(s);
}

Status Corrupt(const char* what) {
  return Status::Corruption(std::string("BlazeBinary: ") + what);
}

Status ReadValueAt(Reader& r, Value* out, int depth);

Status ReadString(Reader& r, size_t len, Value* out) {
  std::string_view s;
  if (!r.ReadRaw(len, &s)) return Corrupt("string runs past the end of the input");
  if (!IsValidUtf8(s)) return Corrupt("string is not valid UTF-8");
  *out = Value(std::string(s));
  return Status::Ok();
}

Status ReadArray(Reader& r, uint64_t count, Value* out, int depth) {
  if (count > r.remaining()) return Corrupt("array count exceeds the bytes left");
  Value::Array items;
  items.reserve(static_cast<size_t>(count));
  for (uint64_t i = 0; i < count; ++i) {
    Value item;
    BLAZE_RETURN_IF_ERROR(ReadValueAt(r, &item, depth + 1));
    items.push_back(std::move(item));
  }
  *out = Value(std::move(items));
  return Status::Ok();
}

Status ReadMap(Reader& r, uint64_t count, Value* out, int depth) {
  if (count > r.remaining() / 2) return Corrupt("map count exceeds the bytes left");
  Value::Map map;
  std::string_view prev;
  for (uint64_t i = 0; i < count; ++i) {
    std::string_view key;
    if (!r.ReadLengthPrefixed(&key)) return Corrupt("map key runs past the end of the input");
    if (!IsValidUtf8(key)) return Corrupt("map key is not valid UTF-8");
    if (i > 0 && !(prev < key)) return Corrupt("map keys are not strictly increasing");
    prev = key;
    Value item;
    BLAZE_RETURN_IF_ERROR(ReadValueAt(r, &item, depth + 1));
    map.emplace_hint(map.end(), std::string(key), std::move(item));
  }
  *out = Value(std::move(map));
  return Status::Ok();
}

Status ReadValueAt(Reader& r, Value* out, int depth) {
  if (depth > kMaxBinaryDepth) return Corrupt("nesting deeper than 64");
  uint8_t t;
  if (!r.ReadByte(&t)) return Corrupt("truncated value");
  if (t >= tag::kSmallIntFirst && t <= tag::kSmallIntLast) {
    *out = Value(static_cast<int64_t>(t) - 0x40);
    return Status::Ok();
  }
  if (t >= tag::kShortString && t < tag::kShortString + 32) return ReadString(r, t - tag::kShortString, out);
  if (t >= tag::kShortArray && t < tag::kShortArray + 16) return ReadArray(r, t - tag::kShortArray, out, depth);
  if (t >= tag::kShortMap && t < tag::kShortMap + 16) return ReadMap(r, t - tag::kShortMap, out, depth);
  uint64_t n;
  switch (t) {
    case tag::kNull: *out = Value(); return Status::Ok();
    case tag::kFalse: *out = Value(false); return Status::Ok();
    case tag::kTrue: *out = Value(true); return Status::Ok();
    case tag::kInt: {
      if (!r.ReadVarint(&n)) return Corrupt("bad int varint");
      int64_t v = UnZigZag(n);
      if (v >= tag::kSmallIntMin && v <= tag::kSmallIntMax) return Corrupt("int in long form fits the small form");
      *out = Value(v);
      return Status::Ok();
    }
    case tag::kDouble: {
      if (!r.ReadFixed64(&n)) return Corrupt("truncated double");
      double d = std::bit_cast<double>(n);
      if (d != d && n != kCanonicalNaN) return Corrupt("non-canonical NaN");
      *out = Value(d);
      return Status::Ok();
    }
    case tag::kString:
      if (!r.ReadVarint(&n)) return Corrupt("bad string length");
      if (n < 32) return Corrupt("short string in long form");
      if (n > r.remaining()) return Corrupt("string runs past the end of the input");
      return ReadString(r, static_cast<size_t>(n), out);
    case tag::kBytes: {
      std::string_view s;
      if (!r.ReadLengthPrefixed(&s)) return Corrupt("bytes run past the end of the input");
      *out = Value::FromBytes(Value::Bytes(s.begin(), s.end()));
      return Status::Ok();
    }
    case tag::kArray:
      if (!r.ReadVarint(&n)) return Corrupt("bad array count");
      if (n < 16) return Corrupt("short array in long form");
      return ReadArray(r, n, out, depth);
    case tag::kMap:
      if (!r.ReadVarint(&n)) return Corrupt("bad map count");
      if (n < 16) return Corrupt("short map in long form");
      return ReadMap(r, n, out, depth);
    default:
      return Corrupt("unknown type tag");
  }
}

}  // namespace

void AppendValue(Writer& w, const Value& v) {
  switch (v.type()) {
    case Value::Type::kNull: w.PutByte(tag::kNull); return;
    case Value::Type::kBool: w.PutByte(v.as_bool() ? tag::kTrue : tag::kFalse); return;
    case Value::Type::kInt: {
      int64_t i = v.as_int();
      if (i >= tag::kSmallIntMin && i <= tag::kSmallIntMax) {
        w.PutByte(static_cast<uint8_t>(i + 0x40));
      } else {
        w.PutByte(tag::kInt);
        w.PutVarint(ZigZag(i));
      }
      return;
    }
    case Value::Type::kDouble: {
      double d = v.as_double();
      w.PutByte(tag::kDouble);
      w.PutFixed64(d != d ? kCanonicalNaN : std::bit_cast<uint64_t>(d));
      return;
    }
    case Value::Type::kString: AppendString(w, v.as_string()); return;
    case Value::Type::kBytes: {
      const auto& b = v.as_bytes();
      w.PutByte(tag::kBytes);
      w.PutLengthPrefixed(std::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
      return;
    }
    case Value::Type::kArray: {
      const auto& a = v.as_array();
      if (a.size() < 16) {
        w.PutByte(static_cast<uint8_t>(tag::kShortArray + a.size()));
      } else {
        w.PutByte(tag::kArray);
        w.PutVarint(a.size());
      }
      for (const Value& item : a) AppendValue(w, item);
      return;
    }
    case Value::Type::kMap: {
      const auto& m = v.as_map();
      if (m.size() < 16) {
        w.PutByte(static_cast<uint8_t>(tag::kShortMap + m.size()));
      } else {
        w.PutByte(tag::kMap);
        w.PutVarint(m.size());
      }
      for (const auto& [key, item] : m) {
        w.PutLengthPrefixed(key);
        AppendValue(w, item);
      }
      return;
    }
  }
}

Status ReadValue(Reader& r, Value* out) { return ReadValueAt(r, out, 0); }

}  // namespace blaze::value

namespace blaze {

std::string EncodeBinary(const Value& value) {
  std::string out;
  value::Writer w(&out);
  w.PutByte(kBlazeBinaryV1);
  value::AppendValue(w, value);
  return out;
}

Result<Value> DecodeBinary(std::string_view bytes) {
  value::Reader r(bytes);
  uint8_t version;
  if (!r.ReadByte(&version)) return Status::Corruption("BlazeBinary: empty input, expected a format byte");
  if (version != kBlazeBinaryV1) {
    return Status::Corruption("BlazeBinary: unknown format byte, expected 0xF1 (version 1)");
  }
  Value v;
  BLAZE_RETURN_IF_ERROR(value::ReadValue(r, &v));
  if (!r.empty()) return Status::Corruption("BlazeBinary: trailing bytes after the value");
  return v;
}

}  // namespace blaze
