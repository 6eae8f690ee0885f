// stream_link.h — a sync::Link over one stream of a Connection: what a
// SyncEngine peers through, at the relay (one per client stream) and at the
// client (one per database opened).
//
// Send hands the message to the connection (which queues it, never waits on
// the peer). Incoming messages are given to Deliver by whoever reads the
// connection (the relay's session, the client's mux) and reach the attached
// handler as tasks posted to its executor, in order; those arriving before
// Attach wait for it. Close (by the engine) marks the link closed and calls
// `on_close` once, so the owner tells the peer (a control `close`) and
// forgets the stream; PeerClosed (the peer closed the stream, or the
// connection ended) marks it closed and tells the handler OnClosed. After
// either, nothing more is posted: an owner that closes every link before
// stopping an executor never has a task posted to a stopped executor.
//
// Always made with std::make_shared (posted tasks hold it weakly).
//
// Thread safety: every method may be called from any thread. The handler is
// called on its executor only, never with the link's lock held.
#ifndef BLAZE_NET_STREAM_LINK_H_
#define BLAZE_NET_STREAM_LINK_H_

#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "net/connection.h"
#include "sync/link.h"

namespace blaze::net {

class StreamLink final : public sync::Link, public std::enable_shared_from_this<StreamLink> {
 public:
  using OnClose = std::function<void(uint16_t stream, const Status& why)>;
  // `max_backlog_bytes` (0: no bound): received messages waiting for the
  // engine, in bytes, at most; a peer that sends faster than its engine
  // applies past it has the stream closed (kBusy, through on_close).
  StreamLink(std::shared_ptr<Connection> connection, uint16_t stream, OnClose on_close,
             size_t max_backlog_bytes = 0);

  Status Send(std::string message) override;
  void Close(const Status& why) override;
  void Attach(std::shared_ptr<sync::LinkHandler> handler, sync::Executor* executor) override;

  // From the connection's reader: one message of this stream.
  void Deliver(std::string message);
  // The peer closed the stream, or the connection is gone: the handler hears
  // OnClosed(why); on_close is not called.
  void PeerClosed(const Status& why);

  uint16_t stream() const { return stream_; }
  bool closed() const;

 private:
  // Posts a delivery task if one is needed and none is pending (mu_ held).
  void ScheduleLocked();
  void RunDelivery();

  const uint16_t stream_;
  const size_t max_backlog_bytes_;
  OnClose on_close_;

  mutable std::mutex mu_;
  std::shared_ptr<Connection> connection_;  // dropped on close
  std::weak_ptr<sync::LinkHandler> handler_;
  sync::Executor* executor_ = nullptr;
  std::deque<std::string> inbox_;
  size_t inbox_bytes_ = 0;
  bool scheduled_ = false;
  bool closed_ = false;
  bool notify_closed_ = false;  // the handler is still to hear OnClosed
  Status why_;
};

}  // namespace blaze::net

#endif  // BLAZE_NET_STREAM_LINK_H_
