// checkpointer.cc — see checkpointer.h.
#include "store/checkpointer.h"

#include <algorithm>

namespace blaze::store {

Result<std::unique_ptr<Checkpointer>> Checkpointer::Start(Connection* conn, const std::string& path,
                                                          int busy_timeout_ms) {
  BLAZE_ASSIGN_OR_RETURN(auto own, Connection::Open(path, SQLITE_OPEN_READWRITE, busy_timeout_ms));
  // A connection opens the WAL only when it first reads the database; until
  // then sqlite3_wal_checkpoint_v2 on it is a no-op that reports success (log
  // size -1), and every checkpoint fell to the inline fallback at 20000 pages.
  BLAZE_RETURN_IF_ERROR(own->QueryInt("SELECT count(*) FROM sqlite_master").status());
  std::unique_ptr<Checkpointer> c(new Checkpointer(conn, std::move(own)));
  sqlite3_wal_hook(conn->raw(), &Checkpointer::OnWal, c.get());
  c->thread_ = std::thread([p = c.get()] { p->Run(); });
  return c;
}

Checkpointer::~Checkpointer() {
  sqlite3_wal_hook(conn_->raw(), nullptr, nullptr);
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

int Checkpointer::OnWal(void* self, sqlite3* db, const char* name, int pages) {
  auto* c = static_cast<Checkpointer*>(self);
  if (pages >= kFallbackPages) {
    // Far behind: do what SQLite's own automatic checkpoint would.
    sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  } else if (pages >= c->next_signal_) {
    // Once per kCheckpointPages of growth, not on every commit past the
    // mark: while a writer keeps writing, a passive checkpoint never catches
    // the WAL's end, so the WAL stays past the mark and a signal per commit
    // woke the thread (a futex call, and on busy cores the writer preempted
    // by it) on every commit for nothing.
    c->next_signal_ = pages + kCheckpointPages;
    {
      std::lock_guard<std::mutex> l(c->mu_);
      c->wake_ = true;
    }
    c->cv_.notify_one();
  } else if (pages < c->next_signal_ - kCheckpointPages) {
    c->next_signal_ = std::max(pages, 0) + kCheckpointPages;  // the WAL was restarted
  }
  return SQLITE_OK;
}

void Checkpointer::Run() {
  while (true) {
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [&] { return stop_ || wake_; });
      if (stop_) return;
      wake_ = false;
    }
    // PASSIVE: copies what no reader still needs; never waits, never blocks.
    // A busy or partial result is fine: the next signal tries again.
    sqlite3_wal_checkpoint_v2(own_->raw(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  }
}

}  // namespace blaze::store
