// record_state.cc — LWW folding and the record state codec.
//
// Encoding, version 1:
//   u8 0x01 | put: u64 hlc, u64 origin | del: u64 hlc, u64 origin |
//   varint n | n x ( name (varint len, UTF-8) | u8 flags | [u64 hlc, u64 origin] | [value] )
// flags bit 0: present (a BlazeBinary value follows); bit 1: the field's stamp
// equals the put stamp and is omitted — the common case of a record written
// by one op. Integers are little-endian. Names are strictly increasing.
#include "store/record_state.h"

#include "value/binary_codec.h"
#include "value/utf8.h"

namespace blaze::store {
namespace {

constexpr uint8_t kStateV1 = 0x01;
constexpr uint8_t kPresent = 1;
constexpr uint8_t kSameAsPut = 2;

void PutStamp(value::Writer& w, const Stamp& s) {
  w.PutFixed64(s.hlc.value);
  w.PutFixed64(s.origin.value);
}

bool ReadStamp(value::Reader& r, Stamp* s) {
  return r.ReadFixed64(&s->hlc.value) && r.ReadFixed64(&s->origin.value);
}

Status Corrupt(const char* what) { return Status::Corruption(std::string("record state: ") + what); }

}  // namespace

bool operator==(const FieldState& a, const FieldState& b) {
  return a.stamp == b.stamp && a.present == b.present && (!a.present || a.value == b.value);
}

bool operator==(const RecordState& a, const RecordState& b) {
  return a.put_ == b.put_ && a.del_ == b.del_ && a.fields_ == b.fields_;
}

Value RecordState::VisibleDoc() const {
  Value::Map doc;
  if (!visible()) return Value(std::move(doc));
  for (const auto& [name, f] : fields_) {
    if (f.present && del_ < f.stamp) doc.emplace_hint(doc.end(), name, f.value);
  }
  return Value(std::move(doc));
}

void RecordState::ApplyPut(const Stamp& s, const Value::Map& fields) {
  if (put_ < s) put_ = s;
  if (s < del_) return;  // hidden forever; nothing to keep
  for (const auto& [name, v] : fields) {
    auto [it, inserted] = fields_.try_emplace(name);
    FieldState& f = it->second;
    if (inserted || f.stamp <= s) {
      f.stamp = s;
      f.present = true;
      f.value = v;
    }
  }
}

void RecordState::ApplyUnset(const Stamp& s, const std::vector<std::string>& names) {
  if (s < del_) return;
  for (const auto& name : names) {
    auto [it, inserted] = fields_.try_emplace(name);
    FieldState& f = it->second;
    if (inserted || f.stamp <= s) {
      f.stamp = s;
      f.present = false;
      f.value = Value();
    }
  }
}

void RecordState::ApplyDelete(const Stamp& s) {
  if (del_ < s) {
    del_ = s;
    Prune();
  }
}

void RecordState::Merge(const RecordState& other) {
  if (put_ < other.put_) put_ = other.put_;
  if (del_ < other.del_) del_ = other.del_;
  for (const auto& [name, theirs] : other.fields_) {
    auto [it, inserted] = fields_.try_emplace(name, theirs);
    if (!inserted && it->second.stamp < theirs.stamp) it->second = theirs;
  }
  Prune();
}

bool RecordState::PurgeFieldTombstones(Hlc cutoff) {
  bool changed = false;
  for (auto it = fields_.begin(); it != fields_.end();) {
    if (!it->second.present && it->second.stamp.hlc < cutoff) {
      it = fields_.erase(it);
      changed = true;
    } else {
      ++it;
    }
  }
  return changed;
}

bool RecordState::DropStampsBelow(Hlc cutoff) {
  if (put_.hlc < cutoff) put_ = Stamp{};
  if (del_.hlc < cutoff) del_ = Stamp{};
  for (auto it = fields_.begin(); it != fields_.end();) {
    it = it->second.stamp.hlc < cutoff ? fields_.erase(it) : std::next(it);
  }
  return put_.IsZero() && del_.IsZero() && fields_.empty();
}

bool RecordState::Reattribute(const Stamp& from, NodeId to) {
  bool changed = false;
  auto move = [&](Stamp& s) {
    if (s == from) {
      s.origin = to;
      changed = true;
    }
  };
  move(put_);
  move(del_);
  for (auto& [name, f] : fields_) move(f.stamp);
  return changed;
}

Stamp RecordState::MaxStamp() const {
  Stamp m = put_;
  if (m < del_) m = del_;
  for (const auto& [name, f] : fields_) {
    if (m < f.stamp) m = f.stamp;
  }
  return m;
}

void RecordState::Prune() {
  for (auto it = fields_.begin(); it != fields_.end();) {
    if (it->second.stamp < del_) {
      it = fields_.erase(it);
    } else {
      ++it;
    }
  }
}

std::string RecordState::Encode() const {
  std::string out;
  out.reserve(48 + fields_.size() * 16);
  value::Writer w(&out);
  w.PutByte(kStateV1);
  PutStamp(w, put_);
  PutStamp(w, del_);
  w.PutVarint(fields_.size());
  for (const auto& [name, f] : fields_) {
    w.PutLengthPrefixed(name);
    uint8_t flags = (f.present ? kPresent : 0) | (f.stamp == put_ ? kSameAsPut : 0);
    w.PutByte(flags);
    if (!(flags & kSameAsPut)) PutStamp(w, f.stamp);
    if (f.present) value::AppendValue(w, f.value);
  }
  return out;
}

std::string RecordState::EncodeFresh(const Stamp& s, const Value::Map& fields) {
  std::string out;
  out.reserve(48 + fields.size() * 16);
  value::Writer w(&out);
  w.PutByte(kStateV1);
  PutStamp(w, s);
  PutStamp(w, Stamp{});
  w.PutVarint(fields.size());
  for (const auto& [name, v] : fields) {
    w.PutLengthPrefixed(name);
    w.PutByte(kPresent | kSameAsPut);
    value::AppendValue(w, v);
  }
  return out;
}

Result<std::optional<Value>> RecordState::DecodeVisibleDoc(std::string_view bytes) {
  value::Reader r(bytes);
  uint8_t version;
  Stamp put, del;
  if (!r.ReadByte(&version) || version != kStateV1) return Corrupt("unknown format byte");
  if (!ReadStamp(r, &put) || !ReadStamp(r, &del)) return Corrupt("truncated stamps");
  const bool visible = del < put;  // still read everything: damage is reported either way
  uint64_t n;
  if (!r.ReadVarint(&n) || n > r.remaining() / 2) return Corrupt("bad field count");
  Value::Map doc;
  std::string_view prev;
  for (uint64_t i = 0; i < n; ++i) {
    std::string_view name;
    if (!r.ReadLengthPrefixed(&name) || !value::IsValidUtf8(name)) return Corrupt("bad field name");
    if (i > 0 && !(prev < name)) return Corrupt("fields out of order");
    prev = name;
    uint8_t flags;
    if (!r.ReadByte(&flags) || (flags & ~(kPresent | kSameAsPut))) return Corrupt("bad field flags");
    Stamp stamp = put;
    if (!(flags & kSameAsPut) && !ReadStamp(r, &stamp)) return Corrupt("truncated field stamp");
    if (!(flags & kPresent)) continue;
    Value v;
    BLAZE_RETURN_IF_ERROR(value::ReadValue(r, &v));
    if (visible && del < stamp) doc.emplace_hint(doc.end(), std::string(name), std::move(v));
  }
  if (!r.empty()) return Corrupt("trailing bytes");
  if (!visible) return std::optional<Value>();
  return std::optional<Value>(Value(std::move(doc)));
}

Result<RecordState> RecordState::Decode(std::string_view bytes) {
  value::Reader r(bytes);
  RecordState st;
  uint8_t version;
  if (!r.ReadByte(&version) || version != kStateV1) return Corrupt("unknown format byte");
  if (!ReadStamp(r, &st.put_) || !ReadStamp(r, &st.del_)) return Corrupt("truncated stamps");
  uint64_t n;
  if (!r.ReadVarint(&n) || n > r.remaining() / 2) return Corrupt("bad field count");
  for (uint64_t i = 0; i < n; ++i) {
    std::string_view name;
    if (!r.ReadLengthPrefixed(&name) || !value::IsValidUtf8(name)) return Corrupt("bad field name");
    if (!st.fields_.empty() && !(st.fields_.rbegin()->first < name)) return Corrupt("fields out of order");
    uint8_t flags;
    if (!r.ReadByte(&flags) || (flags & ~(kPresent | kSameAsPut))) return Corrupt("bad field flags");
    FieldState f;
    f.present = flags & kPresent;
    if (flags & kSameAsPut) {
      f.stamp = st.put_;
    } else if (!ReadStamp(r, &f.stamp)) {
      return Corrupt("truncated field stamp");
    }
    if (f.present) BLAZE_RETURN_IF_ERROR(value::ReadValue(r, &f.value));
    st.fields_.emplace_hint(st.fields_.end(), std::string(name), std::move(f));
  }
  if (!r.empty()) return Corrupt("trailing bytes");
  return st;
}

}  // namespace blaze::store
