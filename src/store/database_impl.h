// database_impl.h — the inside of Database and Txn.
//
// Database::Impl owns the SQLite connection and everything that must move in
// step with it: the node identity, the hybrid clock, the id generator and the
// catalog, all guarded by mu_. The write path (txn.cc) applies each operation
// to the stored record through RecordState's LWW rules — the same rules that
// will apply remote changes — and appends the change in the same SQLite
// transaction. Reads are in reads.cc, watchers in watcher.cc.
#ifndef BLAZE_STORE_DATABASE_IMPL_H_
#define BLAZE_STORE_DATABASE_IMPL_H_

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "blaze/database.h"
#include "blaze/record_id.h"
#include "query/query.h"
#include "store/catalog.h"
#include "store/change.h"
#include "store/hybrid_clock.h"
#include "store/record_state.h"
#include "store/schema.h"
#include "store/sqlite.h"

namespace blaze::store {
class Watcher;
struct WatchEvent;
}  // namespace blaze::store

namespace blaze {

class Database::Impl {
 public:
  Impl(const Options& options, std::string path, store::OpenedFile file);
  ~Impl();

  // Runs `body` as one transaction (see Database::Transaction).
  Status RunTransaction(const std::function<Status(Txn&)>& body);

  // --- everything below requires mu_ held ---
  Result<std::optional<store::RecordState>> LoadState(const std::string& table, std::string_view id);
  Status SaveState(const std::string& table, std::string_view id, const store::RecordState& st,
                   const Value* visible_doc, bool must_be_new);
  Result<Value> GetLocked(std::string_view collection, std::string_view id);
  struct CompiledQuery {
    std::string sql;  // SELECT ... (or the WHERE part for Count)
    std::vector<Value> params;
  };
  Result<std::optional<CompiledQuery>> CompileQuery(std::string_view collection, const QueryOptions& q,
                                                    const char* select);
  Result<int64_t> MaxLocalSeq();
  // Events of changes after *cursor for the given collections; advances *cursor.
  Status CollectEvents(const std::vector<std::string>& collections, int64_t* cursor,
                       std::vector<store::WatchEvent>* out);

  // kFailedPrecondition when called on the thread that is inside a Transaction
  // body (that call would deadlock; the body must use its Txn).
  Status CheckNotInTransaction(const char* what) const;

  std::mutex mu_;
  Options options_;
  std::string path_;
  std::unique_ptr<store::Connection> conn_;
  NodeId node_;
  store::HybridClock hlc_;
  RecordIdGenerator ids_;
  store::Catalog catalog_;
  std::atomic<std::thread::id> txn_thread_{};  // the thread inside RunTransaction
  bool local_commit_ = false;                  // a commit the watcher has not looked at
  int64_t data_version_ = -1;                  // last PRAGMA data_version seen
  std::shared_ptr<store::Watcher> watcher_;    // created on the first Watch
};

class Txn::Impl {
 public:
  Impl(Database::Impl* db, store::NodeRow node) : db_(db), node_(node), base_(db->hlc_.Next(node.last_hlc)) {}

  Result<std::string> Insert(std::string_view collection, const Value& doc);
  Status Put(std::string_view collection, std::string_view id, const Value& doc);
  Status Patch(std::string_view collection, std::string_view id, const Value& patch);
  Status Delete(std::string_view collection, std::string_view id);
  Result<Value> Get(std::string_view collection, std::string_view id) { return db_->GetLocked(collection, id); }

  // Appends the change (if anything was written) and the node row. The
  // caller commits the SQLite transaction.
  Status Finish();
  const Status& poisoned() const { return poisoned_; }
  bool wrote() const { return !ops_.empty(); }
  Hlc last_stamp() const { return Hlc{base_.value + ops_.size() - 1}; }

 private:
  struct Touch {
    bool was_visible = false;
    bool now_visible = false;
    size_t last_op = 0;
  };
  Stamp NextStamp() const { return Stamp{Hlc{base_.value + ops_.size()}, node_.node}; }
  // Folds `ops` (all on one record) into `st` at the next stamps, writes the
  // row, and records the touch. `visible_doc`, when given, is what the
  // record's visible document is known to be afterwards.
  Status Apply(std::vector<store::Op> ops, const std::string& table, store::RecordState& st,
               const Value* visible_doc, bool must_be_new);
  Status Load(std::string_view collection, std::string_view id, std::string* table,
              std::optional<store::RecordState>* st);

  Database::Impl* db_;
  store::NodeRow node_;
  Hlc base_;
  std::vector<store::Op> ops_;
  std::map<std::pair<std::string, std::string>, Touch> touches_;
  Status poisoned_;  // a failure after something was written: the transaction must not commit
};

}  // namespace blaze

#endif  // BLAZE_STORE_DATABASE_IMPL_H_
