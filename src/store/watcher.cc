// watcher.cc — the watcher thread.
#include "store/watcher.h"

#include <chrono>

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

uint64_t Watcher::Add(Spec spec) {
  std::lock_guard<std::mutex> lock(mu_);
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
    std::vector<std::string> collections;
    if (busy && spin_.count() > 0) {
      uint64_t seen = notified_.load(std::memory_order_acquire);
      SpinUntil(spin_, [&] { return notified_.load(std::memory_order_acquire) != seen; });
    }
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(poll_ms_), [this] { return stop_ || wake_; });
      if (stop_) return;
      wake_ = false;
      std::set<std::string> names;
      for (const auto& [id, e] : entries_) names.insert(e->spec.collection);
      collections.assign(names.begin(), names.end());
    }
    std::vector<WatchEvent> events;
    // An error here (say, a locked file) is transient: the cursor has not
    // moved, so the next round retries the same changes.
    busy = source_(collections, &cursor_, &events).ok() && !events.empty();
    if (busy) Deliver(events);
  }
}

void Watcher::Deliver(const std::vector<WatchEvent>& events) {
  std::lock_guard<std::mutex> delivering(deliver_mu_);
  std::vector<std::shared_ptr<Entry>> entries;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, e] : entries_) entries.push_back(e);
  }
  for (const WatchEvent& we : events) {
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
  }
}

}  // namespace blaze::store
