// commands.cc — implementations of the blazedb subcommands.
#include "commands.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>

#include "blaze/database.h"
#include "blaze/json.h"
#include "blaze/keys.h"

namespace blaze::cli {

Result<std::unique_ptr<Database>> OpenExisting(const std::string& path) {
  Options o;
  o.create_if_missing = false;
  return Database::Open(o, path);
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
  bool existed = access(path.c_str(), F_OK) == 0;
  BLAZE_ASSIGN_OR_RETURN(auto db, Database::Open(Options{}, path));
  std::printf("%s %s (node %s)\n", existed ? "opened existing" : "initialized", path.c_str(),
              db->node_id().ToHex().c_str());
  return Status::Ok();
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
  std::printf("%s\n", written.c_str());
  return Status::Ok();
}

Status Get(const std::string& path, const std::string& collection, const std::string& id) {
  BLAZE_ASSIGN_OR_RETURN(auto db, OpenExisting(path));
  BLAZE_ASSIGN_OR_RETURN(Value doc, db->Get(collection, id));
  std::printf("%s\n", RecordJson(id, doc).c_str());
  return Status::Ok();
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
  BLAZE_ASSIGN_OR_RETURN(auto db, OpenExisting(path));
  if (args.explain) {
    BLAZE_ASSIGN_OR_RETURN(std::string plan, db->Explain(collection, q));
    std::fputs(plan.c_str(), stdout);
    return Status::Ok();
  }
  BLAZE_ASSIGN_OR_RETURN(auto records, db->Query(collection, q));
  for (const auto& r : records) std::printf("%s\n", RecordJson(r.id, r.doc).c_str());
  return Status::Ok();
}

Status Count(const std::string& path, const std::string& collection, const std::string& where,
             const std::vector<std::string>& vars) {
  BLAZE_ASSIGN_OR_RETURN(auto bound, ParseVars(vars));
  BLAZE_ASSIGN_OR_RETURN(auto db, OpenExisting(path));
  BLAZE_ASSIGN_OR_RETURN(int64_t n, db->Count(collection, where, bound));
  std::printf("%lld\n", static_cast<long long>(n));
  return Status::Ok();
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
  BLAZE_ASSIGN_OR_RETURN(WatchHandle handle, db->Watch(collection, where, [](const ChangeEvent& e) {
    Value::Map line{{"kind", Value(std::string(ChangeKindName(e.kind)))},
                    {"collection", Value(e.collection)},
                    {"origin", Value(e.origin.ToHex())},
                    {"seq", Value(static_cast<int64_t>(e.seq))}};
    std::string json = RecordJson(e.id, Value(std::move(line)));
    if (e.kind != ChangeEvent::Kind::kDeleted) {
      json.pop_back();
      json += ",\"doc\":" + ToJson(e.doc) + "}";
    }
    std::printf("%s\n", json.c_str());
    std::fflush(stdout);
  }));
  std::fprintf(stderr, "watching %s/%s; interrupt to stop\n", path.c_str(), collection.c_str());
  int sig = 0;
  sigwait(&stop, &sig);
  handle.Cancel();
  return Status::Ok();
}

Status Index(const std::string& path, const std::string& collection, const std::string& field) {
  BLAZE_ASSIGN_OR_RETURN(auto db, OpenExisting(path));
  return db->CreateIndex(collection, field);
}

Status Import(const std::string& path, const std::string& collection, const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return Status::NotFound("cannot open '" + file + "'");
  in.seekg(0, std::ios::end);
  const auto total = static_cast<double>(in.tellg());
  in.seekg(0);
  BLAZE_ASSIGN_OR_RETURN(auto db, OpenExisting(path));
  const bool progress = isatty(STDERR_FILENO) != 0;
  int64_t count = 0;
  auto last_draw = std::chrono::steady_clock::now();
  // One transaction: a bad line anywhere means nothing is imported.
  Status s = db->Transaction([&](Txn& t) -> Status {
    std::string line;
    int64_t line_no = 0;
    while (std::getline(in, line)) {
      ++line_no;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      Value doc;
      std::optional<std::string> id;
      Status st = ParseDocument(line, &doc, &id);
      if (st.ok()) st = id ? t.Put(collection, *id, doc) : t.Insert(collection, doc).status();
      if (!st.ok()) return st.WithContext(file + ":" + std::to_string(line_no));
      ++count;
      auto now = std::chrono::steady_clock::now();
      if (progress && now - last_draw > std::chrono::milliseconds(100)) {
        last_draw = now;
        double frac = total > 0 ? static_cast<double>(in.tellg()) / total : 1.0;
        int filled = static_cast<int>(frac * 30);
        std::fprintf(stderr, "\rimporting [%-30s] %3d%% %lld records", std::string(filled, '#').c_str(),
                     static_cast<int>(frac * 100), static_cast<long long>(count));
      }
    }
    if (in.bad()) return Status::IOError("reading '" + file + "' failed");
    return Status::Ok();
  });
  if (progress) std::fprintf(stderr, "\r%70s\r", "");
  BLAZE_RETURN_IF_ERROR(s);
  std::printf("%lld\n", static_cast<long long>(count));
  return Status::Ok();
}

Status Export(const std::string& path, const std::string& collection) {
  BLAZE_ASSIGN_OR_RETURN(auto db, OpenExisting(path));
  BLAZE_ASSIGN_OR_RETURN(auto records, db->FetchAll(collection));
  for (const auto& r : records) std::printf("%s\n", RecordJson(r.id, r.doc).c_str());
  return Status::Ok();
}

Status Keygen(const std::string& file) {
  BLAZE_ASSIGN_OR_RETURN(KeyPair pair, GenerateKeyPair());
  BLAZE_RETURN_IF_ERROR(WriteKeyFile(file, pair));
  std::printf("%s\n", PublicKeyToHex(pair.public_key).c_str());
  return Status::Ok();
}

Status Pubkey(const std::string& file) {
  BLAZE_ASSIGN_OR_RETURN(KeyPair pair, ReadKeyFile(file));
  std::printf("%s\n", PublicKeyToHex(pair.public_key).c_str());
  return Status::Ok();
}

}  // namespace blaze::cli
