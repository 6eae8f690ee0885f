// link.h — a duplex channel of sync messages between two engines, whatever
// carries it (in memory now; Unix sockets and WebSocket through the secure
// channel later). The engine knows nothing else about transports.
//
// A Link is one end. Send() queues a message for the other end; messages
// arrive in order, once, unless the link closes. The receiving engine is
// told through the LinkHandler it attached, as a task of its own executor
// (which may run it on the sending thread: Executor::Dispatch).
#ifndef BLAZE_SYNC_LINK_H_
#define BLAZE_SYNC_LINK_H_

#include <memory>
#include <string>
#include <utility>

#include "blaze/status.h"
#include "sync/executor.h"

namespace blaze::sync {

class LinkHandler {
 public:
  virtual ~LinkHandler() = default;
  virtual void OnMessage(std::string message) = 0;
  virtual void OnClosed(const Status& why) = 0;
};

class Link {
 public:
  virtual ~Link() = default;
  // kFailedPrecondition once the link is closed (by either end).
  virtual Status Send(std::string message) = 0;
  // Closes both directions; the other end's handler hears OnClosed.
  virtual void Close(const Status& why) = 0;
  // Where this end's incoming messages go, and on which executor they are
  // delivered. Messages sent before Attach wait for it. The link holds the
  // handler weakly: its owner (the engine's session) keeps it alive.
  virtual void Attach(std::shared_ptr<LinkHandler> handler, Executor* executor) = 0;
};

// Two connected in-memory ends. A message costs one move and one task,
// dispatched: run by the sending thread when the receiver's executor is idle.
std::pair<std::shared_ptr<Link>, std::shared_ptr<Link>> MakeInMemoryLinkPair();

}  // namespace blaze::sync

#endif  // BLAZE_SYNC_LINK_H_
