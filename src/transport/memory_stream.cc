// memory_stream.cc — MakeMemoryStreamPair() of blaze/byte_stream.h: two ends
// sharing two byte queues (one per direction), each guarded by a mutex and a
// condition variable. Bounded only by what the writer writes; meant for tests
// and in-process links.
#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>

#include "blaze/byte_stream.h"

namespace blaze {
namespace {

struct Pipe {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<char> bytes;  // guarded by mu
  bool closed = false;     // guarded by mu: no more bytes will come
};

class MemoryStream final : public ByteStream {
 public:
  MemoryStream(std::shared_ptr<Pipe> in, std::shared_ptr<Pipe> out) : in_(std::move(in)), out_(std::move(out)) {}
  ~MemoryStream() override { Close(); }

  Status Write(std::string_view bytes) override {
    std::lock_guard<std::mutex> lock(out_->mu);
    if (out_->closed) return Status::IOError("write on a closed in-memory stream");
    out_->bytes.insert(out_->bytes.end(), bytes.begin(), bytes.end());
    out_->cv.notify_all();
    return Status::Ok();
  }

  Result<size_t> Read(char* out, size_t max, std::chrono::milliseconds timeout) override {
    std::unique_lock<std::mutex> lock(in_->mu);
    if (!in_->cv.wait_for(lock, timeout, [&] { return !in_->bytes.empty() || in_->closed; })) {
      return Status::IOError("read on an in-memory stream timed out after " + std::to_string(timeout.count()) + " ms");
    }
    size_t n = std::min(max, in_->bytes.size());
    std::copy_n(in_->bytes.begin(), n, out);
    in_->bytes.erase(in_->bytes.begin(), in_->bytes.begin() + static_cast<std::ptrdiff_t>(n));
    return n;  // 0 only when closed and drained
  }

  void Close() override {
    for (Pipe* p : {in_.get(), out_.get()}) {
      std::lock_guard<std::mutex> lock(p->mu);
      p->closed = true;
      p->cv.notify_all();
    }
  }

 private:
  std::shared_ptr<Pipe> in_;
  std::shared_ptr<Pipe> out_;
};

}  // namespace

std::pair<std::unique_ptr<ByteStream>, std::unique_ptr<ByteStream>> MakeMemoryStreamPair() {
  auto a_to_b = std::make_shared<Pipe>();
  auto b_to_a = std::make_shared<Pipe>();
  return {std::make_unique<MemoryStream>(b_to_a, a_to_b), std::make_unique<MemoryStream>(a_to_b, b_to_a)};
}

}  // namespace blaze
