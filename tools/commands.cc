// commands.cc — implementations of the blazedb subcommands.
#include "commands.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>

#include "blaze/database.h"
#include "blaze/json.h"
#include "blaze/keys.h"

namespace blaze::cli {

Result<std::unique_ptr<Database>> OpenExisting(const std::string& path) {
  Options o;
  o.create_if_missing = false;
  auto db = Database::Open(o, path);
  if (!db.ok() && db.status().code() == StatusCode::kPermissionDenied) {
    return Status::PermissionDenied(db.status().message() +
                                    "; get, query, count, export and changes read it without write access");
  }
  return db;
}

namespace {

// Whether a read-only handle must be opened: this process cannot write the
// file, or cannot create its -wal next to it.
bool NeedsReadOnly(const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  return access(path.c_str(), W_OK) != 0 ||
         (access((path + "-wal").c_str(), F_OK) != 0 && access(dir.c_str(), W_OK) != 0);
}

bool SameFile(const struct stat& a, const struct stat& b) {
  return a.st_ino == b.st_ino && a.st_dev == b.st_dev && a.st_size == b.st_size &&
         a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec &&
         a.st_ctim.tv_sec == b.st_ctim.tv_sec && a.st_ctim.tv_nsec == b.st_ctim.tv_nsec;
}

}  // namespace

Result<std::unique_ptr<Database>> OpenForReading(const std::string& path) {
  Options o;
  o.create_if_missing = false;
  o.read_only = NeedsReadOnly(path);
  return Database::Open(o, path);
}

Status ReadDatabase(const std::string& path, const std::function<Status(Database&)>& read) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    struct stat before {};
    const bool stable = ::stat(path.c_str(), &before) == 0;
    BLAZE_ASSIGN_OR_RETURN(auto db, OpenForReading(path));
    Status s = read(*db);
    // A read-only handle opened while no writer had the file reads it as
    // immutable (docs/on-disk-format.md): if a writer started and wrote to
    // the main file meanwhile, the read may have mixed old and new pages.
    const bool read_only = NeedsReadOnly(path);
    db.reset();
    struct stat after {};
    if (!read_only || (stable && ::stat(path.c_str(), &after) == 0 && SameFile(before, after))) return s;
  }
  return Status::Busy("'" + path + "' kept changing while it was read without write access; try again");
}

Status PrintLine(std::string_view line) {
  if (std::fwrite(line.data(), 1, line.size(), stdout) != line.size() || std::fputc('\n', stdout) == EOF) {
    return Status::IOError(std::string("writing to standard output failed: ") + std::strerror(errno));
  }
  return Status::Ok();
}

Status FinishOutput() {
  if (std::fflush(stdout) != 0) {
    return Status::IOError(std::string("writing to standard output failed: ") + std::strerror(errno) +
                           "; the output is incomplete");
  }
  if (std::ferror(stdout)) {
    return Status::IOError("writing to standard output failed; the output is incomplete");
  }
  return Status::Ok();
}

namespace {

// {"_id":"...", then the document's fields}
std::string RecordJson(const std::string& id, const Value& doc) {
  std::string body = ToJson(doc);
  std::string out = "{\"_id\":" + ToJson(Value(id));
  if (body.size() > 2) {
    out += ',';
    out.append(body, 1, std::string::npos);
  } else {
    out += '}';
  }
  return out;
}

// Parses a document argument; an "_id" string member names the record.
Status ParseDocument(const std::string& json, Value* doc, std::optional<std::string>* id_in_doc) {
  BLAZE_ASSIGN_OR_RETURN(*doc, ParseJson(json));
  if (!doc->is_map()) {
    return Status::InvalidArgument("the document must be a JSON object, got " + std::string(TypeName(doc->type())));
  }
  auto it = doc->as_map().find("_id");
  if (it != doc->as_map().end()) {
    if (!it->second.is_string()) return Status::InvalidArgument("\"_id\" must be a string");
    *id_in_doc = it->second.as_string();
    doc->as_map().erase(it);
  }
  return Status::Ok();
}

Result<std::map<std::string, Value, std::less<>>> ParseVars(const std::vector<std::string>& vars) {
  std::map<std::string, Value, std::less<>> out;
  for (const auto& v : vars) {
    auto eq = v.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Status::InvalidArgument("--var '" + v + "': expected NAME=JSON, e.g. --var user='\"ann\"'");
    }
    auto value = ParseJson(v.substr(eq + 1));
    if (!value.ok()) return value.status().WithContext("--var " + v.substr(0, eq));
    out[v.substr(0, eq)] = *value;
  }
  return out;
}

}  // namespace

int ExitCodeFor(const Status& s) {
  switch (s.code()) {
    case StatusCode::kOk: return 0;
    case StatusCode::kInvalidArgument:
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition:
    case StatusCode::kPermissionDenied:
      return 2;
    case StatusCode::kNotFound: return 3;
    case StatusCode::kCorruption:
    case StatusCode::kIOError:
    case StatusCode::kNotSupported:
      return 4;
    case StatusCode::kBusy:
    case StatusCode::kAborted:
    case StatusCode::kInternal:
      return 5;
  }
  return 5;
}

Status Init(const std::string& path) {
  struct stat st;
  bool existed = ::stat(path.c_str(), &st) == 0 && st.st_size > 0;  // an empty file is initialized
  BLAZE_ASSIGN_OR_RETURN(auto db, Database::Open(Options{}, path));
  return PrintLine(std::string(existed ? "opened existing " : "initialized ") + path + " (node " +
                   db->node_id().ToHex() + ")");
}

Status Put(const std::string& path, const std::string& collection, const std::string& json,
           const std::optional<std::string>& id) {
  Value doc;
  std::optional<std::string> doc_id;
  BLAZE_RETURN_IF_ERROR(ParseDocument(json, &doc, &doc_id));
  if (id && doc_id && *id != *doc_id) {
    return Status::InvalidArgument("--id '" + *id + "' and the document's \"_id\" '" + *doc_id + "' disagree");
  }
  std::optional<std::string> target = id ? id : doc_id;
  BLAZE_ASSIGN_OR_RETURN(auto db, OpenExisting(path));
  std::string written;
  if (target) {
    BLAZE_RETURN_IF_ERROR(db->Put(collection, *target, doc));
    written = *target;
  } else {
    BLAZE_ASSIGN_OR_RETURN(written, db->Insert(collection, doc));
  }
  return PrintLine(written);  // every byte of the id, a NUL included
}

Status Get(const std::string& path, const std::string& collection, const std::string& id) {
  std::string line;
  BLAZE_RETURN_IF_ERROR(ReadDatabase(path, [&](Database& db) -> Status {
    BLAZE_ASSIGN_OR_RETURN(Value doc, db.Get(collection, id));
    line = RecordJson(id, doc);
    return Status::Ok();
  }));
  return PrintLine(line);
}

Status Patch(const std::string& path, const std::string& collection, const std::string& id, const std::string& json) {
  BLAZE_ASSIGN_OR_RETURN(Value patch, ParseJson(json));
  if (!patch.is_map()) return Status::InvalidArgument("the patch must be a JSON object (RFC 7396)");
  BLAZE_ASSIGN_OR_RETURN(auto db, OpenExisting(path));
  return db->Patch(collection, id, patch);
}

Status Delete(const std::string& path, const std::string& collection, const std::string& id) {
  BLAZE_ASSIGN_OR_RETURN(auto db, OpenExisting(path));
  return db->Delete(collection, id);
}

Status Query(const std::string& path, const std::string& collection, const QueryArgs& args) {
  QueryOptions q;
  q.where = args.where;
  q.order_by = args.order_by;
  q.descending = args.desc;
  q.limit = args.limit;
  q.offset = args.offset;
  BLAZE_ASSIGN_OR_RETURN(q.vars, ParseVars(args.vars));
  std::string plan;
  std::vector<Record> records;
  BLAZE_RETURN_IF_ERROR(ReadDatabase(path, [&](Database& db) -> Status {
    if (args.explain) {
      BLAZE_ASSIGN_OR_RETURN(plan, db.Explain(collection, q));
    } else {
      BLAZE_ASSIGN_OR_RETURN(records, db.Query(collection, q));
    }
    return Status::Ok();
  }));
  if (std::fwrite(plan.data(), 1, plan.size(), stdout) != plan.size()) {
    return Status::IOError(std::string("writing to standard output failed: ") + std::strerror(errno));
  }
  for (const auto& r : records) BLAZE_RETURN_IF_ERROR(PrintLine(RecordJson(r.id, r.doc)));
  return Status::Ok();
}

Status Count(const std::string& path, const std::string& collection, const std::string& where,
             const std::vector<std::string>& vars) {
  BLAZE_ASSIGN_OR_RETURN(auto bound, ParseVars(vars));
  int64_t n = 0;
  BLAZE_RETURN_IF_ERROR(ReadDatabase(path, [&](Database& db) -> Status {
    BLAZE_ASSIGN_OR_RETURN(n, db.Count(collection, where, bound));
    return Status::Ok();
  }));
  return PrintLine(std::to_string(n));
}

sigset_t BlockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

Status Watch(const std::string& path, const std::string& collection, const std::string& where) {
  // Block the stop signals before any thread starts, then wait for one.
  sigset_t stop = BlockStopSignals();
  BLAZE_ASSIGN_OR_RETURN(auto db, OpenExisting(path));
  // A failed write ends the watch: the callback records it and wakes sigwait.
  std::mutex mu;
  Status write_error;
  BLAZE_ASSIGN_OR_RETURN(WatchHandle handle, db->Watch(collection, where, [&](const ChangeEvent& e) {
    Value::Map line{{"kind", Value(std::string(ChangeKindName(e.kind)))},
                    {"collection", Value(e.collection)},
                    {"origin", Value(e.origin.ToHex())},
                    {"seq", Value(static_cast<int64_t>(e.seq))}};
    std::string json = RecordJson(e.id, Value(std::move(line)));
    if (e.kind != ChangeEvent::Kind::kDeleted) {
      json.pop_back();
      json += ",\"doc\":" + ToJson(e.doc) + "}";
    }
    Status st = PrintLine(json);
    if (st.ok()) st = FinishOutput();
    if (!st.ok()) {
      std::lock_guard<std::mutex> l(mu);
      if (write_error.ok()) {
        write_error = st;
        kill(getpid(), SIGTERM);
      }
    }
  }));
  std::fprintf(stderr, "watching %s/%s; interrupt to stop\n", path.c_str(), collection.c_str());
  int sig = 0;
  sigwait(&stop, &sig);
  handle.Cancel();  // waits for a running callback; none runs after it
  std::lock_guard<std::mutex> l(mu);
  return write_error;
}

Status Index(const std::string& path, const std::string& collection, const std::string& field) {
  BLAZE_ASSIGN_OR_RETURN(auto db, OpenExisting(path));
  return db->CreateIndex(collection, field);
}

Status Import(const std::string& path, const std::string& collection, const std::string& file) {
  // FILE may be anything that reads as a stream: a regular file, a pipe
  // (/dev/stdin, <(...)), or "-" for standard input. Only a regular file has
  // a size to draw progress against; the others never seek.
  const bool from_stdin = file == "-";
  const std::string name = from_stdin ? "<stdin>" : file;
  std::ifstream opened;
  if (!from_stdin) {
    opened.open(file, std::ios::binary);
    if (!opened) return Status::NotFound("cannot open '" + file + "': " + std::strerror(errno));
  }
  std::istream& in = from_stdin ? std::cin : opened;
  double total = 0;
  struct stat st;
  if (!from_stdin && ::stat(file.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return Status::InvalidArgument("'" + file + "' is a directory; expected JSON lines");
    if (S_ISREG(st.st_mode)) total = static_cast<double>(st.st_size);
  }
  BLAZE_ASSIGN_OR_RETURN(auto db, OpenExisting(path));
  const bool progress = isatty(STDERR_FILENO) != 0;
  int64_t count = 0;
  double consumed = 0;
  auto last_draw = std::chrono::steady_clock::now();
  // One transaction: a bad line anywhere means nothing is imported.
  Status s = db->Transaction([&](Txn& t) -> Status {
    std::string line;
    int64_t line_no = 0;
    while (std::getline(in, line)) {
      ++line_no;
      consumed += static_cast<double>(line.size() + 1);
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      Value doc;
      std::optional<std::string> id;
      Status st = ParseDocument(line, &doc, &id);
      if (st.ok()) st = id ? t.Put(collection, *id, doc) : t.Insert(collection, doc).status();
      if (!st.ok()) return st.WithContext(name + ":" + std::to_string(line_no));
      ++count;
      auto now = std::chrono::steady_clock::now();
      if (progress && now - last_draw > std::chrono::milliseconds(100)) {
        last_draw = now;
        if (total > 0) {
          double frac = std::min(1.0, consumed / total);
          int filled = static_cast<int>(frac * 30);
          std::fprintf(stderr, "\rimporting [%-30s] %3d%% %lld records", std::string(filled, '#').c_str(),
                       static_cast<int>(frac * 100), static_cast<long long>(count));
        } else {
          std::fprintf(stderr, "\rimporting %lld records", static_cast<long long>(count));
        }
      }
    }
    if (in.bad()) return Status::IOError("reading '" + name + "' failed");
    return Status::Ok();
  });
  if (progress) std::fprintf(stderr, "\r%70s\r", "");
  BLAZE_RETURN_IF_ERROR(s);
  return PrintLine(std::to_string(count));
}

Status Export(const std::string& path, const std::string& collection) {
  std::vector<Record> records;
  BLAZE_RETURN_IF_ERROR(ReadDatabase(path, [&](Database& db) -> Status {
    BLAZE_ASSIGN_OR_RETURN(records, db.FetchAll(collection));
    return Status::Ok();
  }));
  for (const auto& r : records) BLAZE_RETURN_IF_ERROR(PrintLine(RecordJson(r.id, r.doc)));
  return Status::Ok();
}

Status Keygen(const std::string& file) {
  BLAZE_ASSIGN_OR_RETURN(KeyPair pair, GenerateKeyPair());
  BLAZE_RETURN_IF_ERROR(WriteKeyFile(file, pair));
  return PrintLine(PublicKeyToHex(pair.public_key));
}

Status Pubkey(const std::string& file) {
  BLAZE_ASSIGN_OR_RETURN(KeyPair pair, ReadKeyFile(file));
  return PrintLine(PublicKeyToHex(pair.public_key));
}

}  // namespace blaze::cli
