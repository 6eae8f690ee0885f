// topology.h — keeps many databases of one process in sync (the seed's
// BlazeTopology): register databases, lay links between them as
// hub-and-spoke, star or mesh, watch each link's state and lag.
//
//   blaze::Topology topo;                       // or Topology::Create(options)
//   topo.Register("phone", phone_db);
//   topo.Register("watch", watch_db);
//   topo.Connect(blaze::Topology::Pattern::kMesh);
//   auto report = topo.Report();                // one entry per link
//
// Patterns:
//   kHubAndSpoke  every database links to a hub replica the topology owns
//                 (an in-memory relay database), never to each other;
//   kStar         every database links to one registered database, the hub;
//   kMesh         every database links to every other.
// Changes of every origin travel through hubs, and a database drops what it
// already holds, so switching pattern at run time loses nothing: the new
// links start from each side's version vector.
//
// Each registered database gets a sync engine on its own thread; links are
// in memory. Thread safety: all methods may be called from any thread
// (serialized internally), except from inside a WatchReport callback, which
// may only read the report it is given. Unregister (or destroy the Topology)
// before destroying a registered Database.
#ifndef BLAZE_TOPOLOGY_H_
#define BLAZE_TOPOLOGY_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "blaze/database.h"
#include "blaze/status.h"

namespace blaze {

struct TopologyOptions {
  int tick_ms = 100;         // retransmission clock of the engines
  int report_poll_ms = 50;   // how often WatchReport looks for changes
};

struct LinkReport {
  enum class State { kHandshaking, kCatchingUp, kLive, kDown };
  std::string a, b;           // database names ("hub" for the topology's own hub)
  State state = State::kHandshaking;
  uint64_t in_flight = 0;     // batches a has sent b and b has not acknowledged
  uint64_t lag = 0;           // changes a holds that b has not acknowledged
  uint64_t changes_sent = 0;  // by a to b
  std::string error;          // why the link is down, if it is
  friend bool operator==(const LinkReport&, const LinkReport&) = default;
};
std::string_view LinkStateName(LinkReport::State state);  // "handshaking", "catching up", "live", "down"

class Topology {
 public:
  enum class Pattern { kHubAndSpoke, kStar, kMesh };

  static Result<std::unique_ptr<Topology>> Create(const TopologyOptions& options = {});
  ~Topology();
  Topology(const Topology&) = delete;
  Topology& operator=(const Topology&) = delete;

  // `db` must outlive its registration. Names are unique and not "hub".
  Status Register(const std::string& name, Database* db);
  Status Unregister(const std::string& name);
  // Re-lays every link for `pattern`; `hub` names the star's centre.
  Status Connect(Pattern pattern, const std::string& hub = "");
  std::vector<LinkReport> Report();
  // Blocks until every link is live with nothing in flight and no lag, or
  // the timeout passes (kBusy).
  Status WaitUntilSynced(int timeout_ms);
  // Calls `callback` with the report whenever it changes (from a topology
  // thread, at most every report_poll_ms).
  WatchHandle WatchReport(std::function<void(const std::vector<LinkReport>&)> callback);

  class Impl;

 private:
  explicit Topology(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace blaze

#endif  // BLAZE_TOPOLOGY_H_
