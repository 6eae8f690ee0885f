// websocket_io.cc — the only file that includes Boost.Beast: WsServer and
// ConnectPipe of websocket_io.h, and the WebSocket connection behind every
// MessagePipe.
//
// Each connection lives on its own strand of an io_context. A server
// connection starts as plain TCP under a deadline timer: it reads one HTTP
// request, answers GETs through the HttpHandler (then closes), upgrades on
// the sync path (or answers 503 + Retry-After when full, 404 elsewhere), and
// after the upgrade becomes a MessagePipe handed to the UpgradeHandler. The
// deadline keeps running until the layer above calls DisarmDeadline. Reads
// deliver one binary message at a time (at most one frame, read_message_max);
// writes drain a queue whose byte count is bounded. The same timer later
// serves ArmDeadline (a message left unfinished) and the limit of a
// close-after-flush, which ends with FIN and reads until the peer closes
// (so the last frames are not lost to a reset). Close is abrupt.
//
// Lifetime: every pending handler holds the connection (shared_ptr); the
// connection holds the io_context (shared_ptr) so its socket and timer never
// outlive it. Teardown (closed_ on the strand) happens once and drops the
// events.
#include "net/websocket_io.h"

#include <fcntl.h>

#include <atomic>
#include <cstdlib>
#include <deque>
#include <future>
#include <list>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/connect.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

namespace blaze::net {
namespace {

// Marks a descriptor close-on-exec, as src/transport does for its sockets:
// a process the embedding app starts must not hold our connections open (nor
// read or write on them). Asio opens and accepts without SOCK_CLOEXEC.
void SetCloseOnExec(int fd) {
  int flags = fcntl(fd, F_GETFD);
  if (flags >= 0) fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

constexpr size_t kMaxRequestHeader = 8192;
constexpr size_t kMaxRequestBody = 4096;
constexpr size_t kKeptReadBuffer = 4096;

struct ParsedUrl {
  std::string host;
  std::string port;
  std::string path;
};

Result<ParsedUrl> ParseUrl(const std::string& url) {
  std::string_view rest = url;
  if (rest.substr(0, 6) == "wss://") {
    return Status::NotSupported("wss:// (WebSocket over TLS) is not supported: '" + url + "'; use ws://");
  }
  if (rest.substr(0, 5) != "ws://") {
    return Status::InvalidArgument("WebSocket URL must start with ws://, got '" + url + "'");
  }
  rest.remove_prefix(5);
  ParsedUrl out;
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  out.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return Status::InvalidArgument("unclosed '[' in WebSocket URL '" + url + "'");
    out.host = std::string(authority.substr(1, close - 1));
    authority.remove_prefix(close + 1);
    if (!authority.empty() && authority.front() != ':') {
      return Status::InvalidArgument("expected ':PORT' after ']' in WebSocket URL '" + url + "'");
    }
    out.port = authority.empty() ? "80" : std::string(authority.substr(1));
  } else {
    size_t colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    out.port = colon == std::string_view::npos ? "80" : std::string(authority.substr(colon + 1));
  }
  if (out.host.empty() || out.port.empty() || out.port.find_first_not_of("0123456789") != std::string::npos) {
    return Status::InvalidArgument("WebSocket URL must be ws://HOST:PORT/PATH, got '" + url + "'");
  }
  return out;
}

std::string Endpoint(const tcp::socket& s) {
  error_code ec;
  tcp::endpoint ep = s.remote_endpoint(ec);
  if (ec) return "?";
  return (ep.address().is_v6() ? "[" + ep.address().to_string() + "]" : ep.address().to_string()) + ":" +
         std::to_string(ep.port());
}

}  // namespace

// Connection counters and the hand-off, shared by the server and its connections.
struct ServerShared {
  ServerOptions options;
  HttpHandler http;
  UpgradeHandler upgrade;
  std::atomic<size_t> connections{0};
  std::atomic<size_t> pending{0};
  std::atomic<bool> stopping{false};
};

class WsConnection final : public MessagePipe, public std::enable_shared_from_this<WsConnection> {
 public:
  WsConnection(std::shared_ptr<asio::io_context> ioc, tcp::socket socket, size_t max_send_queue,
               std::shared_ptr<ServerShared> server)
      : ioc_(std::move(ioc)),
        ws_(std::move(socket)),
        timer_(ws_.get_executor()),
        max_send_queue_(max_send_queue),
        server_(std::move(server)),
        remote_(Endpoint(ws_.next_layer())) {
    if (server_) {
      ++server_->pending;
      pending_counted_ = true;
    }
  }

  ~WsConnection() override { ReleaseSlots(); }

  template <typename F>
  void RunOnStrand(F f) {
    asio::dispatch(ws_.get_executor(), std::move(f));
  }

  // ---- server side ----

  void ServerStart() {
    ArmHere(server_->options.handshake_deadline, "the connection did not finish its handshake within " +
                                                         std::to_string(server_->options.handshake_deadline.count()) +
                                                         " ms");
    parser_.emplace();
    parser_->header_limit(kMaxRequestHeader);
    parser_->body_limit(kMaxRequestBody);
    http::async_read(ws_.next_layer(), buffer_, *parser_,
                     [self = shared_from_this()](error_code ec, size_t) { self->OnRequest(ec); });
  }

  // ---- client side ----

  void ClientStart(ParsedUrl url, std::chrono::milliseconds timeout, WebSocketRefusal* refusal,
                   std::promise<Status>* done) {
    done_ = done;
    refusal_ = refusal;
    url_ = std::move(url);
    ArmHere(timeout, "could not connect to ws://" + url_.host + ":" + url_.port + url_.path + " within " +
                             std::to_string(timeout.count()) + " ms");
    resolver_.emplace(ws_.get_executor());
    resolver_->async_resolve(url_.host, url_.port,
                             [self = shared_from_this()](error_code ec, tcp::resolver::results_type r) {
                               if (ec) return self->ClientDone(Status::IOError("cannot resolve '" + self->url_.host +
                                                                               "': " + ec.message()));
                               asio::async_connect(self->ws_.next_layer(), r,
                                                   [self](error_code ec, const tcp::endpoint&) {
                                                     self->OnConnected(ec);
                                                   });
                             });
  }

  // ---- MessagePipe ----

  void Start(std::shared_ptr<PipeEvents> events) override {
    asio::dispatch(ws_.get_executor(), [self = shared_from_this(), events = std::move(events)]() mutable {
      if (self->closed_) {
        events->OnClosed(self->close_status_);
        return;
      }
      self->events_ = std::move(events);
      self->DoRead();
    });
  }

  Status Send(std::string frame) override {
    if (closing_.load()) return Status::FailedPrecondition("send on a closed WebSocket connection to " + remote_);
    if (frame.size() > kMaxFrameMessage) {
      return Status::InvalidArgument("WebSocket message of " + std::to_string(frame.size()) +
                                     " bytes; one frame is at most " + std::to_string(kMaxFrameMessage));
    }
    const uint64_t queued = queued_.fetch_add(frame.size()) + frame.size();
    if (max_send_queue_ > 0 && queued > max_send_queue_) {
      Status s = Status::Busy("the send queue to " + remote_ + " exceeded its bound of " +
                              std::to_string(max_send_queue_) + " bytes (the peer is not reading): disconnected");
      Close(s);
      return s;
    }
    asio::post(ws_.get_executor(), [self = shared_from_this(), f = std::move(frame)]() mutable {
      if (self->closed_) return;
      self->queue_.push_back(std::move(f));
      self->DoWrite();
    });
    return Status::Ok();
  }

  void PauseReading(bool paused) override {
    asio::post(ws_.get_executor(), [self = shared_from_this(), paused] {
      self->paused_ = paused;
      if (!paused) self->DoRead();
    });
  }

  void DisarmDeadline() override {
    asio::post(ws_.get_executor(), [self = shared_from_this()] {
      if (self->flush_then_close_) return;  // the flush's limit stays
      self->deadline_armed_ = false;
      self->timer_.cancel();
    });
  }

  void ArmDeadline(std::chrono::milliseconds after, std::string reason) override {
    asio::post(ws_.get_executor(), [self = shared_from_this(), after, reason = std::move(reason)]() mutable {
      if (!self->closed_ && !self->flush_then_close_) self->Arm(after, Status::Aborted(std::move(reason)));
    });
  }

  void Close(Status why) override {
    closing_ = true;
    asio::post(ws_.get_executor(), [self = shared_from_this(), why = std::move(why)] { self->Teardown(why); });
  }

  void CloseAfterFlush(Status why, std::chrono::milliseconds limit) override {
    closing_ = true;
    asio::post(ws_.get_executor(), [self = shared_from_this(), why = std::move(why), limit] {
      if (self->closed_ || self->flush_then_close_) return;
      self->flush_then_close_ = true;
      self->close_status_ = why;
      self->ArmHere(limit, "");
      if (self->queue_.empty()) self->StartDrain();
    });
  }

  uint64_t queued_bytes() const override { return queued_.load(); }
  const std::string& remote_address() const override { return remote_; }

 private:
  // Closes the connection when `after` runs out, unless disarmed. An empty
  // `reason` keeps close_status_ (a flush that ran out of time).
  void ArmHere(std::chrono::milliseconds after, const std::string& reason) {
    Arm(after, reason.empty() ? Status() : Status::IOError(reason));
  }

  // `why` ok: close with close_status_.
  void Arm(std::chrono::milliseconds after, Status why) {
    deadline_armed_ = true;
    const uint64_t generation = ++deadline_generation_;
    timer_.expires_after(after);
    timer_.async_wait([self = shared_from_this(), why = std::move(why), generation](error_code ec) {
      if (ec || !self->deadline_armed_ || generation != self->deadline_generation_) return;
      self->Teardown(why.ok() ? self->close_status_ : why);
    });
  }

  void OnRequest(error_code ec) {
    if (closed_) return;
    if (ec) {
      if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::operation_aborted) {
        return Teardown(Status::Aborted("the client closed before sending a request"));
      }
      // Garbage, an oversize header or body: say so, then close.
      return Respond(400, "bad HTTP request: " + ec.message() + "\n", {},
                     Status::InvalidArgument("bad HTTP request from " + remote_ + ": " + ec.message()));
    }
    http::request<http::string_body>& req = parser_->get();
    std::string_view target(req.target().data(), req.target().size());
    std::string_view path = target.substr(0, target.find('?'));
    const ServerOptions& o = server_->options;
    if (websocket::is_upgrade(req)) {
      if (path != o.sync_path) {
        return Respond(404, "no WebSocket endpoint at " + std::string(path) + "; it is " + o.sync_path + "\n", {},
                       Status::NotFound("upgrade on unknown path " + std::string(path)));
      }
      if (server_->stopping) {
        return Respond(503, "the server is shutting down\n", o.retry_after,
                       Status::Busy("upgrade refused: shutting down"));
      }
      // Claim a slot; over the limit give it back and refuse.
      if (server_->connections.fetch_add(1) >= o.max_connections) {
        --server_->connections;
        return Respond(503, "too many connections (" + std::to_string(o.max_connections) + "); retry later\n",
                       o.retry_after, Status::Busy("upgrade refused: connection limit reached"));
      }
      counted_ = true;
      ws_.set_option(websocket::stream_base::timeout{std::chrono::seconds(5), websocket::stream_base::none(), false});
      ws_.set_option(websocket::stream_base::decorator(
          [](websocket::response_type& res) { res.set(http::field::server, "blazedb"); }));
      ConfigureMessages();
      upgrade_request_ = parser_->release();
      parser_.reset();
      ws_.async_accept(upgrade_request_, [self = shared_from_this()](error_code ec) {
        // An idle connection keeps no HTTP leftovers.
        self->upgrade_request_ = {};
        self->buffer_ = beast::flat_buffer();
        if (self->closed_) return;
        if (ec) return self->Teardown(Status::IOError("WebSocket upgrade from " + self->remote_ + " failed: " + ec.message()));
        self->pending_counted_ = false;
        --self->server_->pending;
        self->server_->upgrade(self->shared_from_this());
      });
      return;
    }
    if (req.method() == http::verb::get && path != o.sync_path && server_->http) {
      if (std::optional<HttpResponse> r = server_->http(target)) {
        return Respond(r->status, std::move(r->body), {}, Status::Ok(), r->content_type);
      }
    }
    if (path == o.sync_path) {
      return Respond(426, o.sync_path + " is a WebSocket endpoint: send an Upgrade request\n", {},
                     Status::InvalidArgument("plain HTTP request on the sync path"));
    }
    Respond(404, "not found\n", {}, Status::NotFound("no handler for " + std::string(target)));
  }

  // Writes one HTTP response, then closes with `after`.
  void Respond(int status, std::string body, std::optional<std::chrono::seconds> retry_after, Status after,
               std::string content_type = "text/plain; charset=utf-8") {
    auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(status), 11);
    res->set(http::field::server, "blazedb");
    res->set(http::field::content_type, content_type);
    if (retry_after) res->set(http::field::retry_after, std::to_string(retry_after->count()));
    res->keep_alive(false);
    res->body() = std::move(body);
    res->prepare_payload();
    http::async_write(ws_.next_layer(), *res, [self = shared_from_this(), res, after](error_code, size_t) {
      error_code ignored;
      self->ws_.next_layer().shutdown(tcp::socket::shutdown_send, ignored);
      self->Teardown(after);
    });
  }

  // Gives back this connection's places in the server's counts. Idempotent.
  void ReleaseSlots() {
    if (pending_counted_) --server_->pending;
    if (counted_) --server_->connections;
    pending_counted_ = counted_ = false;
  }

  void ConfigureMessages() {
    ws_.binary(true);
    ws_.auto_fragment(false);
    ws_.read_message_max(kMaxFrameMessage);
  }

  void OnConnected(error_code ec) {
    if (closed_) return;
    if (ec) return ClientDone(Status::IOError("cannot connect to " + url_.host + ":" + url_.port + ": " + ec.message()));
    SetCloseOnExec(ws_.next_layer().native_handle());
    remote_ = Endpoint(ws_.next_layer());
    error_code ignored;
    ws_.next_layer().set_option(tcp::no_delay(true), ignored);
    ws_.set_option(websocket::stream_base::timeout{std::chrono::seconds(30), websocket::stream_base::none(), false});
    ConfigureMessages();
    ws_.async_handshake(client_response_, url_.host + ":" + url_.port, url_.path,
                        [self = shared_from_this()](error_code ec) {
                          if (self->closed_) return;
                          if (!ec) return self->ClientDone(Status::Ok());
                          const int status = static_cast<int>(self->client_response_.result_int());
                          if (ec != websocket::error::upgrade_declined || status == 0) {
                            return self->ClientDone(Status::IOError("WebSocket upgrade at ws://" + self->url_.host +
                                                                    ":" + self->url_.port + self->url_.path +
                                                                    " failed: " + ec.message()));
                          }
                          int retry = 0;
                          auto it = self->client_response_.find(http::field::retry_after);
                          if (it != self->client_response_.end()) retry = std::atoi(std::string(it->value()).c_str());
                          if (self->refusal_) *self->refusal_ = WebSocketRefusal{status, std::chrono::seconds(retry)};
                          std::string what = "the server at ws://" + self->url_.host + ":" + self->url_.port +
                                             self->url_.path + " refused the WebSocket upgrade: HTTP " +
                                             std::to_string(status) +
                                             (retry > 0 ? " (Retry-After: " + std::to_string(retry) + " s)" : "");
                          if (status == 503) return self->ClientDone(Status::Busy(what));
                          if (status == 404) return self->ClientDone(Status::NotFound(what));
                          self->ClientDone(Status::IOError(what));
                        });
  }

  void ClientDone(Status s) {
    if (done_ == nullptr) return;
    std::promise<Status>* done = done_;
    done_ = nullptr;
    if (s.ok()) {
      deadline_armed_ = false;
      timer_.cancel();
    } else {
      Teardown(s);
    }
    done->set_value(std::move(s));
  }

  // The last frame is written: send FIN, then read and drop until the peer
  // closes too (or the flush limit). Closing with the peer's data unread
  // would send a reset, which can destroy what was just sent (the error
  // frame) before the peer reads it.
  void StartDrain() {
    if (closed_ || draining_) return;
    draining_ = true;
    error_code ignored;
    ws_.next_layer().shutdown(tcp::socket::shutdown_send, ignored);
    DoRead();
  }

  void DoRead() {
    if (closed_ || reading_) return;
    if (!draining_ && (paused_ || events_ == nullptr)) return;
    reading_ = true;
    ws_.async_read(read_buffer_, [self = shared_from_this()](error_code ec, size_t n) { self->OnRead(ec, n); });
  }

  void OnRead(error_code ec, size_t n) {
    reading_ = false;
    if (closed_) return;
    if (draining_) {
      if (ec) return Teardown(close_status_);  // the peer closed too (or broke off)
      read_buffer_.consume(n);
      return DoRead();  // dropped: the session hears nothing after Close
    }
    if (ec) {
      if (ec == websocket::error::message_too_big) {
        return Teardown(Status::Corruption("protocol error: WebSocket message from " + remote_ +
                                           " is larger than one frame (at most " + std::to_string(kMaxFrameMessage) +
                                           " bytes)"));
      }
      if (ec == websocket::error::closed || ec == asio::error::eof || ec == asio::error::connection_reset ||
          ec == asio::error::operation_aborted) {
        return Teardown(Status::Aborted("the peer " + remote_ + " closed the WebSocket connection"));
      }
      return Teardown(Status::IOError("WebSocket read from " + remote_ + " failed: " + ec.message()));
    }
    if (!ws_.got_binary()) {
      return Teardown(Status::Corruption("protocol error: text WebSocket message from " + remote_ +
                                         "; every message must be binary (one frame)"));
    }
    std::string msg = beast::buffers_to_string(read_buffer_.data());
    read_buffer_.consume(n);
    // An idle connection should not keep a 64 KiB buffer from its last big message.
    if (read_buffer_.capacity() > kKeptReadBuffer) read_buffer_.shrink_to_fit();
    if (msg.size() < 7 || msg.size() != 7 + ((static_cast<size_t>(static_cast<uint8_t>(msg[5])) << 8) |
                                             static_cast<uint8_t>(msg[6]))) {
      return Teardown(Status::Corruption(
          "protocol error: a WebSocket message of " + std::to_string(msg.size()) + " bytes from " + remote_ +
          " is not exactly one frame" +
          (msg.size() >= 7 ? " (its header says 7 + " +
                                 std::to_string((static_cast<size_t>(static_cast<uint8_t>(msg[5])) << 8) |
                                                static_cast<uint8_t>(msg[6])) +
                                 ")"
                           : " (shorter than the 7-byte header)")));
    }
    events_->OnMessage(std::move(msg));
    DoRead();
  }

  void DoWrite() {
    if (closed_ || writing_ || queue_.empty()) return;
    writing_ = true;
    ws_.async_write(asio::buffer(queue_.front()), [self = shared_from_this()](error_code ec, size_t) {
      self->writing_ = false;
      if (self->closed_) return;
      if (ec) return self->Teardown(Status::IOError("WebSocket write to " + self->remote_ + " failed: " + ec.message()));
      const size_t size = self->queue_.front().size();
      self->queue_.pop_front();
      self->queued_ -= size;
      self->flushed_ += size;
      if (self->events_) self->events_->OnFlushed(self->flushed_);
      if (self->queue_.empty() && self->flush_then_close_) return self->StartDrain();
      self->DoWrite();
    });
  }

  void Teardown(const Status& why) {
    if (closed_) return;
    closed_ = true;
    closing_ = true;
    close_status_ = why;
    deadline_armed_ = false;
    timer_.cancel();
    if (resolver_) resolver_->cancel();
    error_code ignored;
    ws_.next_layer().shutdown(tcp::socket::shutdown_both, ignored);
    ws_.next_layer().close(ignored);
    queue_.clear();
    queued_ = 0;
    ReleaseSlots();
    if (done_ != nullptr) ClientDone(why);
    if (std::shared_ptr<PipeEvents> events = std::move(events_)) events->OnClosed(why);
  }

  std::shared_ptr<asio::io_context> ioc_;  // first: outlives the socket and timer
  websocket::stream<tcp::socket> ws_;
  asio::steady_timer timer_;
  const size_t max_send_queue_;  // 0: unbounded
  std::shared_ptr<ServerShared> server_;  // null on the client side
  std::string remote_;

  // Strand only.
  beast::flat_buffer buffer_;  // HTTP request
  std::optional<http::request_parser<http::string_body>> parser_;
  http::request<http::string_body> upgrade_request_;
  beast::flat_buffer read_buffer_;
  std::deque<std::string> queue_;
  std::shared_ptr<PipeEvents> events_;
  Status close_status_;
  uint64_t flushed_ = 0;
  bool closed_ = false;
  bool reading_ = false;
  bool writing_ = false;
  bool paused_ = false;
  bool deadline_armed_ = false;
  uint64_t deadline_generation_ = 0;  // the armed deadline; older waits are stale
  bool flush_then_close_ = false;
  bool draining_ = false;  // flushed and FIN sent: reading only to let the peer close first
  bool pending_counted_ = false;  // counted in server_->pending
  bool counted_ = false;          // counted in server_->connections
  // Client connect.
  std::optional<tcp::resolver> resolver_;
  ParsedUrl url_;
  websocket::response_type client_response_;
  WebSocketRefusal* refusal_ = nullptr;
  std::promise<Status>* done_ = nullptr;

  std::atomic<bool> closing_{false};
  std::atomic<uint64_t> queued_{0};
};

// ---------------------------------------------------------------- server

class WsServer::Impl {
 public:
  Impl(std::shared_ptr<ServerShared> shared)
      : shared_(std::move(shared)),
        ioc_(std::make_shared<asio::io_context>(shared_->options.threads)),
        acceptor_(asio::make_strand(*ioc_)),
        work_(asio::make_work_guard(*ioc_)) {}

  Status Listen() {
    const ServerOptions& o = shared_->options;
    error_code ec;
    asio::ip::address address = asio::ip::make_address(o.host, ec);
    if (ec) return Status::InvalidArgument("cannot listen on '" + o.host + "': not an IP address (" + ec.message() + ")");
    tcp::endpoint ep(address, o.port);
    acceptor_.open(ep.protocol(), ec);
    if (!ec) SetCloseOnExec(acceptor_.native_handle());
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return Status::IOError("cannot listen on " + o.host + ":" + std::to_string(o.port) + ": " + ec.message());
    port_ = acceptor_.local_endpoint().port();
    DoAccept();
    for (int i = 0; i < std::max(1, o.threads); ++i) threads_.emplace_back([this] { ioc_->run(); });
    return Status::Ok();
  }

  void StopAccepting() {
    if (shared_->stopping.exchange(true)) return;
    asio::post(acceptor_.get_executor(), [this] {
      error_code ignored;
      acceptor_.close(ignored);
    });
  }

  void Stop() {
    std::call_once(stopped_, [this] {
      StopAccepting();
      std::vector<std::shared_ptr<WsConnection>> live;
      {
        std::lock_guard<std::mutex> lock(mu_);
        for (auto& w : connections_) {
          if (auto c = w.lock()) live.push_back(std::move(c));
        }
        connections_.clear();
      }
      for (auto& c : live) c->Close(Status::Aborted("the server is shutting down"));
      live.clear();
      work_.reset();
      for (std::thread& t : threads_) t.join();
      threads_.clear();
    });
  }

  uint16_t port() const { return port_; }
  const ServerOptions& options() const { return shared_->options; }
  const ServerShared& shared() const { return *shared_; }

 private:
  void DoAccept() {
    acceptor_.async_accept(asio::make_strand(*ioc_), [this](error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
      if (ec) {
        // Out of descriptors or the like: try again shortly rather than spin.
        retry_timer_ = std::make_unique<asio::steady_timer>(acceptor_.get_executor(), std::chrono::milliseconds(50));
        retry_timer_->async_wait([this](error_code ec) {
          if (!ec) DoAccept();
        });
        return;
      }
      if (shared_->stopping || shared_->pending.load() >= shared_->options.max_pending) {
        error_code ignored;
        socket.close(ignored);
      } else {
        SetCloseOnExec(socket.native_handle());
        error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        auto conn = std::make_shared<WsConnection>(ioc_, std::move(socket), shared_->options.max_send_queue, shared_);
        Register(conn);
        conn->RunOnStrand([conn] { conn->ServerStart(); });
      }
      DoAccept();
    });
  }

  void Register(const std::shared_ptr<WsConnection>& conn) {
    std::lock_guard<std::mutex> lock(mu_);
    // Drop the entries of connections gone since, now and then.
    if (++registrations_ % 1024 == 0) connections_.remove_if([](const auto& w) { return w.expired(); });
    connections_.push_back(conn);
  }

  std::shared_ptr<ServerShared> shared_;
  std::shared_ptr<asio::io_context> ioc_;
  tcp::acceptor acceptor_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::unique_ptr<asio::steady_timer> retry_timer_;
  std::vector<std::thread> threads_;
  uint16_t port_ = 0;
  std::once_flag stopped_;
  std::mutex mu_;
  std::list<std::weak_ptr<WsConnection>> connections_;
  uint64_t registrations_ = 0;
};

WsServer::WsServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WsServer::~WsServer() { Stop(); }

Result<std::unique_ptr<WsServer>> WsServer::Start(ServerOptions options, HttpHandler http, UpgradeHandler upgrade) {
  if (!upgrade) return Status::InvalidArgument("WsServer needs an upgrade handler");
  if (options.sync_path.empty() || options.sync_path.front() != '/') {
    return Status::InvalidArgument("the sync path must start with '/', got '" + options.sync_path + "'");
  }
  auto shared = std::make_shared<ServerShared>();
  shared->options = std::move(options);
  shared->http = std::move(http);
  shared->upgrade = std::move(upgrade);
  auto impl = std::make_unique<Impl>(std::move(shared));
  BLAZE_RETURN_IF_ERROR(impl->Listen());
  return std::unique_ptr<WsServer>(new WsServer(std::move(impl)));
}

void WsServer::Stop() { impl_->Stop(); }
void WsServer::StopAccepting() { impl_->StopAccepting(); }
uint16_t WsServer::port() const { return impl_->port(); }
std::string WsServer::address() const {
  const std::string& host = impl_->options().host;
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(impl_->port());
}
size_t WsServer::connections() const { return impl_->shared().connections.load(); }
size_t WsServer::pending() const { return impl_->shared().pending.load(); }

// ---------------------------------------------------------------- client

namespace {

// One io thread for every client connection of the process. The context is
// never destroyed (a connection may be released on any thread at any time,
// even during exit, and its socket needs the context); the thread is stopped
// and joined at exit, before the static objects Asio uses are destroyed, so
// no handler runs during static destruction.
struct ClientRuntime {
  std::shared_ptr<asio::io_context> ioc = std::make_shared<asio::io_context>(1);
  asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(*ioc);
  std::thread thread;
};

ClientRuntime* TheClientRuntime() {
  static ClientRuntime* runtime = [] {
    auto* r = new ClientRuntime();
    r->thread = std::thread([ctx = r->ioc.get()] { ctx->run(); });
    std::atexit([] {
      ClientRuntime* r = TheClientRuntime();
      r->work.reset();
      r->ioc->stop();
      if (r->thread.get_id() == std::this_thread::get_id()) {
        r->thread.detach();  // exit() called from a handler
      } else if (r->thread.joinable()) {
        r->thread.join();
      }
    });
    return r;
  }();
  return runtime;
}

}  // namespace

Result<std::shared_ptr<MessagePipe>> ConnectPipe(const std::string& url, std::chrono::milliseconds timeout,
                                                 WebSocketRefusal* refusal) {
  BLAZE_ASSIGN_OR_RETURN(ParsedUrl parsed, ParseUrl(url));
  std::shared_ptr<asio::io_context> ioc = TheClientRuntime()->ioc;
  auto conn = std::make_shared<WsConnection>(ioc, tcp::socket(asio::make_strand(*ioc)), 0, nullptr);
  std::promise<Status> done;
  std::future<Status> result = done.get_future();
  WebSocketRefusal local;
  WebSocketRefusal* out = refusal != nullptr ? refusal : &local;
  // Started on the connection's strand (its socket's executor).
  auto start = [conn, parsed, timeout, out, &done] { conn->ClientStart(parsed, timeout, out, &done); };
  conn->RunOnStrand(std::move(start));
  Status s = result.get();
  if (!s.ok()) return s;
  return std::shared_ptr<MessagePipe>(conn);
}

}  // namespace blaze::net
