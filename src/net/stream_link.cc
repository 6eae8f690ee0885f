// stream_link.cc — a sync::Link over one stream of a Connection.
#include "net/stream_link.h"

namespace blaze::net {

StreamLink::StreamLink(std::shared_ptr<Connection> connection, uint16_t stream, OnClose on_close,
                       size_t max_backlog_bytes)
    : stream_(stream), max_backlog_bytes_(max_backlog_bytes), on_close_(std::move(on_close)),
      connection_(std::move(connection)) {}

Status StreamLink::Send(std::string message) {
  std::shared_ptr<Connection> c;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (closed_) return Status::FailedPrecondition("stream " + std::to_string(stream_) + " is closed: " + why_.ToString());
    c = connection_;
  }
  return c->Send(stream_, std::move(message));
}

void StreamLink::Close(const Status& why) {
  OnClose on_close;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (closed_) return;
    closed_ = true;
    why_ = why;
    inbox_.clear();
    inbox_bytes_ = 0;
    connection_.reset();
    on_close = std::move(on_close_);
  }
  if (on_close) on_close(stream_, why);
}

void StreamLink::PeerClosed(const Status& why) {
  std::lock_guard<std::mutex> l(mu_);
  if (closed_) return;
  closed_ = true;
  why_ = why;
  connection_.reset();
  on_close_ = nullptr;
  notify_closed_ = true;
  ScheduleLocked();
}

bool StreamLink::closed() const {
  std::lock_guard<std::mutex> l(mu_);
  return closed_;
}

void StreamLink::Attach(std::shared_ptr<sync::LinkHandler> handler, sync::Executor* executor) {
  std::lock_guard<std::mutex> l(mu_);
  handler_ = handler;
  executor_ = executor;
  scheduled_ = false;  // a delivery claimed for an earlier executor finds the new handler
  ScheduleLocked();
}

void StreamLink::Deliver(std::string message) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (closed_) return;  // in flight when the stream closed: dropped
    if (max_backlog_bytes_ == 0 || inbox_bytes_ + message.size() <= max_backlog_bytes_) {
      inbox_bytes_ += message.size();
      inbox_.push_back(std::move(message));
      ScheduleLocked();
      return;
    }
  }
  Close(Status::Busy("stream " + std::to_string(stream_) + ": more than " + std::to_string(max_backlog_bytes_) +
                     " bytes of messages waiting to be applied (the peer sends faster than they apply)"));
}

void StreamLink::ScheduleLocked() {
  if (executor_ == nullptr || scheduled_) return;
  if (inbox_.empty() && !notify_closed_) return;
  // Once closed, only the OnClosed notice is still posted (then nothing).
  scheduled_ = true;
  std::weak_ptr<StreamLink> weak = weak_from_this();
  executor_->Post([weak] {
    if (auto self = weak.lock()) self->RunDelivery();
  });
}

void StreamLink::RunDelivery() {
  std::deque<std::string> batch;
  std::shared_ptr<sync::LinkHandler> handler;
  bool notify = false;
  Status why;
  {
    std::lock_guard<std::mutex> l(mu_);
    scheduled_ = false;
    handler = handler_.lock();
    if (!handler) return;
    batch.swap(inbox_);
    inbox_bytes_ = 0;
    if (notify_closed_ && batch.empty()) {
      notify_closed_ = false;
      notify = true;
      why = why_;
    }
  }
  for (auto& m : batch) handler->OnMessage(std::move(m));
  if (!batch.empty()) {
    std::lock_guard<std::mutex> l(mu_);
    ScheduleLocked();
  }
  if (notify) handler->OnClosed(why);
}

}  // namespace blaze::net
