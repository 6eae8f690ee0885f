// database.cc — Database: opening, the public entry points, and the Txn facade.
#include "blaze/database.h"

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>

#include "store/database_impl.h"
#include "store/document.h"
#include "store/watcher.h"

namespace blaze {

std::string NodeId::ToHex() const {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, value);
  return buf;
}

std::string_view ChangeKindName(ChangeEvent::Kind kind) {
  switch (kind) {
    case ChangeEvent::Kind::kInserted: return "inserted";
    case ChangeEvent::Kind::kUpdated: return "updated";
    case ChangeEvent::Kind::kDeleted: return "deleted";
  }
  return "unknown";
}

WatchHandle& WatchHandle::operator=(WatchHandle&& other) noexcept {
  if (this != &other) {
    Cancel();
    cancel_ = std::move(other.cancel_);
    other.cancel_ = nullptr;
  }
  return *this;
}

WatchHandle::~WatchHandle() { Cancel(); }

void WatchHandle::Cancel() {
  if (cancel_) {
    auto c = std::move(cancel_);
    cancel_ = nullptr;
    c();
  }
}

Database::Impl::Impl(const Options& options, std::string path, store::OpenedFile file)
    : options_(options),
      path_(std::move(path)),
      conn_(std::move(file.conn)),
      node_(file.node),
      hlc_(options.clock),
      ids_(options.clock, options.random),
      catalog_(conn_.get()) {}

Database::Impl::~Impl() {
  watcher_.reset();  // joins the watcher thread before the connection goes
  checkpointer_.reset();
}

Status Database::Impl::CheckNotInTransaction(const char* what) const {
  if (txn_thread_.load() == std::this_thread::get_id()) {
    return Status::FailedPrecondition(std::string("Database::") + what +
                                      " called inside a Transaction body on the same thread; use the Txn instead");
  }
  return Status::Ok();
}

Status Database::Impl::CheckWritable(const char* what) const {
  if (options_.read_only) {
    return Status::PermissionDenied(std::string("Database::") + what + ": '" + path_ +
                                    "' was opened read-only (Options::read_only); open it without to write");
  }
  return Status::Ok();
}

Database::Database(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Database::~Database() = default;

Result<std::unique_ptr<Database>> Database::Open(const Options& options, const std::string& path) {
  Options opts = options;
  if (opts.clock == nullptr) opts.clock = SystemClock();
  if (opts.random == nullptr) opts.random = SystemRandom();
  BLAZE_ASSIGN_OR_RETURN(store::OpenedFile file, store::OpenDatabaseFile(opts, path, opts.random));
  auto impl = std::make_unique<Impl>(opts, opts.in_memory ? std::string(":memory:") : path, std::move(file));
  if (!opts.in_memory && !opts.read_only) {
    BLAZE_ASSIGN_OR_RETURN(impl->checkpointer_,
                           store::Checkpointer::Start(impl->conn_.get(), path, opts.busy_timeout_ms));
  }
  return std::unique_ptr<Database>(new Database(std::move(impl)));
}

NodeId Database::node_id() const { return impl_->node_; }
const std::string& Database::path() const { return impl_->path_; }

Result<std::string> Database::Insert(std::string_view collection, const Value& doc) {
  std::string id;
  BLAZE_RETURN_IF_ERROR(impl_->RunTransaction([&](Txn& t) -> Status {
    BLAZE_ASSIGN_OR_RETURN(id, t.Insert(collection, doc));
    return Status::Ok();
  }));
  return id;
}

Status Database::Put(std::string_view collection, std::string_view id, const Value& doc) {
  return impl_->RunTransaction([&](Txn& t) { return t.Put(collection, id, doc); });
}

Status Database::Patch(std::string_view collection, std::string_view id, const Value& patch) {
  return impl_->RunTransaction([&](Txn& t) { return t.Patch(collection, id, patch); });
}

Status Database::Delete(std::string_view collection, std::string_view id) {
  return impl_->RunTransaction([&](Txn& t) { return t.Delete(collection, id); });
}

Status Database::Transaction(const std::function<Status(Txn&)>& body) { return impl_->RunTransaction(body); }

Result<std::string> Txn::Insert(std::string_view collection, const Value& doc) {
  return impl_->Insert(collection, doc);
}
Status Txn::Put(std::string_view collection, std::string_view id, const Value& doc) {
  return impl_->Put(collection, id, doc);
}
Status Txn::Patch(std::string_view collection, std::string_view id, const Value& patch) {
  return impl_->Patch(collection, id, patch);
}
Status Txn::Delete(std::string_view collection, std::string_view id) { return impl_->Delete(collection, id); }
Result<Value> Txn::Get(std::string_view collection, std::string_view id) { return impl_->Get(collection, id); }

Result<WatchHandle> Database::Watch(std::string_view collection, std::string_view where,
                                    std::function<void(const ChangeEvent&)> callback) {
  BLAZE_RETURN_IF_ERROR(impl_->CheckNotInTransaction("Watch"));
  BLAZE_RETURN_IF_ERROR(store::ValidateCollectionName(collection));
  if (!callback) return Status::InvalidArgument("Watch needs a callback");
  store::Watcher::Spec spec;
  spec.collection = std::string(collection);
  spec.callback = std::move(callback);
  std::optional<query::BoundQuery> bound;
  if (where.find_first_not_of(" \t\r\n") != std::string_view::npos) {
    BLAZE_ASSIGN_OR_RETURN(query::Query q, query::Parse(where));
    BLAZE_ASSIGN_OR_RETURN(query::BoundQuery b, query::Bind(q, {}));
    spec.query = b;
  }
  std::lock_guard<std::mutex> lock(impl_->mu_);
  // One read transaction: the start seq, the matching ids and the watch's
  // Known (watcher.h) describe the same moment, whatever other processes commit.
  BLAZE_RETURN_IF_ERROR(impl_->conn_->ExecCached("BEGIN"));
  struct EndRead {
    store::Connection* conn;
    ~EndRead() { conn->ExecCached("COMMIT").IgnoreError(); }  // a read: nothing to keep or lose
  } end_read{impl_->conn_.get()};
  BLAZE_ASSIGN_OR_RETURN(spec.start_seq, impl_->MaxLocalSeq());
  if (spec.query) {
    QueryOptions all;
    all.where = std::string(where);
    BLAZE_ASSIGN_OR_RETURN(auto compiled, impl_->CompileQuery(collection, all, "SELECT id"));
    if (compiled) {
      BLAZE_ASSIGN_OR_RETURN(auto stmt, impl_->conn_->PrepareUncached(compiled->sql));
      for (size_t i = 0; i < compiled->params.size(); ++i) stmt->BindValue(static_cast<int>(i + 1), compiled->params[i]);
      while (true) {
        BLAZE_ASSIGN_OR_RETURN(bool row, stmt->Step());
        if (!row) break;
        spec.matching.emplace(stmt->ColumnText(0));
      }
    }
  }
  Impl* impl = impl_.get();
  if (!impl_->watcher_) {
    impl_->watcher_ = std::make_shared<store::Watcher>(
        [impl](const std::function<std::vector<std::string>()>& watched,
               const std::map<std::string, store::KnownRecords>& known, int64_t* cursor, store::WatchRound* out) {
          std::lock_guard<std::mutex> l(impl->mu_);
          return impl->CollectEvents(watched(), known, cursor, out);
        },
        spec.start_seq, impl_->options_.watch_poll_ms,
        std::chrono::microseconds(std::max(0, impl_->options_.watch_spin_us)));
  }
  // Called under mu_ (held here) when no watch of this handle tracks the collection yet.
  BLAZE_ASSIGN_OR_RETURN(uint64_t id, impl_->watcher_->Add(std::move(spec), [impl](const std::string& c) {
    return impl->ScanKnown(c);
  }));
  std::weak_ptr<store::Watcher> weak = impl_->watcher_;
  return WatchHandle([weak, id] {
    if (auto w = weak.lock()) w->Remove(id);
  });
}

}  // namespace blaze
