// sync_commands.cc — `blazedb sync` and `blazedb changes`.
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

// Why `blazedb sync` did not converge, or "" if it did: the databases
// converged when every link stayed open, the version vectors are equal and
// so are the visible states.
std::string NotConvergedReason(bool same_vectors, bool same_states, const std::string& link_error) {
  if (!link_error.empty()) return "a link failed: " + link_error;
  if (!same_vectors) return "the version vectors still differ after every round (changes are missing on some database)";
  if (!same_states) {
    return "the version vectors are equal but the records differ (state_digest): two different changes share an "
           "(origin, seq), written by a copied or restored database file before it noticed";
  }
  return "";
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
    BLAZE_ASSIGN_OR_RETURN(r->engine, sync::SyncEngine::Create(r->db.get(), &r->executor));
    replicas.push_back(std::move(r));
  }
  // Every database links with every other, in memory, in this process.
  for (size_t i = 0; i < replicas.size(); ++i) {
    for (size_t j = i + 1; j < replicas.size(); ++j) {
      auto [a, b] = sync::MakeInMemoryLinkPair();
      replicas[i]->engine->AddPeer(a);
      replicas[j]->engine->AddPeer(b);
    }
  }
  auto all_equal = [&]() -> Result<bool> {
    BLAZE_ASSIGN_OR_RETURN(VersionVector first, DatabaseAccess::GetVersionVector(*replicas[0]->db));
    for (const auto& r : replicas) {
      BLAZE_ASSIGN_OR_RETURN(VersionVector vv, DatabaseAccess::GetVersionVector(*r->db));
      if (vv != first) return false;
    }
    return true;
  };
  bool converged = false;
  for (int round = 0; round < 1000 && !converged; ++round) {
    size_t ran = 0;
    do {
      ran = 0;
      for (auto& r : replicas) ran += r->executor.RunUntilIdle();
    } while (ran > 0);
    BLAZE_ASSIGN_OR_RETURN(converged, all_equal());
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
  bool same_states = true;
  for (const auto& d : digests) same_states = same_states && d.hex == digests[0].hex;
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
  const std::string reason = NotConvergedReason(converged, same_states, first_error);
  converged = reason.empty();
  Value::Map summary{{"converged", Value(converged)}, {"databases", Value(std::move(dbs))}};
  if (!first_error.empty()) summary["error"] = Value(first_error);
  if (!converged) summary["reason"] = Value(reason);
  std::printf("%s\n", ToJson(Value(std::move(summary))).c_str());
  if (!converged) return Status::Aborted("the databases did not converge: " + reason);
  return Status::Ok();
}

Status Changes(const std::string& path, uint64_t since_seq) {
  BLAZE_ASSIGN_OR_RETURN(auto db, OpenExisting(path));
  int64_t after = 0;
  while (true) {
    BLAZE_ASSIGN_OR_RETURN(auto page, DatabaseAccess::LogAfter(*db, after, 1000));
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
      std::printf("%s\n", ToJson(line).c_str());
    }
  }
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
  std::printf("%s\n", ToJson(out).c_str());
  return Status::Ok();
}

}  // namespace blaze::cli
