// share_session.cc — one app's session at the owner of a shared database:
// the handshake and admission, what the app says (its hello, bound to its
// identity; its own changes, checked on the states the merge will produce;
// acks), closing, and the per-app origin aliases (share_server_impl.h).
#include "local/share_server_impl.h"

#include <optional>

#include "local/own_history.h"

namespace blaze {

VersionVector CrossAppShare::Impl::Session::ToAppLocked(const VersionVector& vv) {
  VersionVector out;
  for (const auto& [origin, seq] : vv) {
    if (origin == remote_node) {
      out[origin] = seq;
      continue;
    }
    auto it = alias_of.find(origin);
    if (it == alias_of.end()) {
      NodeId a = owner->aliases_->Alias(stats.app, origin);
      it = alias_of.emplace(origin, a).first;
      real_of.emplace(a, origin);
    }
    out[it->second] = seq;
  }
  return out;
}

VersionVector CrossAppShare::Impl::Session::FromAppLocked(const VersionVector& vv) {
  VersionVector out;
  for (const auto& [origin, seq] : vv) {
    if (origin == remote_node) {
      out[origin] = seq;
    } else if (auto it = real_of.find(origin); it != real_of.end()) {
      out[it->second] = seq;
    }
  }
  return out;
}

void CrossAppShare::Impl::Session::Wake() {
  {
    std::lock_guard<std::mutex> l(mu);
    wake = true;
  }
  cv.notify_one();
}

void CrossAppShare::Impl::Session::Close(const std::string& why) {
  SecureChannel* c;
  std::string app;
  bool first;
  {
    std::lock_guard<std::mutex> l(mu);
    first = !closed;
    // A close without a reason (the sender found the channel already
    // closed) leaves the reason to the receiver, which says it next.
    if (!first && (why.empty() || !stats.error.empty())) return;
    closed = true;
    stats.live = false;
    if (stats.error.empty()) stats.error = why;
    c = ch.get();
    app = stats.app;
  }
  if (first) {
    cv.notify_all();
    if (c) c->Close();
    if (raw) raw->Close();
  }
  if (!why.empty()) owner->Log("cross-app: connection of '" + app + "' closed: " + why);
}

void CrossAppShare::Impl::Session::SenderFailed(const Status& s) {
  Close(s.code() == StatusCode::kFailedPrecondition ? std::string() : s.ToString());
}

void CrossAppShare::Impl::Session::Finish() {
  Close("");
  if (tx.joinable()) tx.join();
  finished = true;
}

void CrossAppShare::Impl::Session::Queue(sync::Message m) {
  {
    std::lock_guard<std::mutex> l(mu);
    control.push_back(std::move(m));
  }
  cv.notify_one();
}

void CrossAppShare::Impl::Session::RunReceiver() {
  auto opts = local::CrossAppChannelOptions(owner->identity_, trust.get(), owner->claim_.db_name(), owner->options_);
  opts.log = [o = owner](std::string_view why) { o->Log(std::string(why)); };
  auto accepted = SecureChannel::Accept(opts, std::move(stream));
  if (!accepted.ok()) {
    Close("handshake failed: " + accepted.status().ToString());
    return;
  }
  {
    std::lock_guard<std::mutex> l(mu);
    ch = std::move(accepted).value();
    stats.app = ch->peer().identity.name;
    peer_key = ch->peer().static_key;
    if (closed) {
      ch->Close();
      return;
    }
  }
  authenticated = true;
  Status s = owner->AppHasRoom(this, stats.app);
  if (s.ok()) s = Admit();
  if (!s.ok()) {
    local::SendMessage(*ch, sync::ErrorMsg{s.ToString()}).IgnoreError();  // no sender thread yet
    return Close(s.ToString());
  }
  tx = std::thread([self = shared_from_this()] { self->RunSender(); });
  while (true) {
    {
      std::lock_guard<std::mutex> l(mu);
      if (closed) return;
    }
    auto m = ch->Receive(std::chrono::milliseconds(200));
    if (!m.ok()) {
      if (m.status().code() == StatusCode::kIOError) continue;  // timed out
      return Close(m.status().ToString());
    }
    auto msg = sync::DecodeMessage(m->body);
    if (!msg.ok()) {
      Queue(sync::ErrorMsg{msg.status().ToString()});
      return Close(msg.status().ToString());
    }
    Status st = local::CheckAppMessage(*msg, owner->options_);
    if (st.ok()) st = Handle(*msg);
    if (!st.ok()) {
      Queue(sync::ErrorMsg{st.ToString()});
      // Let the sender flush the error before the channel goes.
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      return Close(st.ToString());
    }
  }
}

Status CrossAppShare::Impl::Session::Admit() {
  ExportPolicy grant;
  {
    std::lock_guard<std::mutex> l(owner->mu_);
    grant = local::GrantFor(owner->policy_, stats.app);
  }
  BLAZE_ASSIGN_OR_RETURN(auto compiled, policy::AppPolicy::Compile(grant, stats.app));
  std::string json = ExportPolicyToJson(grant);
  // A replica made under another grant must be rebuilt from a full image.
  const std::string key = "crossapp.served." + stats.app;
  auto served = DatabaseAccess::GetMeta(*owner->db_, key);
  bool image = served.ok() && *served != json;
  if (!served.ok() || image) BLAZE_RETURN_IF_ERROR(DatabaseAccess::SetMeta(*owner->db_, key, json));
  {
    std::lock_guard<std::mutex> l(mu);
    policy = std::move(compiled);
    need_image = image;
    control.push_back(sync::GrantMsg{json});  // our hello follows the app's (it names the app's node)
  }
  return Status::Ok();
}

Status CrossAppShare::Impl::Session::Handle(const sync::Message& msg) {
  if (auto* h = std::get_if<sync::Hello>(&msg)) {
    {
      std::lock_guard<std::mutex> l(mu);
      if (hello && h->node != remote_node) return Status::InvalidArgument("the app changed its node id mid-session");
    }
    // Only a node id bound to this app (or free): origins are bound to
    // identities (node_binding.h).
    BLAZE_RETURN_IF_ERROR(owner->bindings_.Claim(stats.app, h->node));
    BLAZE_ASSIGN_OR_RETURN(auto sent_before, DatabaseAccess::LoadSent(*owner->db_, h->node));
    // A replica that holds something the owner has no record of sending
    // (served before the owner kept one) is rebuilt from a full image, so
    // every row it holds is either sent again or evicted by the image.
    bool unknown_holdings = sent_before.empty() && !h->vv.empty();
    {
      std::lock_guard<std::mutex> hl(held_mu);
      held = std::move(sent_before);
    }
    // Version 2: the stamps of what we hold of the app's node (bound to it
    // just above), for a replica restored in place to see its history
    // forked (own_history.h); sent right before our hello.
    std::optional<sync::OwnHistory> own;
    if (ch->peer().version >= local::kCrossAppOwnHistoryVersion) {
      BLAZE_ASSIGN_OR_RETURN(own, local::OwnHistoryFor(*owner->db_, h->node, SeqOf(h->vv, h->node)));
    }
    BLAZE_ASSIGN_OR_RETURN(VersionVector vv, DatabaseAccess::GetVersionVector(*owner->db_));
    std::shared_ptr<const policy::AppPolicy> p;
    {
      std::lock_guard<std::mutex> l(mu);
      if (unknown_holdings) need_image = true;
      remote_node = h->node;
      p = policy;
    }
    // Corrections the replica has not confirmed (refused while it was
    // away, or lost with an earlier connection, or before an owner
    // restart): sent again before our hello, so a replica that has our
    // hello has applied them.
    BLAZE_ASSIGN_OR_RETURN(auto refused, DatabaseAccess::LoadRefused(*owner->db_, h->node));
    if (!refused.empty()) {
      std::set<std::pair<std::string, std::string>> keys;
      for (const auto& [key, seq] : refused) keys.insert(key);
      BLAZE_RETURN_IF_ERROR(QueueCorrection(*p, keys));
    }
    std::lock_guard<std::mutex> l(mu);
    if (own) control.push_back(std::move(*own));
    // Our hello: the app's own seq as is, every other origin (ours
    // included) by its alias for this app.
    VersionVector shown = ToAppLocked(vv);
    control.push_back(sync::Hello{owner->aliases_->Alias(stats.app, DatabaseAccess::Node(*owner->db_)), shown, false});
    hello = true;
    remote_vv = FromAppLocked(h->vv);
    sent = remote_vv;
    stats.live = true;
    wake = true;
    cv.notify_one();
    return Status::Ok();
  }
  if (auto* a = std::get_if<sync::Ack>(&msg)) {
    std::unique_lock<std::mutex> l(mu);
    // The sender needs waking only if the window was full: otherwise it
    // has sent everything already (commits wake it), and the checkpoint
    // is saved on its periodic round.
    const bool was_full = in_flight >= owner->options_.window;
    if (in_flight > 0) --in_flight;
    VersionVector real = FromAppLocked(a->vv);
    for (const auto& [origin, seq] : real) remote_vv[origin] = std::max(SeqOf(remote_vv, origin), seq);
    checkpoint_dirty = true;
    if (was_full) {
      wake = true;
      cv.notify_one();
    }
    l.unlock();
    BLAZE_RETURN_IF_ERROR(SettleCorrection(a->batch, real));
    return RunRechecks();
  }
  if (auto* c = std::get_if<sync::ChangesMsg>(&msg)) return OnChanges(*c);
  if (std::holds_alternative<sync::ErrorMsg>(msg)) {
    return Status::Aborted("the app reported: " + std::get<sync::ErrorMsg>(msg).message);
  }
  return Status::InvalidArgument("unexpected message from a cross-app reader");
}

Status CrossAppShare::Impl::Session::OnChanges(const sync::ChangesMsg& m) {
  std::shared_ptr<const policy::AppPolicy> p;
  NodeId app_node;
  {
    std::lock_guard<std::mutex> l(mu);
    if (!hello) return Status::InvalidArgument("changes before hello");
    p = policy;
    app_node = remote_node;
  }
  const std::vector<store::Change>& changes = m.changes;
  for (const store::Change& c : changes) {
    if (c.origin != app_node) {
      return Status::PermissionDenied("app '" + stats.app + "' sent a change of another node (" +
                                      c.origin.ToHex() + "); it may only send its own");
    }
  }
  // Its binding may have been dropped as idle since the hello (node_binding.h).
  if (!changes.empty()) BLAZE_RETURN_IF_ERROR(owner->bindings_.Hold(stats.app, app_node));
  // Each new change is judged inside the apply transaction on the states
  // the merge will produce (write_check.h); a refused one applies without
  // its ops, so its seq is taken and the app's later changes still follow.
  std::vector<std::pair<size_t, Status>> refusals;
  store::ChangeCheck check = [&p](const store::Change& c, const store::StateReader& read) {
    return local::CheckAppWrite(*p, c, read);
  };
  store::BatchResult r =
      DatabaseAccess::ApplyBatchChecked(*owner->db_, changes, owner->options_.max_drift_ms, check, &refusals);
  const uint64_t refused = refusals.size();
  std::set<std::pair<std::string, std::string>> corrected;  // records of refused changes
  for (const auto& [index, why] : refusals) {
    const store::Change& c = changes[index];
    for (const store::Op& op : c.ops) corrected.emplace(op.collection, op.id);
    std::string text = "change " + c.origin.ToHex() + ":" + std::to_string(c.seq) + " refused: " + why.ToString();
    owner->Log("cross-app: " + text);
    Queue(sync::ErrorMsg{std::move(text)});
  }
  {
    // An applied change of a record whose correction is still on its way:
    // if the app made it before that correction reached its replica, the
    // correction undoes it there, so the record is corrected again (after,
    // and before the ack of this message).
    std::set<size_t> refused_at;
    for (const auto& [index, why] : refusals) refused_at.insert(index);
    std::lock_guard<std::mutex> l(mu);
    for (size_t i = 0; i < r.done && !corrections.empty(); ++i) {
      if (refused_at.count(i)) continue;
      for (const store::Op& op : changes[i].ops) {
        for (const auto& [batch, c] : corrections) {
          if (c.records.count({op.collection, op.id})) corrected.emplace(op.collection, op.id);
        }
      }
    }
  }
  if (!corrected.empty()) BLAZE_RETURN_IF_ERROR(QueueCorrection(*p, corrected));
  if (!r.error.ok()) return r.error;
  // Before the ack: a replica that has it has applied every correction the
  // changes just applied made necessary again.
  BLAZE_RETURN_IF_ERROR(RunRechecks());
  BLAZE_ASSIGN_OR_RETURN(VersionVector vv, DatabaseAccess::GetVersionVector(*owner->db_));
  std::lock_guard<std::mutex> l(mu);
  stats.changes_applied += r.applied > refused ? r.applied - refused : 0;
  stats.changes_refused += refused;
  for (const auto& c : changes) remote_vv[c.origin] = std::max(SeqOf(remote_vv, c.origin), c.seq);
  checkpoint_dirty = true;
  control.push_back(sync::Ack{m.batch, ToAppLocked(vv)});
  cv.notify_one();
  return Status::Ok();
}

Status CrossAppShare::Impl::Session::QueueCorrection(const policy::AppPolicy& p, const std::set<std::pair<std::string, std::string>>& keys) {
  NodeId node;
  {
    std::lock_guard<std::mutex> l(mu);
    node = remote_node;
  }
  // In this order: the app's changes the states reflect at least (read_at),
  // the refusals they answer, then the states themselves.
  BLAZE_ASSIGN_OR_RETURN(VersionVector vv, DatabaseAccess::GetVersionVector(*owner->db_));
  BLAZE_ASSIGN_OR_RETURN(auto refused, DatabaseAccess::LoadRefused(*owner->db_, node, &keys));
  BLAZE_ASSIGN_OR_RETURN(auto states, DatabaseAccess::ReadStates(
      *owner->db_, std::vector<std::pair<std::string, std::string>>(keys.begin(), keys.end())));
  Correction pending;
  pending.read_at = SeqOf(vv, node);
  for (const auto& key : keys) {
    if (auto it = refused.find(key); it != refused.end()) pending.records.emplace(key, it->second);
  }
  sync::SnapshotChunk fix;
  for (auto& r : states) {
    if (p.access(r.collection) == Access::kNone) continue;
    BLAZE_ASSIGN_OR_RETURN(store::RecordState st, store::RecordState::Decode(r.state));
    if (!st.visible() || !p.Visible(r.collection, r.id, st.VisibleDoc())) continue;
    st.KeepFields([&](std::string_view f) { return p.FieldExported(r.collection, f); });
    r.state = st.Encode();
    fix.records.push_back(std::move(r));
  }
  fix.evictions.assign(keys.begin(), keys.end());
  BLAZE_RETURN_IF_ERROR(MarkHeld(fix.records));
  {
    std::lock_guard<std::mutex> l(mu);
    fix.batch = next_batch++;
    ++in_flight;
    stats.records_sent += fix.records.size();
    stats.evictions_sent += fix.evictions.size();
    if (!pending.records.empty()) corrections.emplace(fix.batch, std::move(pending));
    control.push_back(std::move(fix));
  }
  cv.notify_one();
  return Status::Ok();
}

Status CrossAppShare::Impl::Session::SettleCorrection(uint64_t batch, const VersionVector& vv) {
  Correction c;
  NodeId node;
  {
    std::lock_guard<std::mutex> l(mu);
    auto it = corrections.find(batch);
    if (it == corrections.end()) return Status::Ok();
    c = std::move(it->second);
    corrections.erase(it);
    node = remote_node;
  }
  // The replica took the states over its own: with none of its own changes
  // after the read point, it now holds the owner's state of each record.
  const Seq applied_at = SeqOf(vv, node);
  std::map<DatabaseAccess::RecordKey, Seq> settled;
  for (const auto& [key, entry] : c.records) {
    if (applied_at <= c.read_at) {
      settled.emplace(key, entry);
    } else {
      rechecks.push_back(Recheck{key, entry, c.read_at, applied_at});
    }
  }
  return DatabaseAccess::SettleRefused(*owner->db_, node, settled);
}

Status CrossAppShare::Impl::Session::RunRechecks() {
  if (rechecks.empty()) return Status::Ok();
  NodeId node;
  std::shared_ptr<const policy::AppPolicy> p;
  {
    std::lock_guard<std::mutex> l(mu);
    node = remote_node;
    p = policy;
  }
  BLAZE_ASSIGN_OR_RETURN(VersionVector vv, DatabaseAccess::GetVersionVector(*owner->db_));
  const Seq held_seq = SeqOf(vv, node);
  std::vector<Recheck> waiting;
  std::map<DatabaseAccess::RecordKey, Seq> settled;
  std::set<std::pair<std::string, std::string>> again;
  for (const Recheck& r : rechecks) {
    bool covered = false;  // by a later correction on its way, read after the changes in question
    {
      std::lock_guard<std::mutex> l(mu);
      for (const auto& [batch, c] : corrections) covered = covered || (c.read_at >= r.to && c.records.count(r.key));
    }
    if (covered) continue;  // that correction's ack settles the record
    if (r.to > held_seq) {
      waiting.push_back(r);  // the changes the correction undid have not all arrived
      continue;
    }
    // Did one of the app's changes the correction undid in its replica
    // touch the record? The owner applied it (a refused one is in the log
    // without ops, and has an entry of its own): the replica lacks it.
    bool touched = false;
    Seq at = r.from;
    while (!touched && at < r.to) {
      const size_t want = static_cast<size_t>(std::min<Seq>(r.to - at, owner->options_.batch_changes));
      BLAZE_ASSIGN_OR_RETURN(auto changes, DatabaseAccess::ChangesAfter(*owner->db_, node, at, want));
      if (changes.empty() || changes.front().seq != at + 1) {
        touched = true;  // pruned from the log: cannot tell, so correct again
        break;
      }
      for (const store::Change& c : changes) {
        if (c.seq > r.to) break;
        for (const store::Op& op : c.ops) touched = touched || (op.collection == r.key.first && op.id == r.key.second);
        at = c.seq;
      }
    }
    if (touched) {
      again.insert(r.key);
    } else {
      settled.emplace(r.key, r.entry);
    }
  }
  rechecks = std::move(waiting);
  BLAZE_RETURN_IF_ERROR(DatabaseAccess::SettleRefused(*owner->db_, node, settled));
  if (again.empty()) return Status::Ok();
  return QueueCorrection(*p, again);
}

void CrossAppShare::Impl::Session::Join() {
  if (rx.joinable()) rx.join();
}

}  // namespace blaze
