// app_group.h — an app group: a private directory shared by cooperating apps
// of one user on one device (the trust boundary of cross-app sync, like an
// iOS app group container). docs/cross-app.md describes it in full.
//
// Layout:
//   DIR/                  mode 0700, owned by the user
//     apps.json           mode 0600: the registry, app name -> X25519 public key
//     sockets/            mode 0700
//       <db>.sock         the Unix socket of a shared database (while served)
//       <db>.lock         held (flock) by the process that owns <db>; holds its pid
//
//   auto group = blaze::AppGroup::Init("/home/me/.local/share/bugs-group");
//   group->AddApp("dashboard", dashboard_public_key);
//   auto claim = group->ClaimOwnership("bugs.blazedb");   // one owner per database
//   ... bind a listener at claim->socket_path() and serve ...
//
// A group is refused when the directory, apps.json or sockets/ belongs to
// another user or is accessible by group or others (kFailedPrecondition,
// saying which and what mode to set).
//
// Thread safety: an AppGroup holds only its path; every method reads the
// files afresh, so registrations by other processes are seen without
// reopening. Changes to the registry (AddApp, RemoveApp, Init) are serialized
// across processes by an flock on the directory and replace apps.json
// atomically. An OwnershipClaim is a move-only handle to be used by one thread.
// Linux/POSIX only.
#ifndef BLAZE_APP_GROUP_H_
#define BLAZE_APP_GROUP_H_

#include <string>
#include <string_view>
#include <vector>

#include "blaze/keys.h"
#include "blaze/status.h"

namespace blaze {

// One registered app.
struct AppEntry {
  std::string name;      // [a-z0-9_-]{1,64} (ValidateAppName in blaze/export_policy.h)
  PublicKey public_key;  // its X25519 identity (blazedb keygen / pubkey)
};

// The right to serve one database of a group, held for as long as the claim
// lives: an exclusive flock on sockets/<db>.lock (which holds the owner's pid).
// Destroying (or Release-ing) the claim removes the database's socket file
// if present, clears the pid and releases the lock, so destroy it after the
// listener is closed. The lock belongs to the claim's open file description:
// a second claim of the same database is refused in this process as in any
// other; the descriptor is close-on-exec, but a child made by fork() without
// exec shares it.
class OwnershipClaim {
 public:
  OwnershipClaim(OwnershipClaim&& other) noexcept;
  OwnershipClaim& operator=(OwnershipClaim&& other) noexcept;
  OwnershipClaim(const OwnershipClaim&) = delete;
  OwnershipClaim& operator=(const OwnershipClaim&) = delete;
  ~OwnershipClaim();

  const std::string& db_name() const { return db_name_; }
  // Where the owner binds its listening socket (nothing is bound yet).
  const std::string& socket_path() const { return socket_path_; }
  // True if a socket file left by a crashed owner was found and removed.
  bool removed_stale_socket() const { return removed_stale_socket_; }
  bool held() const { return fd_ >= 0; }

  // Gives the claim up now (what the destructor does). Idempotent.
  void Release();

 private:
  friend class AppGroup;
  OwnershipClaim(int fd, std::string db_name, std::string socket_path, bool removed_stale);

  int fd_ = -1;  // the lock file, flock'ed exclusively
  std::string db_name_;
  std::string socket_path_;
  bool removed_stale_socket_ = false;
};

class AppGroup {
 public:
  // The registry file and socket folder inside the group directory.
  static constexpr std::string_view kRegistryFile = "apps.json";
  static constexpr std::string_view kSocketDir = "sockets";

  // Creates the group at `dir` (mode 0700, an empty registry, sockets/), or
  // checks an existing one and completes it if a crash interrupted its
  // creation. Idempotent. An existing directory must be private (0700-like,
  // owned by this user) and either already a group or empty. The parent must
  // exist (kNotFound otherwise).
  static Result<AppGroup> Init(const std::string& dir);

  // Opens an existing group, checking its permissions and registry.
  // kNotFound if `dir` or its registry is missing, kFailedPrecondition on
  // wrong owner or permissions, kCorruption if apps.json is malformed.
  static Result<AppGroup> Open(const std::string& dir);

  const std::string& dir() const { return dir_; }

  // Registers `name` with `public_key`. Returns true if added, false if that
  // exact pair was already registered (idempotent). kInvalidArgument for a
  // bad name; kAlreadyExists if the name is registered with another key or
  // the key under another name (one identity, one app).
  Result<bool> AddApp(std::string_view name, const PublicKey& public_key) const;

  // Unregisters `name`; kNotFound if it is not registered.
  Status RemoveApp(std::string_view name) const;

  // The name of the app registered with `public_key`; kNotFound if none.
  Result<std::string> Lookup(const PublicKey& public_key) const;

  // Every registered app, sorted by name.
  Result<std::vector<AppEntry>> Apps() const;

  // DIR/sockets/<db_name>.sock. `db_name` is a file name, not a path: 1 to
  // 128 characters A-Z a-z 0-9 . _ -, not starting with '.'
  // (kInvalidArgument otherwise, and when the path would not fit a Unix
  // socket address, 107 bytes).
  Result<std::string> SocketPath(std::string_view db_name) const;

  // Claims the right to serve `db_name` in this group. kAlreadyExists if a
  // live process holds it ("bugs.blazedb is already shared in group DIR by
  // process 1234"). A socket file left behind by an owner that died without
  // releasing is removed (the lock proves nobody serves it);
  // kFailedPrecondition if something other than a socket sits at the socket
  // path (it is left alone).
  Result<OwnershipClaim> ClaimOwnership(std::string_view db_name) const;

 private:
  explicit AppGroup(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;
};

}  // namespace blaze

#endif  // BLAZE_APP_GROUP_H_
