// key_file.cc — the key-file and hex functions of blaze/keys.h.
//
// File format (text, 95 bytes):
//   blazedb-x25519-private-key-v1\n
//   <64 lower-case hex digits of the private key>\n
// The file is created with O_EXCL and mode 0600, then fsync'd. Loading checks
// the permissions with fstat on the opened descriptor (no race with chmod).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "blaze/keys.h"
#include "crypto/hex.h"
#include "crypto/secret.h"

namespace blaze {
namespace {

constexpr std::string_view kMagicLine = "blazedb-x25519-private-key-v1\n";

Status Errno(const std::string& what, const std::string& path) {
  int e = errno;
  std::string m = what + " '" + path + "': " + std::strerror(e);
  if (e == ENOENT) return Status::NotFound(std::move(m));
  if (e == EEXIST) return Status::AlreadyExists(m + " (a key file is never overwritten)");
  return Status::IOError(std::move(m));
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

Status WriteKeyFile(const std::string& path, const KeyPair& pair) {
  // Built in place, in one allocation: no unwiped copy of the hex is left behind.
  std::string text;
  text.reserve(kMagicLine.size() + 2 * kKeySize + 1);
  text += kMagicLine;
  crypto::AppendHex(crypto::AsView(pair.private_key.data(), kKeySize), &text);
  text += '\n';
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (fd.get() < 0) {
    crypto::WipeString(&text);
    return Errno("cannot create key file", path);
  }
  Status s;
  if (::fchmod(fd.get(), 0600) != 0) s = Errno("cannot set mode 0600 on key file", path);
  size_t off = 0;
  while (s.ok() && off < text.size()) {
    ssize_t n = ::write(fd.get(), text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) s = Errno("cannot write key file", path);
    else off += static_cast<size_t>(n);
  }
  if (s.ok() && ::fsync(fd.get()) != 0) s = Errno("cannot sync key file", path);
  crypto::WipeString(&text);
  if (!s.ok()) ::unlink(path.c_str());
  return s;
}

Result<KeyPair> ReadKeyFile(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return Errno("cannot open key file", path);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Errno("cannot stat key file", path);
  if (!S_ISREG(st.st_mode)) return Status::InvalidArgument("key file '" + path + "' is not a regular file");
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Status::FailedPrecondition("key file '" + path + "' has mode " + mode +
                                      "; it must not be accessible by group or others (expected 0600)");
  }
  char buf[256];
  size_t len = 0;
  while (len < sizeof(buf)) {
    ssize_t n = ::read(fd.get(), buf + len, sizeof(buf) - len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("cannot read key file", path);
    if (n == 0) break;
    len += static_cast<size_t>(n);
  }
  std::string_view text(buf, len);
  Result<KeyPair> result = Status::Corruption("key file '" + path +
                                              "' is not a BlazeDB key file (expected the line '" +
                                              std::string(kMagicLine.substr(0, kMagicLine.size() - 1)) +
                                              "' then 64 hex digits)");
  if (text.size() == kMagicLine.size() + 2 * kKeySize + 1 && text.substr(0, kMagicLine.size()) == kMagicLine &&
      text.back() == '\n') {
    std::optional<std::string> raw = crypto::HexDecode(text.substr(kMagicLine.size(), 2 * kKeySize));
    if (raw && raw->size() == kKeySize) {
      PrivateKey priv;
      std::memcpy(priv.data(), raw->data(), kKeySize);
      crypto::WipeString(&*raw);
      result = KeyPairFromPrivateKey(priv);
    }
  }
  OPENSSL_cleanse(buf, sizeof(buf));
  return result;
}

std::string PublicKeyToHex(const PublicKey& key) { return crypto::HexEncode(key.data(), key.size()); }

Result<PublicKey> PublicKeyFromHex(std::string_view text) {
  std::optional<std::string> raw = crypto::HexDecode(text);
  if (text.size() != 2 * kKeySize || !raw) {
    return Status::InvalidArgument("a public key is 64 hex digits; got '" + std::string(text.substr(0, 80)) + "'");
  }
  PublicKey key;
  std::memcpy(key.data(), raw->data(), kKeySize);
  return key;
}

}  // namespace blaze
