// wal_checkpoint_test.cc — the checkpoint thread (src/store/checkpointer.h)
// copies the WAL back into the database (the commit-path fallback at 20000
// pages is only for a pinned WAL). Reads the WAL index
// (-shm) header as SQLite lays it out (https://sqlite.org/walformat.html):
// mxFrame at byte 16, nBackfill at byte 96, native byte order.
// Single-threaded (the database's own checkpoint thread aside).
#include <gtest/gtest.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>

#include "blaze/database.h"
#include "support/db_fixture.h"

namespace blaze {
namespace {

using testing::J;
using testing::TempDir;

struct WalIndex {
  uint32_t max_frame = 0;  // frames in the WAL
  uint32_t backfill = 0;   // frames already copied into the database
};

WalIndex ReadWalIndex(const std::string& db_path) {
  WalIndex w;
  int fd = ::open((db_path + "-shm").c_str(), O_RDONLY);
  if (fd < 0) return w;
  EXPECT_EQ(::pread(fd, &w.max_frame, 4, 16), 4);
  EXPECT_EQ(::pread(fd, &w.backfill, 4, 96), 4);
  ::close(fd);
  return w;
}

TEST(WalCheckpointTest, TheCheckpointThreadCopiesTheWalWhileTheWriterPauses) {
  TempDir dir;
  const std::string path = dir.path() + "/w.blazedb";
  auto db = Database::Open(Options{}, path);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  const std::string pad(600, 'x');
  int n = 0;
  // Past the thread's signal (1000 pages), far below the inline fallback.
  while (ReadWalIndex(path).max_frame < 1500) {
    Value doc = J("{\"n\":" + std::to_string(n) + ",\"pad\":\"" + pad + "\"}");
    ASSERT_TRUE((*db)->Put("c", "id" + std::to_string(n % 2000), doc).ok());
    ++n;
  }
  // The writer pauses: the thread's checkpoint (signalled at 1000 pages, no
  // reader) copies the frames it saw. On the code before the fix its
  // connection had never read the database, so sqlite3_wal_checkpoint_v2 on
  // it did nothing and reported success: nBackfill stayed 0 until the
  // commit-path fallback at 20000 pages (an 82 MB WAL under any steady writer).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (ReadWalIndex(path).backfill < 1000 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_GE(ReadWalIndex(path).backfill, 1000u) << "the checkpoint thread copied nothing";
}

}  // namespace
}  // namespace blaze
