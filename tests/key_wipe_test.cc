// key_wipe_test.cc — no copy of a private key's hex text is freed unwiped
// while a key file is written or read (issue 9 item 8). A binary of its own:
// it replaces the global operator delete to look into every block freed
// while a key file is handled.
#include <gtest/gtest.h>
#include <malloc.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "blaze/keys.h"
#include "crypto/hex.h"
#include "crypto/secret.h"
#include "support/fakes.h"

namespace {

std::atomic<bool> g_watch{false};
char g_needle[64];  // secret bytes no freed block may still hold
size_t g_needle_len = 0;
std::atomic<int> g_leaks{0};

void Inspect(void* p) {
  if (p == nullptr || !g_watch.load(std::memory_order_relaxed)) return;
  size_t n = malloc_usable_size(p);
  if (memmem(p, n, g_needle, g_needle_len) != nullptr) g_leaks.fetch_add(1);
}

void Watch(std::string_view secret) {
  std::memcpy(g_needle, secret.data(), secret.size());
  g_needle_len = secret.size();
  g_leaks = 0;
  g_watch = true;
}

}  // namespace

// new is replaced too, so new and delete stay a matching (malloc/free) pair.
void* operator new(std::size_t n) {
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  Inspect(p);
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  Inspect(p);
  std::free(p);
}

namespace blaze {
namespace {

TEST(KeyWipeTest, WritingAndReadingAKeyFileLeavesNoUnwipedHexCopy) {
  testing::TempDir dir;
  KeyPair pair = *GenerateKeyPair();
  std::string hex = crypto::HexEncode(pair.private_key.data(), kKeySize);
  const std::string path = dir.File("app.key");
  Watch(hex);
  Status written = WriteKeyFile(path, pair);
  auto read = ReadKeyFile(path);
  g_watch = false;
  ASSERT_TRUE(written.ok()) << written.ToString();
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->public_key, pair.public_key);
  EXPECT_EQ(g_leaks.load(), 0) << "blocks holding the private key's hex were freed without being wiped";
}

TEST(KeyWipeTest, AHexDecodeThatFailsWipesWhatItDecoded) {
  // 31 good bytes, then a bad digit: the partial key must not be freed readable.
  KeyPair pair = *GenerateKeyPair();
  std::string hex = crypto::HexEncode(pair.private_key.data(), kKeySize);
  hex.replace(62, 2, "zz");
  Watch(crypto::AsView(pair.private_key.data(), 31));
  auto decoded = crypto::HexDecode(hex);
  g_watch = false;
  EXPECT_FALSE(decoded.has_value());
  EXPECT_EQ(g_leaks.load(), 0) << "the partly decoded key was freed without being wiped";
}

}  // namespace
}  // namespace blaze
