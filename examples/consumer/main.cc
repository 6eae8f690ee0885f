// A program outside the source tree using the installed BlazeDB package.
#include <blaze/database.h>
#include <blaze/json.h>

#include <cstdio>

int main() {
  blaze::Options options;
  options.in_memory = true;
  auto db = blaze::Database::Open(options, "");
  if (!db.ok()) {
    std::fprintf(stderr, "open: %s\n", db.status().ToString().c_str());
    return 1;
  }
  auto doc = blaze::ParseJson(R"({"title":"hello from an installed BlazeDB","n":1})");
  auto id = (*db)->Insert("notes", *doc);
  if (!id.ok()) return 1;
  auto back = (*db)->Get("notes", *id);
  if (!back.ok() || !(*back == *doc)) return 1;
  std::printf("consumer: %s -> %s\n", id->c_str(), blaze::ToJson(*back).c_str());
  return 0;
}
