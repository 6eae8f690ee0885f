// in_memory_link.cc — a pair of Links joined in memory.
//
// Each end keeps an inbox; Send on one end appends to the other's inbox and
// posts a delivery task to that end's executor. The shared state is guarded
// by one mutex; handlers are called without it held.
#include <deque>
#include <mutex>

#include "sync/link.h"

namespace blaze::sync {
namespace {

struct Shared;

class InMemoryLink final : public Link {
 public:
  InMemoryLink(std::shared_ptr<Shared> shared, int side) : shared_(std::move(shared)), side_(side) {}
  ~InMemoryLink() override { Close(Status::Aborted("link end destroyed")); }
  Status Send(std::string message) override;
  void Close(const Status& why) override;
  void Attach(std::shared_ptr<LinkHandler> handler, Executor* executor) override;

 private:
  std::shared_ptr<Shared> shared_;
  int side_;
};

struct End {
  std::weak_ptr<LinkHandler> handler;
  Executor* executor = nullptr;
  std::deque<std::string> inbox;
  bool close_pending = false;
};

struct Shared : std::enable_shared_from_this<Shared> {
  std::mutex mu;
  End ends[2];
  bool closed = false;
  Status close_reason;

  // Posts delivery of everything queued for `side` (caller holds mu).
  void Schedule(int side) {
    End& e = ends[side];
    if (e.executor == nullptr) return;
    std::weak_ptr<Shared> weak = weak_from_this();
    e.executor->Post([weak, side] {
      auto self = weak.lock();
      if (self) self->Deliver(side);
    });
  }

  void Deliver(int side) {
    std::deque<std::string> batch;
    std::shared_ptr<LinkHandler> handler;
    bool notify_close = false;
    Status why;
    {
      std::lock_guard<std::mutex> lock(mu);
      End& e = ends[side];
      handler = e.handler.lock();
      if (!handler) return;
      batch.swap(e.inbox);
      if (e.close_pending && batch.empty()) {
        e.close_pending = false;
        notify_close = true;
        why = close_reason;
      }
    }
    for (auto& m : batch) handler->OnMessage(std::move(m));
    if (!batch.empty()) {
      std::lock_guard<std::mutex> lock(mu);
      if (ends[side].close_pending) Schedule(side);
    }
    if (notify_close) handler->OnClosed(why);
  }
};

Status InMemoryLink::Send(std::string message) {
  std::lock_guard<std::mutex> lock(shared_->mu);
  if (shared_->closed) return Status::FailedPrecondition("link is closed: " + shared_->close_reason.ToString());
  int other = 1 - side_;
  shared_->ends[other].inbox.push_back(std::move(message));
  shared_->Schedule(other);
  return Status::Ok();
}

void InMemoryLink::Close(const Status& why) {
  std::lock_guard<std::mutex> lock(shared_->mu);
  if (shared_->closed) return;
  shared_->closed = true;
  shared_->close_reason = why;
  int other = 1 - side_;
  shared_->ends[other].close_pending = true;
  shared_->Schedule(other);
}

void InMemoryLink::Attach(std::shared_ptr<LinkHandler> handler, Executor* executor) {
  std::lock_guard<std::mutex> lock(shared_->mu);
  End& e = shared_->ends[side_];
  e.handler = handler;
  e.executor = executor;
  if (!e.inbox.empty() || e.close_pending) shared_->Schedule(side_);
}

}  // namespace

std::pair<std::shared_ptr<Link>, std::shared_ptr<Link>> MakeInMemoryLinkPair() {
  auto shared = std::make_shared<Shared>();
  return {std::make_shared<InMemoryLink>(shared, 0), std::make_shared<InMemoryLink>(shared, 1)};
}

}  // namespace blaze::sync
