// messages.cc — encoding and decoding of sync messages.
#include "sync/messages.h"

#include <map>

#include <cstring>

#include "blaze/record_id.h"
#include "value/binary_codec.h"
#include "value/utf8.h"

namespace blaze::sync {
namespace {

using value::Reader;
using value::Writer;

Status Corrupt(const std::string& what) { return Status::Corruption("sync message: " + what); }

void PutVector(Writer& w, const VersionVector& vv) {
  w.PutVarint(vv.size());
  for (const auto& [origin, seq] : vv) {
    w.PutFixed64(origin.value);
    w.PutVarint(seq);
  }
}

Status ReadVector(Reader& r, VersionVector* vv) {
  uint64_t n;
  if (!r.ReadVarint(&n) || n > r.remaining() / 9) return Corrupt("bad version vector size");
  for (uint64_t i = 0; i < n; ++i) {
    NodeId origin;
    uint64_t seq;
    if (!r.ReadFixed64(&origin.value) || !r.ReadVarint(&seq)) return Corrupt("truncated version vector");
    if (!vv->empty() && !(vv->rbegin()->first < origin)) return Corrupt("version vector not in origin order");
    if (origin.value == 0) return Corrupt("version vector names origin 0");
    vv->emplace_hint(vv->end(), origin, seq);
  }
  return Status::Ok();
}

// Changes bodies (docs/sync-protocol.md, "changes"): origins and names
// (collection and field names) are listed once per message and referred to by
// index; seq and hlc are delta-coded; a generated record id travels as its
// timestamp (delta-coded against the previous one) and 10 random bytes.
constexpr uint8_t kOpTypeMask = 0x03;
constexpr uint8_t kOpPackedId = 0x04;

class NameTable {
 public:
  uint64_t Index(const std::string& name) {
    auto [it, added] = index_.emplace(name, names_.size());
    if (added) names_.push_back(&it->first);
    return it->second;
  }
  const std::vector<const std::string*>& names() const { return names_; }

 private:
  std::map<std::string, uint64_t> index_;
  std::vector<const std::string*> names_;
};

void PutOps(Writer& w, const std::vector<store::Op>& ops, NameTable& names, int64_t* prev_ms) {
  w.PutVarint(ops.size());
  for (const auto& op : ops) {
    auto packed = PackGeneratedId(op.id);
    w.PutByte(static_cast<uint8_t>(op.type) | (packed ? kOpPackedId : 0));
    w.PutVarint(names.Index(op.collection));
    if (packed) {
      int64_t ms = 0;
      for (int i = 0; i < 6; ++i) ms = (ms << 8) | (*packed)[i];
      w.PutVarint(value::ZigZag(ms - *prev_ms));
      *prev_ms = ms;
      w.PutRaw(std::string_view(reinterpret_cast<const char*>(packed->data() + 6), 10));
    } else {
      w.PutLengthPrefixed(op.id);
    }
    if (op.type == store::Op::Type::kPut) {
      w.PutVarint(op.fields.size());
      for (const auto& [name, v] : op.fields) {
        w.PutVarint(names.Index(name));
        value::AppendValue(w, v);
      }
    } else if (op.type == store::Op::Type::kUnset) {
      w.PutVarint(op.names.size());
      for (const auto& name : op.names) w.PutVarint(names.Index(name));
    }
  }
}

void PutChanges(Writer& w, const ChangesMsg& m) {
  w.PutVarint(m.batch);
  std::map<NodeId, uint64_t> index;
  std::vector<NodeId> origins;
  for (const auto& c : m.changes) {
    if (index.emplace(c.origin, origins.size()).second) origins.push_back(c.origin);
  }
  w.PutVarint(origins.size());
  for (NodeId o : origins) w.PutFixed64(o.value);
  // The changes first, into a side buffer, to learn the names they use.
  std::string body;
  Writer b(&body);
  NameTable names;
  b.PutVarint(m.changes.size());
  std::map<NodeId, Seq> prev_seq;
  uint64_t prev_hlc = 0;
  int64_t prev_ms = 0;
  for (const auto& c : m.changes) {
    b.PutVarint(index[c.origin]);
    Seq base = prev_seq.count(c.origin) ? prev_seq[c.origin] : 0;
    b.PutVarint(value::ZigZag(static_cast<int64_t>(c.seq - base)));
    b.PutVarint(value::ZigZag(static_cast<int64_t>(c.hlc.value - prev_hlc)));
    prev_seq[c.origin] = c.seq;
    prev_hlc = c.hlc.value;
    PutOps(b, c.ops, names, &prev_ms);
  }
  w.PutVarint(names.names().size());
  for (const std::string* n : names.names()) w.PutLengthPrefixed(*n);
  w.PutRaw(body);
}

Status ReadOps(Reader& r, const std::vector<std::string>& names, int64_t* prev_ms, std::vector<store::Op>* ops) {
  uint64_t n_ops;
  if (!r.ReadVarint(&n_ops) || n_ops > r.remaining() / 3) return Corrupt("bad op count");
  auto name = [&](std::string* out) {
    uint64_t idx;
    if (!r.ReadVarint(&idx) || idx >= names.size()) return false;
    *out = names[idx];
    return true;
  };
  for (uint64_t i = 0; i < n_ops; ++i) {
    store::Op op;
    uint8_t head;
    if (!r.ReadByte(&head) || (head & ~(kOpTypeMask | kOpPackedId)) || (head & kOpTypeMask) == 0) {
      return Corrupt("bad op header");
    }
    op.type = static_cast<store::Op::Type>(head & kOpTypeMask);
    if (!name(&op.collection) || op.collection.empty()) return Corrupt("bad collection");
    if (head & kOpPackedId) {
      uint64_t dms;
      std::string_view random;
      if (!r.ReadVarint(&dms) || !r.ReadRaw(10, &random)) return Corrupt("truncated record id");
      int64_t ms = *prev_ms + value::UnZigZag(dms);
      if (ms < 0 || ms >= (int64_t{1} << 48)) return Corrupt("bad record id timestamp");
      *prev_ms = ms;
      std::array<uint8_t, 16> raw;
      for (int k = 0; k < 6; ++k) raw[k] = static_cast<uint8_t>(ms >> (8 * (5 - k)));
      std::memcpy(raw.data() + 6, random.data(), 10);
      op.id = UnpackGeneratedId(raw);
    } else {
      std::string_view id;
      if (!r.ReadLengthPrefixed(&id) || id.empty() || !value::IsValidUtf8(id)) return Corrupt("bad record id");
      // A generated id is always sent packed: one spelling per id.
      if (PackGeneratedId(id)) return Corrupt("generated record id sent unpacked");
      op.id.assign(id);
    }
    uint64_t n;
    if (op.type == store::Op::Type::kPut) {
      if (!r.ReadVarint(&n) || n > r.remaining() / 2) return Corrupt("bad field count");
      for (uint64_t k = 0; k < n; ++k) {
        std::string field;
        if (!name(&field)) return Corrupt("bad field name");
        if (!op.fields.empty() && !(op.fields.rbegin()->first < field)) return Corrupt("fields not in order");
        Value v;
        BLAZE_RETURN_IF_ERROR(value::ReadValue(r, &v));
        op.fields.emplace_hint(op.fields.end(), std::move(field), std::move(v));
      }
    } else if (op.type == store::Op::Type::kUnset) {
      if (!r.ReadVarint(&n) || n == 0 || n > r.remaining()) return Corrupt("bad unset count");
      for (uint64_t k = 0; k < n; ++k) {
        std::string field;
        if (!name(&field)) return Corrupt("bad field name");
        if (!op.names.empty() && !(op.names.back() < field)) return Corrupt("fields not in order");
        op.names.push_back(std::move(field));
      }
    }
    ops->push_back(std::move(op));
  }
  return Status::Ok();
}

Status ReadChanges(Reader& r, ChangesMsg* m) {
  uint64_t n_origins, n_names, n;
  if (!r.ReadVarint(&m->batch)) return Corrupt("bad batch number");
  if (!r.ReadVarint(&n_origins) || n_origins > r.remaining() / 8) return Corrupt("bad origin count");
  std::vector<NodeId> origins(static_cast<size_t>(n_origins));
  for (auto& o : origins) {
    if (!r.ReadFixed64(&o.value) || o.value == 0) return Corrupt("bad origin");
  }
  if (!r.ReadVarint(&n_names) || n_names > r.remaining()) return Corrupt("bad name count");
  std::vector<std::string> names;
  for (uint64_t i = 0; i < n_names; ++i) {
    std::string_view name;
    if (!r.ReadLengthPrefixed(&name) || !value::IsValidUtf8(name)) return Corrupt("bad name");
    names.emplace_back(name);
  }
  if (!r.ReadVarint(&n) || n > r.remaining() / 4) return Corrupt("bad change count");
  std::map<NodeId, Seq> prev_seq;
  uint64_t prev_hlc = 0;
  int64_t prev_ms = 0;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t idx, dseq, dhlc;
    if (!r.ReadVarint(&idx) || idx >= origins.size()) return Corrupt("bad origin index");
    if (!r.ReadVarint(&dseq) || !r.ReadVarint(&dhlc)) return Corrupt("truncated change");
    store::Change c;
    c.origin = origins[idx];
    c.seq = prev_seq[c.origin] + static_cast<Seq>(value::UnZigZag(dseq));
    c.hlc.value = prev_hlc + static_cast<uint64_t>(value::UnZigZag(dhlc));
    if (c.seq == 0) return Corrupt("change with seq 0");
    prev_seq[c.origin] = c.seq;
    prev_hlc = c.hlc.value;
    BLAZE_RETURN_IF_ERROR(ReadOps(r, names, &prev_ms, &c.ops));
    m->changes.push_back(std::move(c));
  }
  return Status::Ok();
}

// Collection names are listed once per chunk and referred to by index.
void PutSnapshot(Writer& w, const SnapshotChunk& m) {
  w.PutVarint(m.batch);
  w.PutVarint(m.index);
  w.PutVarint(m.count);
  PutVector(w, m.vv);
  std::map<std::string_view, uint64_t> index;
  std::vector<std::string_view> names;
  for (const auto& r : m.records) {
    if (index.emplace(r.collection, names.size()).second) names.push_back(r.collection);
  }
  for (const auto& [collection, id] : m.evictions) {
    if (index.emplace(collection, names.size()).second) names.push_back(collection);
  }
  w.PutVarint(names.size());
  for (auto n : names) w.PutLengthPrefixed(n);
  w.PutVarint(m.records.size());
  for (const auto& r : m.records) {
    w.PutVarint(index[r.collection]);
    w.PutLengthPrefixed(r.id);
    w.PutLengthPrefixed(r.state);
  }
  w.PutByte(m.replace ? 1 : 0);
  w.PutVarint(m.evictions.size());
  for (const auto& [collection, id] : m.evictions) {
    w.PutVarint(index[collection]);
    w.PutLengthPrefixed(id);
  }
}

Status ReadSnapshot(Reader& r, SnapshotChunk* m) {
  uint64_t index, count, n_names, n;
  if (!r.ReadVarint(&m->batch) || !r.ReadVarint(&index) || !r.ReadVarint(&count)) {
    return Corrupt("bad snapshot header");
  }
  if (count == 0 || count > kMaxSnapshotChunks || index >= count) return Corrupt("bad snapshot chunk numbering");
  m->index = static_cast<uint32_t>(index);
  m->count = static_cast<uint32_t>(count);
  BLAZE_RETURN_IF_ERROR(ReadVector(r, &m->vv));
  if (!r.ReadVarint(&n_names) || n_names > r.remaining() / 2) return Corrupt("bad collection count");
  std::vector<std::string> names;
  for (uint64_t i = 0; i < n_names; ++i) {
    std::string_view name;
    if (!r.ReadLengthPrefixed(&name) || name.empty()) return Corrupt("bad collection name");
    names.emplace_back(name);
  }
  if (!r.ReadVarint(&n) || n > r.remaining() / 3) return Corrupt("bad record count");
  m->records.reserve(static_cast<size_t>(n));
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t idx;
    std::string_view id, state;
    if (!r.ReadVarint(&idx) || idx >= names.size()) return Corrupt("bad collection index");
    if (!r.ReadLengthPrefixed(&id) || id.empty() || !r.ReadLengthPrefixed(&state)) return Corrupt("truncated record");
    m->records.push_back(store::SnapshotRecord{names[idx], std::string(id), std::string(state)});
  }
  uint8_t replace;
  if (!r.ReadByte(&replace) || replace > 1) return Corrupt("bad snapshot replace flag");
  m->replace = replace == 1;
  if (!r.ReadVarint(&n) || n > r.remaining() / 2) return Corrupt("bad eviction count");
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t idx;
    std::string_view id;
    if (!r.ReadVarint(&idx) || idx >= names.size()) return Corrupt("bad collection index");
    if (!r.ReadLengthPrefixed(&id) || id.empty()) return Corrupt("truncated eviction");
    m->evictions.emplace_back(names[idx], std::string(id));
  }
  return Status::Ok();
}

}  // namespace

std::string EncodeMessage(const Message& m) {
  std::string out;
  Writer w(&out);
  std::visit(
      [&](const auto& msg) {
        using T = std::decay_t<decltype(msg)>;
        if constexpr (std::is_same_v<T, Hello>) {
          w.PutByte(static_cast<uint8_t>(MessageType::kHello));
          w.PutFixed64(msg.node.value);
          w.PutByte(msg.wants_answer ? 1 : 0);
          PutVector(w, msg.vv);
        } else if constexpr (std::is_same_v<T, ChangesMsg>) {
          w.PutByte(static_cast<uint8_t>(MessageType::kChanges));
          PutChanges(w, msg);
        } else if constexpr (std::is_same_v<T, Ack>) {
          w.PutByte(static_cast<uint8_t>(MessageType::kAck));
          w.PutVarint(msg.batch);
          PutVector(w, msg.vv);
        } else if constexpr (std::is_same_v<T, GrantMsg>) {
          w.PutByte(static_cast<uint8_t>(MessageType::kGrant));
          w.PutLengthPrefixed(msg.policy_json);
        } else if constexpr (std::is_same_v<T, SnapshotChunk>) {
          w.PutByte(static_cast<uint8_t>(MessageType::kSnapshot));
          PutSnapshot(w, msg);
        } else if constexpr (std::is_same_v<T, OwnHistory>) {
          w.PutByte(static_cast<uint8_t>(MessageType::kOwnHistory));
          w.PutVarint(msg.stamps.size());
          for (const auto& [seq, hlc] : msg.stamps) {
            w.PutVarint(seq);
            w.PutFixed64(hlc.value);
          }
        } else {
          w.PutByte(static_cast<uint8_t>(MessageType::kError));
          w.PutLengthPrefixed(msg.message);
        }
      },
      m);
  return out;
}

Result<Message> DecodeMessage(std::string_view bytes) {
  Reader r(bytes);
  uint8_t type;
  if (!r.ReadByte(&type)) return Corrupt("empty message");
  Message out;
  switch (static_cast<MessageType>(type)) {
    case MessageType::kHello: {
      Hello h;
      uint8_t wants;
      if (!r.ReadFixed64(&h.node.value) || h.node.value == 0) return Corrupt("bad hello node");
      if (!r.ReadByte(&wants) || wants > 1) return Corrupt("bad hello flag");
      h.wants_answer = wants == 1;
      BLAZE_RETURN_IF_ERROR(ReadVector(r, &h.vv));
      out = std::move(h);
      break;
    }
    case MessageType::kChanges: {
      ChangesMsg c;
      BLAZE_RETURN_IF_ERROR(ReadChanges(r, &c));
      out = std::move(c);
      break;
    }
    case MessageType::kAck: {
      Ack a;
      if (!r.ReadVarint(&a.batch)) return Corrupt("bad ack batch");
      BLAZE_RETURN_IF_ERROR(ReadVector(r, &a.vv));
      out = std::move(a);
      break;
    }
    case MessageType::kError: {
      std::string_view text;
      if (!r.ReadLengthPrefixed(&text)) return Corrupt("bad error text");
      out = ErrorMsg{std::string(text)};
      break;
    }
    case MessageType::kGrant: {
      std::string_view text;
      if (!r.ReadLengthPrefixed(&text)) return Corrupt("bad grant text");
      out = GrantMsg{std::string(text)};
      break;
    }
    case MessageType::kSnapshot: {
      SnapshotChunk c;
      BLAZE_RETURN_IF_ERROR(ReadSnapshot(r, &c));
      out = std::move(c);
      break;
    }
    case MessageType::kOwnHistory: {
      OwnHistory h;
      uint64_t n;
      if (!r.ReadVarint(&n) || n > kMaxOwnHistoryStamps) return Corrupt("bad own-history count");
      for (uint64_t i = 0; i < n; ++i) {
        uint64_t seq;
        Hlc hlc;
        if (!r.ReadVarint(&seq) || !r.ReadFixed64(&hlc.value)) return Corrupt("truncated own-history stamp");
        if (seq == 0 || hlc.value == 0) return Corrupt("own-history stamp with seq or hlc 0");
        if (!h.stamps.empty() && seq <= h.stamps.back().first) return Corrupt("own-history seqs not increasing");
        h.stamps.emplace_back(seq, hlc);
      }
      out = std::move(h);
      break;
    }
    default:
      return Corrupt("unknown message type " + std::to_string(type));
  }
  if (!r.empty()) return Corrupt("trailing bytes");
  return out;
}

}  // namespace blaze::sync
