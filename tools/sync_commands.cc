// sync_commands.cc — `blazedb sync` and `blazedb changes`.
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <memory>

#include "blaze/json.h"
#include "commands.h"
#include "store/replica.h"
#include "sync/sync_engine.h"

namespace blaze::cli {
namespace {

Value VectorJson(const VersionVector& vv) {
  Value::Map m;
  for (const auto& [origin, seq] : vv) m[origin.ToHex()] = Value(static_cast<int64_t>(seq));
  return Value(std::move(m));
}

Value OpJson(const store::Op& op) {
  Value::Map m{{"collection", Value(op.collection)}, {"id", Value(op.id)}};
  switch (op.type) {
    case store::Op::Type::kPut:
      m["type"] = Value("put");
      m["fields"] = Value(op.fields);
      break;
    case store::Op::Type::kUnset: {
      m["type"] = Value("unset");
      Value::Array names;
      for (const auto& n : op.names) names.emplace_back(n);
      m["fields"] = Value(std::move(names));
      break;
    }
    case store::Op::Type::kDelete:
      m["type"] = Value("delete");
      break;
  }
  return Value(std::move(m));
}

// The change log as JSON lines (see Changes).
Status ReadChanges(Database& db, uint64_t since_seq, std::vector<std::string>* lines) {
  int64_t after = 0;
  while (true) {
    BLAZE_ASSIGN_OR_RETURN(auto page, DatabaseAccess::LogAfter(db, after, 1000));
    if (page.empty()) break;
    for (const auto& [local_seq, c] : page) {
      after = local_seq;
      if (c.origin.value == 0) continue;  // a snapshot merge's note for watchers, not a change
      if (c.seq <= since_seq) continue;
      Value::Array ops;
      for (const auto& op : c.ops) ops.push_back(OpJson(op));
      Value line(Value::Map{{"origin", Value(c.origin.ToHex())},
                            {"seq", Value(static_cast<int64_t>(c.seq))},
                            {"hlc", Value(static_cast<int64_t>(c.hlc.value))},
                            {"ops", Value(std::move(ops))}});
      lines->push_back(ToJson(line));
    }
  }
  return Status::Ok();
}

// Whether the databases hold equal visible states, as far as can be told:
// each digest comes with the vector it was read at, and only databases read
// at equal vectors must have equal states (a process still writing moves a
// vector on, and then the states differ for a good reason). Equal vectors
// over different records mean two different changes share an (origin, seq).
bool SameStates(const std::vector<DatabaseAccess::StateDigest>& digests) {
  for (size_t i = 0; i < digests.size(); ++i) {
    for (size_t j = i + 1; j < digests.size(); ++j) {
      if (digests[i].vv == digests[j].vv && digests[i].hex != digests[j].hex) return false;
    }
  }
  return true;
}

}  // namespace

Status Sync(const std::vector<std::string>& paths) {
  if (paths.size() < 2) return Status::InvalidArgument("sync needs at least two databases");
  struct Replica {
    std::unique_ptr<Database> db;
    sync::ManualExecutor executor;
    std::unique_ptr<sync::SyncEngine> engine;
  };
  std::vector<std::unique_ptr<Replica>> replicas;
  for (const auto& path : paths) {
    auto r = std::make_unique<Replica>();
    auto db = OpenExisting(path);
    if (!db.ok()) return db.status().WithContext(path);
    r->db = std::move(db).value();
    for (const auto& other : replicas) {
      if (other->db->node_id() == r->db->node_id()) {
        return Status::InvalidArgument(path + " has the same node id as " + other->db->path() +
                                       ": the same file twice, or a copy made before this build recorded the "
                                       "file's identity; they cannot sync");
      }
    }
    replicas.push_back(std::move(r));
  }
  // The goal: every database holds every change any of them held when sync
  // started. Other processes may keep writing meanwhile; their later changes
  // travel if they happen to, but sync does not chase them (it would never
  // end under a steady writer): the next sync carries them. The target is read
  // before the engines start, so each engine's first view of its database
  // already holds it (an engine learns of other processes' commits only on
  // its ticks).
  VersionVector target;
  for (const auto& r : replicas) {
    BLAZE_ASSIGN_OR_RETURN(VersionVector vv, DatabaseAccess::GetVersionVector(*r->db));
    for (const auto& [origin, seq] : vv) target[origin] = std::max(target[origin], seq);
  }
  for (auto& r : replicas) {
    BLAZE_ASSIGN_OR_RETURN(r->engine, sync::SyncEngine::Create(r->db.get(), &r->executor));
  }
  // Every database links with every other, in memory, in this process.
  for (size_t i = 0; i < replicas.size(); ++i) {
    for (size_t j = i + 1; j < replicas.size(); ++j) {
      auto [a, b] = sync::MakeInMemoryLinkPair();
      replicas[i]->engine->AddPeer(a);
      replicas[j]->engine->AddPeer(b);
    }
  }
  // What each database still lacks of the target: "" when nothing.
  auto lacking = [&]() -> Result<std::string> {
    std::string out;
    for (const auto& r : replicas) {
      BLAZE_ASSIGN_OR_RETURN(VersionVector vv, DatabaseAccess::GetVersionVector(*r->db));
      for (const auto& [origin, seq] : target) {
        Seq have = SeqOf(vv, origin);
        if (have >= seq) continue;
        if (!out.empty()) out += "; ";
        out += r->db->path() + " holds changes of " + origin.ToHex() + " up to seq " + std::to_string(have) +
               ", expected " + std::to_string(seq);
      }
    }
    return out;
  };
  bool converged = false;
  std::string missing;
  for (int round = 0; round < 1000 && !converged; ++round) {
    size_t ran = 0;
    do {
      ran = 0;
      for (auto& r : replicas) ran += r->executor.RunUntilIdle();
    } while (ran > 0);
    BLAZE_ASSIGN_OR_RETURN(missing, lacking());
    converged = missing.empty();
    if (!converged) {
      for (auto& r : replicas) r->engine->Tick();
    }
  }
  // Equal vectors are not enough: two different changes under one (origin,
  // seq) leave equal vectors over different records. The states must agree.
  std::vector<DatabaseAccess::StateDigest> digests;
  for (auto& r : replicas) {
    BLAZE_ASSIGN_OR_RETURN(DatabaseAccess::StateDigest d, DatabaseAccess::LiveStateDigest(*r->db));
    digests.push_back(std::move(d));
  }
  Value::Array dbs;
  std::string first_error;
  size_t index = 0;
  for (auto& r : replicas) {
    uint64_t applied = 0, sent = 0;
    for (const auto& st : r->engine->Stats()) {
      applied += st.changes_applied;
      sent += st.changes_sent;
      if (!st.error.empty() && first_error.empty()) first_error = st.error;
    }
    BLAZE_ASSIGN_OR_RETURN(VersionVector vv, DatabaseAccess::GetVersionVector(*r->db));
    dbs.push_back(Value(Value::Map{{"path", Value(r->db->path())},
                                   {"node", Value(r->db->node_id().ToHex())},
                                   {"changes_received", Value(static_cast<int64_t>(applied))},
                                   {"changes_sent", Value(static_cast<int64_t>(sent))},
                                   {"records", Value(static_cast<int64_t>(digests[index].records))},
                                   {"state_digest", Value(digests[index].hex)},
                                   {"version_vector", VectorJson(vv)}}));
    ++index;
  }
  // Converged: every link stayed open, every database holds the target, and
  // the records agree. Otherwise the reason says which of them failed.
  std::string reason;
  if (!first_error.empty()) {
    reason = "a link failed: " + first_error;
  } else if (!converged) {
    reason = missing;
  } else if (!SameStates(digests)) {
    reason = "the version vectors are equal but the records differ (state_digest): two different changes share an "
             "(origin, seq), written by a copied or restored database file before it noticed, or a compaction "
             "purged a deletion's tombstone (--tombstone-horizon-ms) before this peer received the deletion";
  }
  converged = reason.empty();
  Value::Map summary{{"converged", Value(converged)}, {"databases", Value(std::move(dbs))}};
  if (!first_error.empty()) {
    summary["error"] = Value(first_error);
  } else if (!missing.empty()) {
    summary["error"] = Value(missing);
  }
  if (!converged) summary["reason"] = Value(reason);
  BLAZE_RETURN_IF_ERROR(PrintLine(ToJson(Value(std::move(summary)))));
  if (!converged) return Status::Aborted("the databases did not converge: " + reason);
  return Status::Ok();
}

Status Changes(const std::string& path, uint64_t since_seq) {
  std::vector<std::string> lines;
  BLAZE_RETURN_IF_ERROR(ReadDatabase(path, [&](Database& db) -> Status {
    lines.clear();
    return ReadChanges(db, since_seq, &lines);
  }));
  for (const auto& line : lines) BLAZE_RETURN_IF_ERROR(PrintLine(line));
  return Status::Ok();
}


Status Compact(const std::string& path, int64_t log_horizon_ms, int64_t tombstone_horizon_ms) {
  if (log_horizon_ms < 0 || tombstone_horizon_ms < 0) {
    return Status::InvalidArgument("horizons are durations in milliseconds and cannot be negative");
  }
  BLAZE_ASSIGN_OR_RETURN(auto db, OpenExisting(path));
  CompactOptions o;
  o.log_horizon_ms = log_horizon_ms;
  o.tombstone_horizon_ms = tombstone_horizon_ms;
  BLAZE_ASSIGN_OR_RETURN(CompactStats st, db->Compact(o));
  Value::Map horizon;
  for (const auto& [origin, seq] : st.horizon) horizon.emplace(origin.ToHex(), Value(static_cast<int64_t>(seq)));
  Value out(Value::Map{{"changes_pruned", Value(st.changes_pruned)},
                       {"tombstones_purged", Value(st.tombstones_purged)},
                       {"field_tombstones_purged", Value(st.field_tombstones_purged)},
                       {"horizon", Value(std::move(horizon))}});
  return PrintLine(ToJson(out));
}

}  // namespace blaze::cli
