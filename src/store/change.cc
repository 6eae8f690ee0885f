// change.cc — the op list codec.
#include "store/change.h"

#include "value/binary_codec.h"
#include "value/utf8.h"

namespace blaze::store {
namespace {

Status Corrupt(const std::string& what) { return Status::Corruption("change ops: " + what); }

bool ReadName(value::Reader& r, std::string* out) {
  std::string_view s;
  if (!r.ReadLengthPrefixed(&s) || !value::IsValidUtf8(s)) return false;
  out->assign(s);
  return true;
}

}  // namespace

void AppendPutOp(std::string* body, std::string_view collection, std::string_view id, const Value::Map& fields) {
  value::Writer w(body);
  w.PutByte(static_cast<uint8_t>(Op::Type::kPut));
  w.PutLengthPrefixed(collection);
  w.PutLengthPrefixed(id);
  w.PutVarint(fields.size());
  for (const auto& [name, v] : fields) {
    w.PutLengthPrefixed(name);
    value::AppendValue(w, v);
  }
}

void AppendUnsetOp(std::string* body, std::string_view collection, std::string_view id,
                   const std::vector<std::string>& names) {
  value::Writer w(body);
  w.PutByte(static_cast<uint8_t>(Op::Type::kUnset));
  w.PutLengthPrefixed(collection);
  w.PutLengthPrefixed(id);
  w.PutVarint(names.size());
  for (const auto& name : names) w.PutLengthPrefixed(name);
}

void AppendDeleteOp(std::string* body, std::string_view collection, std::string_view id) {
  value::Writer w(body);
  w.PutByte(static_cast<uint8_t>(Op::Type::kDelete));
  w.PutLengthPrefixed(collection);
  w.PutLengthPrefixed(id);
}

std::string FrameOps(size_t count, std::string_view body) {
  std::string out;
  out.reserve(body.size() + 11);
  value::Writer w(&out);
  w.PutByte(kOpsFormatV1);
  w.PutVarint(count);
  w.PutRaw(body);
  return out;
}

std::string EncodeOps(const std::vector<Op>& ops) {
  std::string body;
  for (const Op& op : ops) {
    switch (op.type) {
      case Op::Type::kPut: AppendPutOp(&body, op.collection, op.id, op.fields); break;
      case Op::Type::kUnset: AppendUnsetOp(&body, op.collection, op.id, op.names); break;
      case Op::Type::kDelete: AppendDeleteOp(&body, op.collection, op.id); break;
    }
  }
  return FrameOps(ops.size(), body);
}

Result<std::vector<Op>> DecodeOps(std::string_view bytes) {
  value::Reader r(bytes);
  uint8_t version;
  if (!r.ReadByte(&version) || version != kOpsFormatV1) return Corrupt("unknown format byte");
  uint64_t count;
  if (!r.ReadVarint(&count) || count > r.remaining() / 3) return Corrupt("bad op count");
  std::vector<Op> ops(static_cast<size_t>(count));
  for (Op& op : ops) {
    uint8_t type;
    if (!r.ReadByte(&type) || type < 1 || type > 3) return Corrupt("unknown op type");
    op.type = static_cast<Op::Type>(type);
    if (!ReadName(r, &op.collection) || op.collection.empty()) return Corrupt("bad collection name");
    if (!ReadName(r, &op.id) || op.id.empty()) return Corrupt("bad record id");
    uint64_t n;
    switch (op.type) {
      case Op::Type::kPut:
        if (!r.ReadVarint(&n) || n > r.remaining() / 2) return Corrupt("bad field count");
        for (uint64_t i = 0; i < n; ++i) {
          std::string name;
          if (!ReadName(r, &name)) return Corrupt("bad field name");
          if (!op.fields.empty() && !(op.fields.rbegin()->first < name)) return Corrupt("fields not in order");
          Value v;
          BLAZE_RETURN_IF_ERROR(value::ReadValue(r, &v));
          op.fields.emplace_hint(op.fields.end(), std::move(name), std::move(v));
        }
        break;
      case Op::Type::kUnset:
        if (!r.ReadVarint(&n) || n > r.remaining()) return Corrupt("bad field count");
        for (uint64_t i = 0; i < n; ++i) {
          std::string name;
          if (!ReadName(r, &name)) return Corrupt("bad field name");
          if (!op.names.empty() && !(op.names.back() < name)) return Corrupt("fields not in order");
          op.names.push_back(std::move(name));
        }
        break;
      case Op::Type::kDelete:
        break;
    }
  }
  if (!r.empty()) return Corrupt("trailing bytes");
  return ops;
}

Status DivergentChange(NodeId origin, Seq seq) {
  return Status::Corruption("two different changes claim origin " + origin.ToHex() + " seq " + std::to_string(seq) +
                            "; two database files wrote under one node id (was a file copied, or restored from a "
                            "backup, and written before it noticed?)");
}

}  // namespace blaze::store
