// checkpointer.h — moves WAL checkpoints off the commit path.
//
// SQLite's automatic checkpoint runs inside the commit that pushes the WAL
// past 1000 pages: that commit copies the WAL into the database and fsyncs
// it, so one write in a thousand takes milliseconds — the p99 of every
// latency figure. Instead a Checkpointer installs a WAL hook on the
// database's connection (which turns the automatic checkpoint off) that only
// signals, and a thread with its own connection to the file runs PASSIVE
// checkpoints: they copy what they can without waiting for or blocking
// readers and writers. If checkpoints fall far behind (a long-lived reader
// pins the WAL), the committing thread checkpoints itself as SQLite would.
//
// Thread safety: the hook runs on committing threads, under the database's
// mutex; the checkpoint thread touches only its own connection.
#ifndef BLAZE_STORE_CHECKPOINTER_H_
#define BLAZE_STORE_CHECKPOINTER_H_

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "store/sqlite.h"

namespace blaze::store {

class Checkpointer {
 public:
  // Takes over checkpointing of `conn` (a WAL-mode connection to `path`).
  static Result<std::unique_ptr<Checkpointer>> Start(Connection* conn, const std::string& path, int busy_timeout_ms);
  ~Checkpointer();  // stops the thread; the WAL hook is removed
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  static constexpr int kCheckpointPages = 1000;    // signal the thread past this WAL size
  static constexpr int kFallbackPages = 20000;     // checkpoint inline past this one

 private:
  Checkpointer(Connection* conn, std::unique_ptr<Connection> own) : conn_(conn), own_(std::move(own)) {}
  static int OnWal(void* self, sqlite3* db, const char* name, int pages);
  void Run();

  Connection* conn_;
  std::unique_ptr<Connection> own_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  int next_signal_ = kCheckpointPages;  // WAL size of the next signal (committing threads, under the database's mutex)
  bool wake_ = false;
  bool stop_ = false;
};

}  // namespace blaze::store

#endif  // BLAZE_STORE_CHECKPOINTER_H_
