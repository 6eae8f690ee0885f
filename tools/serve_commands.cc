// serve_commands.cc — `blazedb serve`: a relay (docs/relay.md) over WebSocket
// with /health and /metrics, until SIGTERM or SIGINT; SIGHUP re-reads the
// access file.
//
// Signals are blocked in every thread before any starts and taken by sigwait
// on the main thread, so no handler runs asynchronously. Thread safety: the
// HTTP routes run on the server's io threads and only read thread-safe state.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "blaze/json.h"
#include "blaze/keys.h"
#include "commands.h"
#include "net/relay_core.h"
#include "net/relay_server.h"

namespace blaze::cli {
namespace {

void LogToStderr(std::string_view what) {
  std::string line = "blazedb serve: " + std::string(what) + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

// Resident set size in bytes from /proc/self/statm (0 if unreadable).
uint64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  if (!(statm >> size >> resident)) return 0;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

// A Prometheus label value: backslash, quote and newline escaped.
std::string Label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

void Metric(std::string* out, const char* name, const char* type, const char* help, uint64_t value) {
  *out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " +
          std::to_string(value) + "\n";
}

// Prometheus text exposition of the server's and the core's figures.
std::string MetricsText(net::PeerServer& server, net::RelayCore& core) {
  net::PeerServerStats st = server.stats();
  std::string out;
  Metric(&out, "blazedb_relay_connections", "gauge", "WebSocket connections open now", server.connections());
  Metric(&out, "blazedb_relay_authenticated_connections", "gauge", "Authenticated connections open now",
         core.connection_count());
  Metric(&out, "blazedb_relay_handshakes_total", "counter", "Handshakes completed", st.handshakes_ok);
  Metric(&out, "blazedb_relay_handshake_failures_total", "counter",
         "Handshakes failed (deadlines and unknown keys included)", st.handshakes_failed);
  Metric(&out, "blazedb_relay_frames_in_total", "counter", "Frames received", st.frames_in);
  Metric(&out, "blazedb_relay_frames_out_total", "counter", "Frames sent", st.frames_out);
  Metric(&out, "blazedb_relay_bytes_in_total", "counter", "Frame bytes received", st.bytes_in);
  Metric(&out, "blazedb_relay_bytes_out_total", "counter", "Frame bytes sent", st.bytes_out);
  Metric(&out, "blazedb_relay_send_queue_overflows_total", "counter",
         "Connections closed because their send queue overflowed", st.send_queue_overflows);
  std::vector<net::DatabaseFigures> figures = core.Figures();
  const struct {
    const char* name;
    const char* type;
    const char* help;
    uint64_t net::DatabaseFigures::*field;
  } per_db[] = {
      {"blazedb_relay_changes_received_total", "counter", "Changes applied to the relay's replica from clients",
       &net::DatabaseFigures::changes_received},
      {"blazedb_relay_changes_forwarded_total", "counter", "Changes sent to clients",
       &net::DatabaseFigures::changes_forwarded},
      {"blazedb_relay_lag_changes", "gauge", "The most changes one connected client has not acknowledged",
       &net::DatabaseFigures::max_lag},
  };
  for (const auto& m : per_db) {
    out += std::string("# HELP ") + m.name + " " + m.help + "\n# TYPE " + m.name + " " + m.type + "\n";
    for (const auto& f : figures) {
      out += std::string(m.name) + "{database=\"" + Label(f.name) + "\"} " + std::to_string(f.*(m.field)) + "\n";
    }
  }
  out += "# HELP blazedb_relay_streams Client streams open now\n# TYPE blazedb_relay_streams gauge\n";
  for (const auto& f : figures) {
    out += "blazedb_relay_streams{database=\"" + Label(f.name) + "\"} " + std::to_string(f.streams) + "\n";
  }
  Metric(&out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes", ResidentBytes());
  return out;
}

Result<std::pair<std::string, uint16_t>> ParseListen(const std::string& listen) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == listen.size()) {
    return Status::InvalidArgument("--listen: expected HOST:PORT (e.g. 127.0.0.1:7070), got '" + listen + "'");
  }
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  std::string port_text = listen.substr(colon + 1);
  uint32_t port = 0;
  for (char c : port_text) {
    if (c < '0' || c > '9' || port > 65535) {
      return Status::InvalidArgument("--listen: the port must be a number from 0 to 65535, got '" + port_text + "'");
    }
    port = port * 10 + static_cast<uint32_t>(c - '0');
  }
  if (port > 65535) {
    return Status::InvalidArgument("--listen: the port must be a number from 0 to 65535, got '" + port_text + "'");
  }
  return std::make_pair(host, static_cast<uint16_t>(port));
}

}  // namespace

Status Serve(const ServeArgs& args) {
  // Blocked before any thread starts, so only sigwait below takes them.
  sigset_t signals = BlockStopSignals();
  BLAZE_ASSIGN_OR_RETURN(auto listen, ParseListen(args.listen));
  BLAZE_ASSIGN_OR_RETURN(KeyPair identity, ReadKeyFile(args.identity));
  net::RelayOptions ro;
  ro.data_dir = args.data_dir;
  ro.access_path = args.access;
  ro.log = LogToStderr;
  // A client catching up gets `window` batches at once; they must fit its
  // send queue with room to spare, or a client that reads is disconnected
  // as a slow one, on every reconnect (--send-queue-bytes below the default).
  ro.sync.batch_bytes = std::min(ro.sync.batch_bytes,
                                 std::max<size_t>(1, static_cast<size_t>(args.send_queue_bytes) / (2 * ro.sync.window)));
  BLAZE_ASSIGN_OR_RETURN(std::unique_ptr<net::RelayCore> core, net::RelayCore::Open(ro));

  const auto started = std::chrono::steady_clock::now();
  std::atomic<net::PeerServer*> server_ptr{nullptr};
  net::PeerServerOptions o;
  o.server.host = listen.first;
  o.server.port = listen.second;
  o.server.max_connections = static_cast<size_t>(args.max_connections);
  o.server.handshake_deadline = std::chrono::milliseconds(args.handshake_timeout_ms);
  o.server.max_send_queue = static_cast<size_t>(args.send_queue_bytes);
  o.channel.identity = identity;
  o.channel.node_name = "relay";
  o.channel.max_message_size = static_cast<size_t>(args.max_message_bytes);
  o.log = LogToStderr;
  net::RelayCore* relay = core.get();
  o.http = [&, relay](std::string_view target) -> std::optional<net::HttpResponse> {
    net::PeerServer* server = server_ptr.load();
    if (server == nullptr) return std::nullopt;
    std::string_view path = target.substr(0, target.find('?'));
    if (path == "/health") {
      auto uptime = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started);
      Value body(Value::Map{{"status", Value("ok")},
                            {"databases", Value(static_cast<int64_t>(relay->Figures().size()))},
                            {"connections", Value(static_cast<int64_t>(relay->connection_count()))},
                            {"uptime_s", Value(static_cast<int64_t>(uptime.count()))}});
      return net::HttpResponse{200, "application/json", ToJson(body) + "\n"};
    }
    if (path == "/metrics") {
      return net::HttpResponse{200, "text/plain; version=0.0.4; charset=utf-8", MetricsText(*server, *relay)};
    }
    return std::nullopt;
  };
  auto started_server = net::ServeRelay(relay, std::move(o));
  if (!started_server.ok()) return started_server.status();  // names the address
  std::unique_ptr<net::PeerServer> server = std::move(started_server).value();
  server_ptr.store(server.get());

  Value ready(Value::Map{{"listening", Value(server->address())},
                         {"public_key", Value(PublicKeyToHex(identity.public_key))}});
  BLAZE_RETURN_IF_ERROR(PrintLine(ToJson(ready)));
  BLAZE_RETURN_IF_ERROR(FinishOutput());

  int sig = 0;
  while (true) {
    sigwait(&signals, &sig);
    if (sig != SIGHUP) break;
    Status s = core->Reload();
    if (s.ok()) {
      LogToStderr("access file reloaded: " + args.access);
    } else {
      LogToStderr("access file not reloaded, the previous one stays: " + s.ToString());
    }
  }
  LogToStderr(std::string("stopping on ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT"));
  server->Shutdown(Status::Aborted("relay shutting down"), std::chrono::milliseconds(2000));
  server_ptr.store(nullptr);
  server.reset();
  core.reset();  // stops the engines, closes the replica files
  return Status::Ok();
}

}  // namespace blaze::cli
