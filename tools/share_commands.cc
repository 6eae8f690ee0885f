// share_commands.cc — `blazedb share` and `blazedb connect`: cross-app sync
// from the command line (docs/cross-app.md). Both print JSON lines: `share`
// one line when it serves and one per connection event; `connect` one line
// per (re)connection and a summary when it stops.
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "blaze/cross_app.h"
#include "blaze/json.h"
#include "blaze/keys.h"
#include "commands.h"

namespace blaze::cli {

namespace {

void PrintLine(Value::Map m) {
  std::printf("%s\n", ToJson(Value(std::move(m))).c_str());
  std::fflush(stdout);
}

void LogToStderr(const std::string& what) {
  std::fprintf(stderr, "blazedb: %s\n", what.c_str());
  std::fflush(stderr);
}

}  // namespace

Status Share(const std::string& path, const std::string& group, const std::string& key_file,
             const std::string& policy_file) {
  // Blocked before any thread starts, so only sigwait below sees them.
  sigset_t signals = BlockStopSignals();
  BLAZE_ASSIGN_OR_RETURN(KeyPair identity, ReadKeyFile(key_file));
  BLAZE_ASSIGN_OR_RETURN(ExportPolicy policy, ReadExportPolicyFile(policy_file));
  BLAZE_ASSIGN_OR_RETURN(auto db, OpenExisting(path));
  CrossAppOptions options;
  options.log = LogToStderr;
  BLAZE_ASSIGN_OR_RETURN(auto share, EnableCrossAppSync(*db, group, identity, policy, options));
  PrintLine({{"serving", Value(db->path())}, {"socket", Value(share->socket_path())}});
  while (true) {
    int sig = 0;
    sigwait(&signals, &sig);
    if (sig != SIGHUP) break;
    // SIGHUP: read the policy file again; connected apps get the new grant.
    auto fresh = ReadExportPolicyFile(policy_file);
    Status s = fresh.ok() ? share->SetPolicy(*fresh) : fresh.status();
    if (s.ok()) {
      PrintLine({{"policy", Value("reloaded")}});
    } else {
      LogToStderr("policy not reloaded, the previous one stays: " + s.ToString());
    }
  }
  Value::Array apps;
  for (const auto& c : share->Connections()) {
    apps.push_back(Value(Value::Map{{"app", Value(c.app)},
                                    {"records_sent", Value(static_cast<int64_t>(c.records_sent))},
                                    {"changes_applied", Value(static_cast<int64_t>(c.changes_applied))},
                                    {"changes_refused", Value(static_cast<int64_t>(c.changes_refused))}}));
  }
  PrintLine({{"stopped", Value(true)}, {"connections", Value(std::move(apps))}});
  return Status::Ok();
}

Status Connect(const std::string& group, const std::string& db_name, const std::string& key_file,
               const std::string& replica, bool once, int timeout_ms, const std::string& owner) {
  sigset_t signals = BlockStopSignals();
  BLAZE_ASSIGN_OR_RETURN(KeyPair identity, ReadKeyFile(key_file));
  CrossAppOptions options;
  options.log = LogToStderr;
  options.owner = owner;
  BLAZE_ASSIGN_OR_RETURN(auto shared, ConnectToSharedDB(group, db_name, identity, replica, options));
  auto summary = [&](bool caught_up) {
    SharedReplicaStatus st = shared->status();
    PrintLine({{"replica", Value(replica)},
               {"caught_up", Value(caught_up)},
               {"connects", Value(static_cast<int64_t>(st.connects))},
               {"records_received", Value(static_cast<int64_t>(st.records_received))},
               {"changes_sent", Value(static_cast<int64_t>(st.changes_sent))},
               {"changes_refused", Value(static_cast<int64_t>(st.changes_refused))}});
  };
  if (once) {
    Status s = shared->WaitForCatchUp(std::chrono::milliseconds(timeout_ms));
    if (!s.ok()) return s;
    summary(true);
    return Status::Ok();
  }
  std::fprintf(stderr, "replicating %s into %s; interrupt to stop\n", db_name.c_str(), replica.c_str());
  int sig = 0;
  sigwait(&signals, &sig);
  summary(shared->WaitForCatchUp(std::chrono::milliseconds(0)).ok());
  return Status::Ok();
}

}  // namespace blaze::cli
