// cross_app_limits.cc — see cross_app_limits.h.
#include "local/cross_app_limits.h"

#include <algorithm>
#include <cstdio>

namespace blaze::local {

Status CheckAppMessage(const sync::Message& m, const CrossAppOptions& options) {
  if (auto* c = std::get_if<sync::ChangesMsg>(&m)) {
    if (c->changes.size() > options.max_changes_per_message) {
      return Status::PermissionDenied("a changes message holds " + std::to_string(c->changes.size()) +
                                      " changes; at most " + std::to_string(options.max_changes_per_message) +
                                      " are accepted in one message (CrossAppOptions::max_changes_per_message)");
    }
  }
  return Status::Ok();
}

size_t StateBudget(size_t max_message_size) {
  // The vector (bounded by the number of origins) and the chunk fields take
  // little; keep a quarter, at least 4 KiB, for them.
  size_t reserve = std::max<size_t>(4096, max_message_size / 4);
  return max_message_size > 2 * reserve ? max_message_size - reserve : max_message_size / 2;
}

std::vector<sync::SnapshotChunk> SplitStates(sync::SnapshotChunk batch, size_t max_records, size_t max_bytes) {
  constexpr size_t kPerEntry = 16;  // length prefixes and the like, generously
  std::vector<sync::SnapshotChunk> out;
  auto start = [&] {
    sync::SnapshotChunk c;
    c.batch = batch.batch;
    c.vv = batch.vv;
    c.replace = batch.replace;
    out.push_back(std::move(c));
  };
  start();
  size_t bytes = 0;
  for (auto& r : batch.records) {
    size_t size = r.collection.size() + r.id.size() + r.state.size() + kPerEntry;
    if (!out.back().records.empty() && (out.back().records.size() >= max_records || bytes + size > max_bytes)) {
      start();
      bytes = 0;
    }
    bytes += size;
    out.back().records.push_back(std::move(r));
  }
  for (auto& e : batch.evictions) {
    size_t size = e.first.size() + e.second.size() + kPerEntry;
    if (bytes + size > max_bytes && (!out.back().records.empty() || !out.back().evictions.empty())) {
      start();
      bytes = 0;
    }
    bytes += size;
    out.back().evictions.push_back(std::move(e));
  }
  for (size_t i = 0; i < out.size(); ++i) {
    out[i].index = static_cast<uint32_t>(i);
    out[i].count = static_cast<uint32_t>(out.size());
  }
  return out;
}

std::string EscapeForLog(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    switch (c) {
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\\': out += "\\\\"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[5];
          std::snprintf(buf, sizeof(buf), "\\x%02x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

}  // namespace blaze::local
