// messages.cc — encoding and decoding of sync messages.
#include "sync/messages.h"

#include <map>

#include "value/binary_codec.h"

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

void PutChanges(Writer& w, const ChangesMsg& m) {
  w.PutVarint(m.batch);
  std::map<NodeId, uint64_t> index;
  std::vector<NodeId> origins;
  for (const auto& c : m.changes) {
    if (index.emplace(c.origin, origins.size()).second) origins.push_back(c.origin);
  }
  w.PutVarint(origins.size());
  for (NodeId o : origins) w.PutFixed64(o.value);
  w.PutVarint(m.changes.size());
  std::map<NodeId, Seq> prev_seq;
  uint64_t prev_hlc = 0;
  for (const auto& c : m.changes) {
    w.PutVarint(index[c.origin]);
    Seq base = prev_seq.count(c.origin) ? prev_seq[c.origin] : 0;
    w.PutVarint(value::ZigZag(static_cast<int64_t>(c.seq - base)));
    w.PutVarint(value::ZigZag(static_cast<int64_t>(c.hlc.value - prev_hlc)));
    prev_seq[c.origin] = c.seq;
    prev_hlc = c.hlc.value;
    w.PutLengthPrefixed(store::EncodeOps(c.ops));
  }
}

Status ReadChanges(Reader& r, ChangesMsg* m) {
  uint64_t n_origins, n;
  if (!r.ReadVarint(&m->batch)) return Corrupt("bad batch number");
  if (!r.ReadVarint(&n_origins) || n_origins > r.remaining() / 8) return Corrupt("bad origin count");
  std::vector<NodeId> origins(static_cast<size_t>(n_origins));
  for (auto& o : origins) {
    if (!r.ReadFixed64(&o.value) || o.value == 0) return Corrupt("bad origin");
  }
  if (!r.ReadVarint(&n) || n > r.remaining() / 4) return Corrupt("bad change count");
  std::map<NodeId, Seq> prev_seq;
  uint64_t prev_hlc = 0;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t idx, dseq, dhlc;
    std::string_view ops;
    if (!r.ReadVarint(&idx) || idx >= origins.size()) return Corrupt("bad origin index");
    if (!r.ReadVarint(&dseq) || !r.ReadVarint(&dhlc) || !r.ReadLengthPrefixed(&ops)) return Corrupt("truncated change");
    store::Change c;
    c.origin = origins[idx];
    c.seq = prev_seq[c.origin] + static_cast<Seq>(value::UnZigZag(dseq));
    c.hlc.value = prev_hlc + static_cast<uint64_t>(value::UnZigZag(dhlc));
    if (c.seq == 0) return Corrupt("change with seq 0");
    prev_seq[c.origin] = c.seq;
    prev_hlc = c.hlc.value;
    BLAZE_ASSIGN_OR_RETURN(c.ops, store::DecodeOps(ops));
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
    default:
      return Corrupt("unknown message type " + std::to_string(type));
  }
  if (!r.empty()) return Corrupt("trailing bytes");
  return out;
}

}  // namespace blaze::sync
