// crash_writer — the victim of crash_test: writes transactions forever and
// acknowledges each one on stdout after it commits.
//
//   crash_writer DB FIRST_TXN
// Transaction n puts records "t<n>-0".."t<n>-4" ({"txn":n,"j":j,"pad":...})
// and patches record "counter" to {"last":n}; then prints "ack n".
#include <cstdio>
#include <cstdlib>
#include <string>

#include "blaze/database.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: crash_writer DB FIRST_TXN\n");
    return 2;
  }
  auto db = blaze::Database::Open({}, argv[1]);
  if (!db.ok()) {
    std::fprintf(stderr, "crash_writer: %s\n", db.status().ToString().c_str());
    return 1;
  }
  std::string pad(200, 'p');
  for (long n = std::atol(argv[2]);; ++n) {
    blaze::Status s = (*db)->Transaction([&](blaze::Txn& t) -> blaze::Status {
      for (int j = 0; j < 5; ++j) {
        blaze::Value::Map doc{{"txn", blaze::Value(n)}, {"j", blaze::Value(j)}, {"pad", blaze::Value(pad)}};
        BLAZE_RETURN_IF_ERROR(t.Put("items", "t" + std::to_string(n) + "-" + std::to_string(j), blaze::Value(doc)));
      }
      if (n % 7 == 3) BLAZE_RETURN_IF_ERROR(t.Delete("items", "t" + std::to_string(n - 1) + "-0"));
      return t.Put("meta", "counter", blaze::Value(blaze::Value::Map{{"last", blaze::Value(n)}}));
    });
    if (!s.ok()) {
      std::fprintf(stderr, "crash_writer: %s\n", s.ToString().c_str());
      return 1;
    }
    std::printf("ack %ld\n", n);
    std::fflush(stdout);
  }
}
