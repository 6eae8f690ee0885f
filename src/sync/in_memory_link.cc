// in_memory_link.cc — a pair of Links joined in memory.
//
// Each end keeps an inbox; Send on one end appends to the other's inbox and
// dispatches a delivery task to that end's executor — run at once on the
// sending thread when that executor is idle (no thread hop), else queued;
// one delivery is pending per end at most, and it takes the whole inbox.
// The shared state is guarded by one mutex; handlers and executors are
// called without it held.
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
  bool scheduled = false;  // a delivery task is queued or about to be
};

struct Shared : std::enable_shared_from_this<Shared> {
  std::mutex mu;
  End ends[2];
  bool closed = false;
  Status close_reason;

  // Claims the delivery of what is queued for `side` (caller holds mu):
  // the executor to hand it to, or null when there is none yet (Attach
  // schedules) or a delivery is already pending (it takes the whole inbox).
  Executor* Claim(int side) {
    End& e = ends[side];
    if (e.executor == nullptr || e.scheduled) return nullptr;
    e.scheduled = true;
    return e.executor;
  }

  // Hands a claimed delivery to the executor (caller does not hold mu: an
  // inline delivery runs the handler, which may send on this link).
  void Schedule(Executor* executor, int side, bool inline_ok) {
    if (executor == nullptr) return;
    std::weak_ptr<Shared> weak = weak_from_this();
    auto task = [weak, side] {
      if (auto self = weak.lock()) self->Deliver(side);
    };
    if (inline_ok) {
      executor->Dispatch(std::move(task));
    } else {
      executor->Post(std::move(task));
    }
  }

  void Deliver(int side) {
    std::deque<std::string> batch;
    std::shared_ptr<LinkHandler> handler;
    bool notify_close = false;
    Status why;
    {
      std::lock_guard<std::mutex> lock(mu);
      End& e = ends[side];
      e.scheduled = false;
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
      Executor* again = nullptr;
      {
        std::lock_guard<std::mutex> lock(mu);
        if (ends[side].close_pending || !ends[side].inbox.empty()) again = Claim(side);
      }
      Schedule(again, side, /*inline_ok=*/false);
    }
    if (notify_close) handler->OnClosed(why);
  }
};

Status InMemoryLink::Send(std::string message) {
  const int other = 1 - side_;
  Executor* executor;
  {
    std::lock_guard<std::mutex> lock(shared_->mu);
    if (shared_->closed) return Status::FailedPrecondition("link is closed: " + shared_->close_reason.ToString());
    shared_->ends[other].inbox.push_back(std::move(message));
    executor = shared_->Claim(other);
  }
  shared_->Schedule(executor, other, /*inline_ok=*/true);
  return Status::Ok();
}

void InMemoryLink::Close(const Status& why) {
  const int other = 1 - side_;
  Executor* executor;
  {
    std::lock_guard<std::mutex> lock(shared_->mu);
    if (shared_->closed) return;
    shared_->closed = true;
    shared_->close_reason = why;
    shared_->ends[other].close_pending = true;
    executor = shared_->Claim(other);
  }
  // Posted: Close runs from destructors, where running a handler inline
  // would be a surprise.
  shared_->Schedule(executor, other, /*inline_ok=*/false);
}

void InMemoryLink::Attach(std::shared_ptr<LinkHandler> handler, Executor* executor) {
  Executor* deliver = nullptr;
  {
    std::lock_guard<std::mutex> lock(shared_->mu);
    End& e = shared_->ends[side_];
    e.handler = handler;
    e.executor = executor;
    e.scheduled = false;  // a delivery claimed for an earlier executor finds the new handler, or nothing
    if (!e.inbox.empty() || e.close_pending) deliver = shared_->Claim(side_);
  }
  shared_->Schedule(deliver, side_, /*inline_ok=*/false);
}

}  // namespace

std::pair<std::shared_ptr<Link>, std::shared_ptr<Link>> MakeInMemoryLinkPair() {
  auto shared = std::make_shared<Shared>();
  return {std::make_shared<InMemoryLink>(shared, 0), std::make_shared<InMemoryLink>(shared, 1)};
}

}  // namespace blaze::sync
