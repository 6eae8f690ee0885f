// sim_network.h — a seeded, single-threaded network for sync tests: every
// message sent on any SimLink waits in one pool until the test delivers it,
// in any order, or drops or duplicates it.
#ifndef BLAZE_TESTS_SUPPORT_SIM_NETWORK_H_
#define BLAZE_TESTS_SUPPORT_SIM_NETWORK_H_

#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "sync/link.h"

namespace blaze::testing {

class SimNetwork {
 public:
  struct Packet {
    std::weak_ptr<sync::LinkHandler> to;
    std::string bytes;
    std::shared_ptr<bool> open;  // the link's liveness
  };

  class SimLink final : public sync::Link {
   public:
    SimLink(SimNetwork* net, std::shared_ptr<bool> open) : net_(net), open_(std::move(open)) {}
    Status Send(std::string message) override {
      if (!*open_) return Status::FailedPrecondition("sim link closed");
      auto peer = peer_.lock();
      if (!peer) return Status::FailedPrecondition("sim link has no other end");
      net_->pool_.push_back(Packet{peer->handler_, std::move(message), open_});
      return Status::Ok();
    }
    void Close(const Status&) override { *open_ = false; }
    void Attach(std::shared_ptr<sync::LinkHandler> handler, sync::Executor*) override { handler_ = handler; }
    std::weak_ptr<SimLink> peer_;
    std::weak_ptr<sync::LinkHandler> handler_;

   private:
    SimNetwork* net_;
    std::shared_ptr<bool> open_;
  };

  std::pair<std::shared_ptr<sync::Link>, std::shared_ptr<sync::Link>> Connect() {
    auto open = std::make_shared<bool>(true);
    auto a = std::make_shared<SimLink>(this, open);
    auto b = std::make_shared<SimLink>(this, open);
    a->peer_ = b;
    b->peer_ = a;
    links_.push_back(a);
    links_.push_back(b);
    return {a, b};
  }

  bool empty() const { return pool_.empty(); }
  size_t size() const { return pool_.size(); }

  // Delivers (or drops / duplicates) one random packet.
  void Step(std::mt19937_64& rng, double drop, double dup) {
    if (pool_.empty()) return;
    size_t i = rng() % pool_.size();
    Packet p = pool_[i];
    bool keep = std::uniform_real_distribution<>(0, 1)(rng) < dup;
    if (!keep) {
      pool_[i] = std::move(pool_.back());
      pool_.pop_back();
    }
    if (std::uniform_real_distribution<>(0, 1)(rng) < drop) return;
    Deliver(p);
  }

  // Delivers everything, in random order, losslessly.
  void Drain(std::mt19937_64& rng) {
    while (!pool_.empty()) Step(rng, 0, 0);
  }

 private:
  void Deliver(const Packet& p) {
    if (!*p.open) return;
    if (auto h = p.to.lock()) h->OnMessage(p.bytes);
  }
  std::vector<Packet> pool_;
  std::vector<std::shared_ptr<SimLink>> links_;
};

}  // namespace blaze::testing

#endif  // BLAZE_TESTS_SUPPORT_SIM_NETWORK_H_
