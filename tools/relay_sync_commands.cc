// relay_sync_commands.cc — `blazedb sync DB --relay URL ...`: one database
// synced with its copy on a relay through a RemoteNode (docs/cli.md), live
// until SIGINT/SIGTERM, or once until both sides hold the same changes.
//
// Thread safety: the stop signals are blocked before the node's threads start
// and taken by sigwait on the main thread.
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "blaze/json.h"
#include "blaze/keys.h"
#include "blaze/remote_node.h"
#include "commands.h"

namespace blaze::cli {
namespace {

Value ReportJson(const RemoteNodeReport& r, bool caught_up) {
  Value::Array relays;
  for (const auto& rr : r.relays) {
    Value::Map m{{"url", Value(rr.url)},
                 {"state", Value(std::string(RelayStateName(rr.state)))},
                 {"lag", Value(static_cast<int64_t>(rr.lag))},
                 {"connects", Value(static_cast<int64_t>(rr.connects))}};
    if (!rr.last_error.empty()) m["last_error"] = Value(rr.last_error);
    relays.push_back(Value(std::move(m)));
  }
  return Value(Value::Map{{"caught_up", Value(caught_up)},
                          {"changes_sent", Value(static_cast<int64_t>(r.changes_sent))},
                          {"changes_received", Value(static_cast<int64_t>(r.changes_received))},
                          {"relays", Value(std::move(relays))}});
}

}  // namespace

Status RelaySync(const RelaySyncArgs& args) {
  sigset_t signals = BlockStopSignals();
  if (args.identity.empty()) return Status::InvalidArgument("sync --relay needs --identity KEYFILE");
  if (args.relay_key.empty()) return Status::InvalidArgument("sync --relay needs --relay-key HEX (the relay's key)");
  for (const auto& url : args.relays) {
    if (url.rfind("ws://", 0) != 0) {
      return Status::InvalidArgument("--relay: expected ws://HOST:PORT/PATH, got '" + url + "'");
    }
  }
  RemoteNodeOptions o;
  o.relays = args.relays;
  BLAZE_ASSIGN_OR_RETURN(o.identity, ReadKeyFile(args.identity));
  auto key = PublicKeyFromHex(args.relay_key);
  if (!key.ok()) return key.status().WithContext("--relay-key");
  o.relay_key = *key;
  o.database = args.name.empty() ? std::filesystem::path(args.db).stem().string() : args.name;
  BLAZE_ASSIGN_OR_RETURN(auto db, OpenExisting(args.db));
  BLAZE_ASSIGN_OR_RETURN(auto node, RemoteNode::Start(db.get(), o));
  if (args.once) {
    Status s = node->WaitForCatchUp(std::chrono::milliseconds(args.timeout_ms));
    if (!s.ok()) return s;
    return PrintLine(ToJson(ReportJson(node->report(), true)));
  }
  std::fprintf(stderr, "syncing %s with '%s' on the relay; interrupt to stop\n", args.db.c_str(),
               o.database.c_str());
  int sig = SIGHUP;
  while (sig == SIGHUP) sigwait(&signals, &sig);  // SIGHUP has nothing to reload here
  RemoteNodeReport r = node->report();
  node.reset();
  return PrintLine(ToJson(ReportJson(r, r.caught_up)));
}

}  // namespace blaze::cli
