// share_feed.cc — what the owner sends one app (share_server_impl.h): the
// sender thread, and the filtered stream of record states — batches of the
// records the changes the app lacks touched, evictions only of records it
// was sent, and full images — each cut to the message limit.
#include "local/share_server_impl.h"

namespace blaze {

void CrossAppShare::Impl::Session::RunSender() {
  auto last_checkpoint = std::chrono::steady_clock::now();
  while (true) {
    std::deque<sync::Message> out;
    bool pump = false, save = false;
    NodeId node;
    VersionVector acked;
    {
      std::unique_lock<std::mutex> l(mu);
      cv.wait_for(l, std::chrono::milliseconds(100), [&] { return closed || wake || !control.empty(); });
      if (closed && control.empty()) break;
      wake = false;
      out.swap(control);
      pump = hello && !closed;
      auto now = std::chrono::steady_clock::now();
      if (checkpoint_dirty && now - last_checkpoint > std::chrono::milliseconds(100)) {
        checkpoint_dirty = false;
        last_checkpoint = now;
        save = true;
        node = remote_node;
        acked = remote_vv;
      }
    }
    for (auto& m : out) {
      Status s = SendControl(std::move(m));
      if (!s.ok()) return SenderFailed(s);
    }
    {
      std::lock_guard<std::mutex> l(mu);
      if (closed) break;
    }
    // Compaction keeps what the app has not acknowledged (sync-protocol.md).
    if (save) DatabaseAccess::SaveCheckpoint(*owner->db_, node, acked).IgnoreError();
    if (pump) {
      Status s = Pump();
      if (!s.ok()) return SenderFailed(s);
    }
  }
}

Status CrossAppShare::Impl::Session::SendControl(sync::Message m) {
  if (auto* chunk = std::get_if<sync::SnapshotChunk>(&m)) {
    for (const auto& c : local::SplitStates(std::move(*chunk), SIZE_MAX,
                                            local::StateBudget(owner->options_.max_message_size))) {
      BLAZE_RETURN_IF_ERROR(local::SendMessage(*ch, c));
    }
    return Status::Ok();
  }
  return local::SendMessage(*ch, m);
}

Status CrossAppShare::Impl::Session::Pump() {
  while (true) {
    std::shared_ptr<const policy::AppPolicy> p;
    VersionVector from_vv, acked;
    bool image;
    {
      std::lock_guard<std::mutex> l(mu);
      if (closed || in_flight >= owner->options_.window) return Status::Ok();
      p = policy;
      from_vv = sent;
      acked = remote_vv;
      image = need_image;
    }
    if (image) {
      BLAZE_RETURN_IF_ERROR(SendImage(*p));
      continue;
    }
    BLAZE_ASSIGN_OR_RETURN(VersionVector vv, DatabaseAccess::GetVersionVector(*owner->db_));
    sync::SnapshotChunk batch;
    std::set<std::pair<std::string, std::string>> touched;
    size_t n = 0;
    bool gap = false;
    for (const auto& [origin, seq] : vv) {
      Seq from = std::max(SeqOf(from_vv, origin), SeqOf(acked, origin));
      if (seq <= from) continue;
      auto changes = DatabaseAccess::ChangesAfter(*owner->db_, origin, from, owner->options_.batch_changes - n);
      if (!changes.ok()) return changes.status();
      if (changes->empty() || changes->front().seq != from + 1) {
        gap = true;  // compacted away: only a full image can bring the app up to date
        break;
      }
      for (const auto& c : *changes) {
        for (const auto& op : c.ops) {
          if (p->access(op.collection) != Access::kNone) touched.emplace(op.collection, op.id);
        }
      }
      batch.vv[origin] = changes->back().seq;
      n += changes->size();
      if (n >= owner->options_.batch_changes) break;
    }
    if (gap) {
      std::lock_guard<std::mutex> l(mu);
      need_image = true;
      continue;
    }
    if (batch.vv.empty()) return Status::Ok();
    BLAZE_ASSIGN_OR_RETURN(auto states, DatabaseAccess::ReadStates(
        *owner->db_, std::vector<std::pair<std::string, std::string>>(touched.begin(), touched.end())));
    std::set<std::pair<std::string, std::string>> found;
    for (auto& r : states) {
      found.emplace(r.collection, r.id);
      BLAZE_RETURN_IF_ERROR(Filter(*p, std::move(r), &batch));
    }
    for (const auto& key : touched) {
      if (!found.count(key) && Held(key.first, key.second)) batch.evictions.push_back(key);  // purged since
    }
    BLAZE_RETURN_IF_ERROR(MarkHeld(batch.records));
    BLAZE_RETURN_IF_ERROR(SendBatch(std::move(batch)));
  }
}

Status CrossAppShare::Impl::Session::Filter(const policy::AppPolicy& p, store::SnapshotRecord r, sync::SnapshotChunk* batch) {
  BLAZE_ASSIGN_OR_RETURN(store::RecordState st, store::RecordState::Decode(r.state));
  if (st.visible() && p.Visible(r.collection, r.id, st.VisibleDoc())) {
    st.KeepFields([&](std::string_view f) { return p.FieldExported(r.collection, f); });
    r.state = st.Encode();
    batch->records.push_back(std::move(r));
  } else if (Held(r.collection, r.id)) {
    // Deleted, or outside the app's view: the replica drops its copy. Not
    // even the id of a record it may not see is sent as a tombstone, and
    // one it never got is not named at all.
    batch->evictions.emplace_back(std::move(r.collection), std::move(r.id));
  }
  return Status::Ok();
}

bool CrossAppShare::Impl::Session::Held(const std::string& collection, const std::string& id) {
  std::lock_guard<std::mutex> l(held_mu);
  return held.count({collection, id}) != 0;
}

Status CrossAppShare::Impl::Session::MarkHeld(const std::vector<store::SnapshotRecord>& records) {
  std::vector<std::pair<std::string, std::string>> fresh;
  {
    std::lock_guard<std::mutex> l(held_mu);
    for (const auto& r : records) {
      if (!held.count({r.collection, r.id})) fresh.emplace_back(r.collection, r.id);
    }
  }
  if (fresh.empty()) return Status::Ok();
  NodeId node;
  {
    std::lock_guard<std::mutex> l(mu);
    node = remote_node;
  }
  BLAZE_RETURN_IF_ERROR(DatabaseAccess::AddSent(*owner->db_, node, fresh));
  std::lock_guard<std::mutex> l(held_mu);
  held.insert(fresh.begin(), fresh.end());
  return Status::Ok();
}

Status CrossAppShare::Impl::Session::SendBatch(sync::SnapshotChunk batch) {
  uint64_t id;
  {
    std::lock_guard<std::mutex> l(mu);
    id = next_batch++;
    ++in_flight;
    for (const auto& [origin, seq] : batch.vv) sent[origin] = std::max(SeqOf(sent, origin), seq);
    batch.vv = ToAppLocked(batch.vv);
    stats.records_sent += batch.records.size();
    stats.evictions_sent += batch.evictions.size();
  }
  batch.batch = id;
  // Split to fit the app's message limit (one record may be as large as a document).
  for (const auto& chunk : local::SplitStates(std::move(batch), SIZE_MAX,
                                              local::StateBudget(owner->options_.max_message_size))) {
    BLAZE_RETURN_IF_ERROR(local::SendMessage(*ch, chunk));
  }
  return Status::Ok();
}

Status CrossAppShare::Impl::Session::SendImage(const policy::AppPolicy& p) {
  BLAZE_ASSIGN_OR_RETURN(store::Snapshot snap, DatabaseAccess::ReadSnapshot(*owner->db_));
  sync::SnapshotChunk all;
  for (auto& r : snap.records) {
    if (p.access(r.collection) == Access::kNone) continue;
    BLAZE_RETURN_IF_ERROR(Filter(p, std::move(r), &all));
  }
  BLAZE_RETURN_IF_ERROR(MarkHeld(all.records));
  const size_t per = sync::kSnapshotChunkRecords;
  uint64_t id;
  {
    std::lock_guard<std::mutex> l(mu);
    id = next_batch++;
    ++in_flight;
    need_image = false;
    for (const auto& [origin, seq] : snap.vv) sent[origin] = std::max(SeqOf(sent, origin), seq);
    snap.vv = ToAppLocked(snap.vv);
    stats.records_sent += all.records.size();
    ++stats.images_sent;
  }
  all.batch = id;
  all.vv = snap.vv;
  all.replace = true;
  // Chunks of at most kSnapshotChunkRecords records, each within the message limit.
  for (const auto& c :
       local::SplitStates(std::move(all), per, local::StateBudget(owner->options_.max_message_size))) {
    BLAZE_RETURN_IF_ERROR(local::SendMessage(*ch, c));
  }
  return Status::Ok();
}

}  // namespace blaze
