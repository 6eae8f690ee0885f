// app_group.cc — AppGroup: the group directory and its registry of apps
// (blaze/app_group.h). Ownership of shared databases is in ownership_claim.cc.
//
// Registry file (apps.json, mode 0600), canonical JSON plus a newline:
//   {"apps":{"dashboard":"<64 hex digits>",...},"format":"blazedb-app-group","version":1}
// It is read without a lock (it is only ever replaced by rename, so a reader
// sees a whole old or whole new file) and modified under an exclusive flock
// on the group directory, which serializes AddApp/RemoveApp/Init between
// processes: two apps registering at once both end up in the file.
//
// Why so strict about permissions: the registry decides which public keys may
// connect to a shared database as which app. Anyone who can write it (or
// replace the directory entry) can grant themselves an app's access, so a
// group whose directory, registry or socket folder is reachable by another
// user is refused rather than used.
#include "blaze/app_group.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <map>
#include <optional>

#include "blaze/export_policy.h"
#include "blaze/json.h"
#include "blaze/value.h"
#include "local/group_files.h"

namespace blaze {
namespace {

using local::CheckPrivate;
using local::ErrnoStatus;
using local::Fd;

constexpr std::string_view kFormat = "blazedb-app-group";
constexpr int64_t kRegistryVersion = 1;
constexpr size_t kMaxRegistryBytes = 1 << 20;

using Registry = std::map<std::string, PublicKey, std::less<>>;

std::string Join(const std::string& dir, std::string_view name) {
  return dir + "/" + std::string(name);
}

// "dir/" and "dir" name the same group; keep messages and socket paths tidy.
std::string Normalize(std::string dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir;
}

// Opens the group directory and checks that it is private.
Result<Fd> OpenGroupDir(const std::string& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) {
      return Status::NotFound("app group '" + dir + "' does not exist (create it with 'blazedb group init')");
    }
    if (errno == ENOTDIR) return Status::FailedPrecondition("'" + dir + "' is not a directory, so not an app group");
    return ErrnoStatus("cannot open app group directory", dir);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus("cannot stat app group directory", dir);
  BLAZE_RETURN_IF_ERROR(CheckPrivate(st, dir, "app group directory", 0700));
  return fd;
}

// An exclusive flock on the group directory for the scope of one registry
// change; blocking, since holders only ever rewrite one small file.
class DirLock {
 public:
  static Result<DirLock> Acquire(int dir_fd, const std::string& dir) {
    while (::flock(dir_fd, LOCK_EX) != 0) {
      if (errno != EINTR) return ErrnoStatus("cannot lock app group directory", dir);
    }
    return DirLock(dir_fd);
  }
  DirLock(DirLock&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  DirLock& operator=(DirLock&&) = delete;
  ~DirLock() {
    if (fd_ >= 0) ::flock(fd_, LOCK_UN);
  }

 private:
  explicit DirLock(int fd) : fd_(fd) {}
  int fd_;
};

Result<Registry> ParseRegistry(const std::string& text, const std::string& path) {
  auto bad = [&](const std::string& why) {
    return Status::Corruption("app group registry '" + path + "' is malformed: " + why);
  };
  auto root = ParseJson(text, JsonParseOptions{.reject_duplicate_keys = true});
  if (!root.ok()) return bad(root.status().message());
  if (!root->is_map()) return bad("expected a JSON object");
  for (const auto& [key, unused] : root->as_map()) {
    if (key != "apps" && key != "format" && key != "version") return bad("unknown key " + ToJson(Value(key)));
  }
  const Value* format = root->Find("format");
  if (format == nullptr || !format->is_string() || format->as_string() != kFormat) {
    return bad("expected \"format\": \"" + std::string(kFormat) + "\"");
  }
  const Value* version = root->Find("version");
  if (version == nullptr || !version->is_int()) return bad("expected \"version\": 1");
  if (version->as_int() != kRegistryVersion) {
    return Status::NotSupported("app group registry '" + path + "' has version " + std::to_string(version->as_int()) +
                                "; this BlazeDB reads version 1");
  }
  const Value* apps = root->Find("apps");
  if (apps == nullptr || !apps->is_map()) return bad("expected \"apps\": an object of app names to public keys");
  Registry reg;
  std::map<PublicKey, std::string> by_key;
  for (const auto& [name, hex] : apps->as_map()) {
    Status s = ValidateAppName(name);
    if (!s.ok()) return bad(s.message());
    if (!hex.is_string()) return bad("the key of app '" + name + "' is not a string");
    auto key = PublicKeyFromHex(hex.as_string());
    if (!key.ok()) return bad("app '" + name + "': " + key.status().message());
    if (auto [it, fresh] = by_key.emplace(*key, name); !fresh) {
      return bad("apps '" + it->second + "' and '" + name + "' have the same public key");
    }
    reg.emplace(name, *key);
  }
  return reg;
}

std::string SerializeRegistry(const Registry& reg) {
  Value::Map apps;
  for (const auto& [name, key] : reg) apps.emplace(name, Value(PublicKeyToHex(key)));
  Value::Map root{
      {"apps", Value(std::move(apps))}, {"format", Value(std::string(kFormat))}, {"version", Value(kRegistryVersion)}};
  return ToJson(Value(std::move(root))) + "\n";
}

// The registry, or nullopt if apps.json does not exist.
Result<std::optional<Registry>> ReadRegistry(int dir_fd, const std::string& dir) {
  const std::string name(AppGroup::kRegistryFile);
  const std::string path = Join(dir, name);
  Fd fd(::openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return std::optional<Registry>();
    if (errno == ELOOP) return Status::FailedPrecondition("app group registry '" + path + "' is a symbolic link");
    return ErrnoStatus("cannot open app group registry", path);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus("cannot stat app group registry", path);
  if (!S_ISREG(st.st_mode)) return Status::Corruption("app group registry '" + path + "' is not a regular file");
  BLAZE_RETURN_IF_ERROR(CheckPrivate(st, path, "app group registry", 0600));
  BLAZE_ASSIGN_OR_RETURN(std::string text, local::ReadAll(fd.get(), path, kMaxRegistryBytes));
  BLAZE_ASSIGN_OR_RETURN(Registry reg, ParseRegistry(text, path));
  return std::optional<Registry>(std::move(reg));
}

Result<Registry> ReadExistingRegistry(int dir_fd, const std::string& dir) {
  BLAZE_ASSIGN_OR_RETURN(std::optional<Registry> reg, ReadRegistry(dir_fd, dir));
  if (!reg) {
    return Status::NotFound("'" + dir + "' is not an app group: it has no " + std::string(AppGroup::kRegistryFile) +
                            " (create one with 'blazedb group init')");
  }
  return std::move(*reg);
}

Status WriteRegistry(int dir_fd, const std::string& dir, const Registry& reg) {
  return local::ReplaceFileAtomically(dir_fd, dir, std::string(AppGroup::kRegistryFile), SerializeRegistry(reg), 0600);
}

// Checks sockets/: a private directory of this user. `create` makes it first
// if missing.
Status CheckSocketDir(int dir_fd, const std::string& dir, bool create) {
  const std::string name(AppGroup::kSocketDir);
  const std::string path = Join(dir, name);
  if (create) {
    if (::mkdirat(dir_fd, name.c_str(), 0700) == 0) {
      // mkdir's mode is reduced by the umask; make it exactly 0700.
      if (::fchmodat(dir_fd, name.c_str(), 0700, 0) != 0) return ErrnoStatus("cannot set the mode of", path);
      if (::fsync(dir_fd) != 0) return ErrnoStatus("cannot sync directory", dir);
    } else if (errno != EEXIST) {
      return ErrnoStatus("cannot create", path);
    }
  }
  struct stat st;
  if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) {
      return Status::FailedPrecondition("app group '" + dir + "' has no " + name +
                                        "/ directory (run 'blazedb group init' on it to repair it)");
    }
    return ErrnoStatus("cannot stat", path);
  }
  if (!S_ISDIR(st.st_mode)) return Status::FailedPrecondition("'" + path + "' is not a directory");
  return CheckPrivate(st, path, "app group socket directory", 0700);
}

// True if `dir` holds nothing but what an interrupted Init may have left.
Result<bool> IsEmptyEnoughForInit(const std::string& dir) {
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name != AppGroup::kSocketDir && name != std::string(AppGroup::kRegistryFile) + ".tmp") return false;
  }
  if (ec) return Status::IOError("cannot list '" + dir + "': " + ec.message());
  return true;
}

}  // namespace

Result<AppGroup> AppGroup::Init(const std::string& dir_arg) {
  const std::string dir = Normalize(dir_arg);
  if (dir.empty()) return Status::InvalidArgument("the app group directory path is empty");
  const bool created = ::mkdir(dir.c_str(), 0700) == 0;
  if (!created && errno != EEXIST) return ErrnoStatus("cannot create app group directory", dir);
  if (created && ::chmod(dir.c_str(), 0700) != 0) return ErrnoStatus("cannot set the mode of", dir);
  BLAZE_ASSIGN_OR_RETURN(Fd fd, OpenGroupDir(dir));
  BLAZE_ASSIGN_OR_RETURN(DirLock lock, DirLock::Acquire(fd.get(), dir));
  BLAZE_ASSIGN_OR_RETURN(std::optional<Registry> reg, ReadRegistry(fd.get(), dir));
  if (!reg) {
    // Turning a directory that holds other things into a group would put
    // them inside the trust boundary without anyone deciding so.
    BLAZE_ASSIGN_OR_RETURN(bool empty, IsEmptyEnoughForInit(dir));
    if (!empty) {
      return Status::FailedPrecondition("'" + dir + "' exists and is not an app group (it has no " +
                                        std::string(kRegistryFile) +
                                        " and is not empty); choose a new or empty directory");
    }
    BLAZE_RETURN_IF_ERROR(WriteRegistry(fd.get(), dir, Registry{}));
  }
  BLAZE_RETURN_IF_ERROR(CheckSocketDir(fd.get(), dir, /*create=*/true));
  return AppGroup(dir);
}

Result<AppGroup> AppGroup::Open(const std::string& dir_arg) {
  const std::string dir = Normalize(dir_arg);
  if (dir.empty()) return Status::InvalidArgument("the app group directory path is empty");
  BLAZE_ASSIGN_OR_RETURN(Fd fd, OpenGroupDir(dir));
  BLAZE_RETURN_IF_ERROR(ReadExistingRegistry(fd.get(), dir).status());  // parses and checks it
  BLAZE_RETURN_IF_ERROR(CheckSocketDir(fd.get(), dir, /*create=*/false));
  return AppGroup(dir);
}

Result<bool> AppGroup::AddApp(std::string_view name, const PublicKey& public_key) const {
  Status valid = ValidateAppName(name);
  if (!valid.ok()) return valid;
  BLAZE_ASSIGN_OR_RETURN(Fd fd, OpenGroupDir(dir_));
  BLAZE_ASSIGN_OR_RETURN(DirLock lock, DirLock::Acquire(fd.get(), dir_));
  BLAZE_ASSIGN_OR_RETURN(Registry reg, ReadExistingRegistry(fd.get(), dir_));
  const std::string hex = PublicKeyToHex(public_key);
  if (auto it = reg.find(name); it != reg.end()) {
    if (it->second == public_key) return false;
    return Status::AlreadyExists("app '" + std::string(name) + "' is already registered in group " + dir_ +
                                 " with another public key (" + PublicKeyToHex(it->second) +
                                 "); remove it first to change its key");
  }
  for (const auto& [other, key] : reg) {
    if (key == public_key) {
      return Status::AlreadyExists("public key " + hex + " is already registered in group " + dir_ + " as app '" +
                                   other + "'; one identity belongs to one app");
    }
  }
  reg.emplace(std::string(name), public_key);
  BLAZE_RETURN_IF_ERROR(WriteRegistry(fd.get(), dir_, reg));
  return true;
}

Status AppGroup::RemoveApp(std::string_view name) const {
  BLAZE_ASSIGN_OR_RETURN(Fd fd, OpenGroupDir(dir_));
  BLAZE_ASSIGN_OR_RETURN(DirLock lock, DirLock::Acquire(fd.get(), dir_));
  BLAZE_ASSIGN_OR_RETURN(Registry reg, ReadExistingRegistry(fd.get(), dir_));
  auto it = reg.find(name);
  if (it == reg.end()) return Status::NotFound("app '" + std::string(name) + "' is not registered in group " + dir_);
  reg.erase(it);
  return WriteRegistry(fd.get(), dir_, reg);
}

Result<std::string> AppGroup::Lookup(const PublicKey& public_key) const {
  BLAZE_ASSIGN_OR_RETURN(Fd fd, OpenGroupDir(dir_));
  BLAZE_ASSIGN_OR_RETURN(Registry reg, ReadExistingRegistry(fd.get(), dir_));
  for (const auto& [name, key] : reg) {
    if (key == public_key) return name;
  }
  return Status::NotFound("public key " + PublicKeyToHex(public_key) + " is not registered in app group " + dir_);
}

Result<std::vector<AppEntry>> AppGroup::Apps() const {
  BLAZE_ASSIGN_OR_RETURN(Fd fd, OpenGroupDir(dir_));
  BLAZE_ASSIGN_OR_RETURN(Registry reg, ReadExistingRegistry(fd.get(), dir_));
  std::vector<AppEntry> out;
  for (const auto& [name, key] : reg) out.push_back(AppEntry{name, key});
  return out;
}

}  // namespace blaze
