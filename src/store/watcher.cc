// watcher.cc — the watcher thread.
#include "store/watcher.h"

#include <chrono>

#include "blaze/json.h"
#include "store/spin_wait.h"

namespace blaze::store {

Watcher::Watcher(Source source, int64_t cursor, int poll_ms, std::chrono::microseconds spin)
    : source_(std::move(source)), poll_ms_(poll_ms > 0 ? poll_ms : 10), spin_(spin), cursor_(cursor) {
  thread_ = std::thread([this] { Run(); });
}

Watcher::~Watcher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    notified_.fetch_add(1, std::memory_order_release);  // ends a spin at once
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Result<uint64_t> Watcher::Add(Spec spec, const Scan& scan) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!tracked_.count(spec.collection)) {
    BLAZE_ASSIGN_OR_RETURN(KnownRecords records, scan(spec.collection));
    pending_[spec.collection] = Known{std::move(records), spec.start_seq};
    tracked_.insert(spec.collection);
  }
  uint64_t id = next_id_++;
  auto e = std::make_shared<Entry>();
  e->spec = std::move(spec);
  entries_.emplace(id, std::move(e));
  return id;
}

void Watcher::Remove(uint64_t id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return;
    it->second->cancelled = true;
    entries_.erase(it);
  }
  // Wait out a callback in flight, unless we are that callback.
  if (std::this_thread::get_id() != thread_.get_id()) {
    std::lock_guard<std::mutex> wait(deliver_mu_);
  }
}

void Watcher::Notify() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    wake_ = true;
    notified_.fetch_add(1, std::memory_order_release);
  }
  cv_.notify_all();
}

void Watcher::Run() {
  bool busy = false;  // the last round delivered something
  while (true) {
    if (busy && spin_.count() > 0) {
      uint64_t seen = notified_.load(std::memory_order_acquire);
      SpinUntil(spin_, [&] { return notified_.load(std::memory_order_acquire) != seen; });
    }
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(poll_ms_), [this] { return stop_ || wake_; });
      if (stop_) return;
      wake_ = false;
    }
    WatchRound round;
    // An error here (say, a locked file) is transient: the cursor has not
    // moved, so the next round retries the same changes.
    busy = source_([this] { return Watched(); }, known_, &cursor_, &round).ok() &&
           (!round.events.empty() || !round.recovered.empty());
    if (busy) Deliver(round);
  }
}

std::vector<std::string> Watcher::Watched() {
  std::lock_guard<std::mutex> lock(mu_);
  std::set<std::string> names;
  for (const auto& [id, e] : entries_) names.insert(e->spec.collection);
  // A collection no watch names any more stops being tracked: a later watch
  // of it scans afresh. New Knowns come in from Add.
  for (auto it = tracked_.begin(); it != tracked_.end();) {
    if (names.count(*it)) {
      ++it;
      continue;
    }
    pending_.erase(*it);
    known_.erase(*it);
    known_base_.erase(*it);
    it = tracked_.erase(it);
  }
  for (auto& [name, k] : pending_) {
    known_[name] = std::move(k.records);
    known_base_[name] = k.base_seq;
  }
  pending_.clear();
  return std::vector<std::string>(names.begin(), names.end());
}

bool Watcher::KnownAs(const WatchEvent& we) const {
  auto k = known_.find(we.event.collection);
  if (k == known_.end()) return false;
  auto r = k->second.find(we.event.id);
  if (we.event.kind == ChangeEvent::Kind::kDeleted) return r == k->second.end();
  return r != k->second.end() && r->second == we.fingerprint;
}

void Watcher::Deliver(const WatchRound& round) {
  std::lock_guard<std::mutex> delivering(deliver_mu_);
  std::vector<std::shared_ptr<Entry>> entries;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, e] : entries_) entries.push_back(e);
  }
  if (round.gap == 0) {
    for (const WatchEvent& we : round.events) DeliverOne(we, entries);
    return;
  }
  // Records a later event of this round names: that event carries what the
  // gap did to them (its document is read now, or is as that later change
  // left it).
  std::set<std::pair<std::string_view, std::string_view>> named_after_gap;
  for (const WatchEvent& we : round.events) {
    if (we.local_seq > round.gap) named_after_gap.emplace(we.event.collection, we.event.id);
  }
  // A recovered record is new or updated relative to what was delivered so far.
  auto deliver_recovered = [&](const WatchEvent& r) {
    if (r.event.kind == ChangeEvent::Kind::kDeleted) return DeliverOne(r, entries);
    WatchEvent adjusted = r;
    auto k = known_.find(r.event.collection);
    bool was_known = k != known_.end() && k->second.count(r.event.id) > 0;
    adjusted.event.kind = was_known ? ChangeEvent::Kind::kUpdated : ChangeEvent::Kind::kInserted;
    DeliverOne(adjusted, entries);
  };
  auto recover = [&] {
    for (const WatchEvent& r : round.recovered) {
      if (named_after_gap.count({r.event.collection, r.event.id}) || KnownAs(r)) continue;
      deliver_recovered(r);
    }
  };
  bool recovered = false;
  for (const WatchEvent& we : round.events) {
    if (!recovered && we.local_seq > round.gap) {
      recover();
      recovered = true;
    }
    DeliverOne(we, entries);
  }
  if (!recovered) recover();
  // What the round's exact events left stale (a record this process changed,
  // then another changed in a later gap): its current state, last.
  for (const WatchEvent& r : round.recovered) {
    if (!KnownAs(r)) deliver_recovered(r);
  }
}

void Watcher::DeliverOne(const WatchEvent& we, const std::vector<std::shared_ptr<Entry>>& entries) {
  const ChangeEvent& ev = we.event;
  for (const auto& e : entries) {
    Spec& spec = e->spec;
    if (spec.collection != ev.collection || we.local_seq <= spec.start_seq) continue;
    if (spec.query) {
      bool before = spec.matching.count(ev.id) > 0;
      bool after = ev.kind != ChangeEvent::Kind::kDeleted && ev.doc.is_map() &&
                   query::Matches(*spec.query, ev.id, ev.doc);
      if (after) {
        spec.matching.insert(ev.id);
      } else {
        spec.matching.erase(ev.id);
      }
      if (!before && !after) continue;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (e->cancelled) continue;
    }
    spec.callback(ev);
  }
  // Known follows what was delivered (after the callbacks: not on their latency path).
  auto k = known_.find(ev.collection);
  if (k == known_.end() || we.local_seq <= known_base_[ev.collection]) return;
  if (ev.kind == ChangeEvent::Kind::kDeleted || !ev.doc.is_map()) {
    k->second.erase(ev.id);
  } else {
    k->second[ev.id] = we.fingerprint != 0 ? we.fingerprint : DocFingerprint(ToJson(ev.doc));
  }
}

}  // namespace blaze::store
