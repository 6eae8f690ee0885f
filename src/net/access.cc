// access.cc — parsing of the relay's access file.
#include "net/access.h"

#include <fstream>
#include <sstream>

#include "blaze/json.h"
#include "blaze/value.h"
#include "net/control.h"

namespace blaze::net {
namespace {

Status Bad(const std::string& what) { return Status::InvalidArgument("access file: " + what); }

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

Status OnlyFields(const Value::Map& map, std::initializer_list<std::string_view> allowed, const std::string& where) {
  for (const auto& [key, value] : map) {
    bool known = false;
    for (auto a : allowed) known = known || key == a;
    if (known) continue;
    std::string list;
    for (auto a : allowed) list += (list.empty() ? "" : ", ") + Quote(a);
    return Bad("unknown field " + Quote(key) + " in " + where + " (this relay understands " + list +
               "; a file written for a newer relay is refused rather than read without its restrictions)");
  }
  return Status::Ok();
}

const Value* Field(const Value::Map& map, std::string_view key) {
  auto it = map.find(key);
  return it == map.end() ? nullptr : &it->second;
}

bool IsLowerHex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Status ValidateUserName(std::string_view name) {
  if (name.empty() || name.size() > 128) return Bad("user name must be 1..128 bytes, got " + Quote(name));
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) return Bad("user name " + Quote(name) + " holds a control character");
  }
  return Status::Ok();
}

}  // namespace

Result<std::shared_ptr<const AccessList>> AccessList::Parse(std::string_view json) {
  auto parsed = ParseJson(json, JsonParseOptions{.reject_duplicate_keys = true});
  if (!parsed.ok()) return Bad(parsed.status().message());
  if (!parsed->is_map()) return Bad("expected a JSON object with \"users\" and \"databases\"");
  const Value::Map& root = parsed->as_map();
  BLAZE_RETURN_IF_ERROR(OnlyFields(root, {"users", "databases"}, "the top level"));
  const Value* users = Field(root, "users");
  const Value* databases = Field(root, "databases");
  if (users == nullptr || !users->is_map()) return Bad("\"users\" must be an object of user name → {\"keys\": [...]}");
  if (databases == nullptr || !databases->is_map()) {
    return Bad("\"databases\" must be an object of database name → {\"mode\": \"smart\", \"users\": [...]}");
  }
  auto list = std::make_shared<AccessList>();
  for (const auto& [name, entry] : users->as_map()) {
    BLAZE_RETURN_IF_ERROR(ValidateUserName(name));
    const std::string where = "user " + Quote(name);
    if (!entry.is_map()) return Bad(where + " must be an object {\"keys\": [...]}");
    BLAZE_RETURN_IF_ERROR(OnlyFields(entry.as_map(), {"keys"}, where));
    const Value* keys = Field(entry.as_map(), "keys");
    if (keys == nullptr || !keys->is_array()) return Bad(where + ": \"keys\" must be an array of 64-hex-digit public keys");
    std::vector<PublicKey>& mine = list->users_[name];
    for (const Value& k : keys->as_array()) {
      if (!k.is_string() || !IsLowerHex64(k.as_string())) {
        return Bad(where + ": key " + (k.is_string() ? Quote(k.as_string()) : std::string("(not a string)")) +
                   " is not 64 lower-case hex digits");
      }
      auto key = PublicKeyFromHex(k.as_string());
      if (!key.ok()) return Bad(where + ": " + key.status().message());
      auto [it, added] = list->key_user_.emplace(*key, name);
      if (!added) {
        return Bad("key " + k.as_string() + " is listed twice (users " + Quote(it->second) + " and " + Quote(name) +
                   "): a key belongs to one user");
      }
      mine.push_back(*key);
    }
  }
  for (const auto& [name, entry] : databases->as_map()) {
    Status valid = ValidateDatabaseName(name);
    if (!valid.ok()) return Bad("database " + Quote(name) + ": " + valid.message());
    const std::string where = "database " + Quote(name);
    if (!entry.is_map()) return Bad(where + " must be an object {\"mode\": \"smart\", \"users\": [...]}");
    BLAZE_RETURN_IF_ERROR(OnlyFields(entry.as_map(), {"mode", "users"}, where));
    const Value* mode = Field(entry.as_map(), "mode");
    if (mode == nullptr || !mode->is_string()) return Bad(where + ": \"mode\" is required (\"smart\")");
    DatabaseRule access;
    if (mode->as_string() == "smart") {
      access.mode = DatabaseMode::kSmart;
    } else if (mode->as_string() == "blind") {
      return Bad(where + ": mode \"blind\" is not supported yet (only \"smart\")");
    } else {
      return Bad(where + ": unknown mode " + Quote(mode->as_string()) + " (expected \"smart\")");
    }
    const Value* members = Field(entry.as_map(), "users");
    if (members == nullptr || !members->is_array()) return Bad(where + ": \"users\" must be an array of user names");
    for (const Value& u : members->as_array()) {
      if (!u.is_string()) return Bad(where + ": \"users\" must hold strings");
      if (list->users_.find(u.as_string()) == list->users_.end()) {
        return Bad(where + ": user " + Quote(u.as_string()) + " is not in \"users\"");
      }
      if (!access.users.insert(u.as_string()).second) {
        return Bad(where + ": user " + Quote(u.as_string()) + " is listed twice");
      }
    }
    list->databases_.emplace(name, std::move(access));
  }
  return std::shared_ptr<const AccessList>(std::move(list));
}

std::optional<std::string> AccessList::UserOf(const PublicKey& key) const {
  auto it = key_user_.find(key);
  if (it == key_user_.end()) return std::nullopt;
  return it->second;
}

bool AccessList::MayOpen(std::string_view user, std::string_view database) const {
  auto it = databases_.find(database);
  return it != databases_.end() && it->second.users.count(std::string(user)) > 0;
}

Result<std::shared_ptr<const AccessList>> ReadAccessFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("access file " + path + ": cannot be opened");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status::IOError("access file " + path + ": read failed");
  auto list = AccessList::Parse(text.str());
  if (!list.ok()) return Status::InvalidArgument(path + ": " + list.status().message());
  return list;
}

}  // namespace blaze::net
