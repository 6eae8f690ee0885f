// fuzz_query — the query parser on arbitrary text: a query or an error,
// never a crash; what parses can be bound, compiled and evaluated.
#include <cstdint>
#include <string_view>

#include "query/query.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto q = blaze::query::Parse(in);
  if (!q.ok()) return 0;
  auto b = blaze::query::Bind(*q, {});
  if (!b.ok()) return 0;
  (void)blaze::query::ToSql(*b);
  blaze::Value doc(blaze::Value::Map{{"a", blaze::Value(1)}, {"s", blaze::Value("x")}});
  (void)blaze::query::Matches(*b, "id", doc);
  return 0;
}
