// fuzz_export_policy — the export policy parser on arbitrary text: a policy
// or an error, never a crash. What parses must survive the round trip
// through its canonical JSON unchanged, compile for an app, and evaluate.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "blaze/export_policy.h"
#include "policy/app_policy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto p = blaze::ParseExportPolicy(in);
  if (!p.ok()) return 0;
  auto again = blaze::ParseExportPolicy(blaze::ExportPolicyToJson(*p));
  if (!again.ok() || !(*again == *p)) std::abort();
  auto compiled = blaze::policy::AppPolicy::Compile(*p, "app");
  if (!compiled.ok()) std::abort();  // a valid policy compiles for any valid app name
  blaze::Value doc(blaze::Value::Map{{"a", blaze::Value(1)}, {"owner", blaze::Value("app")}});
  for (const std::string& c : (*compiled)->Collections()) {
    (void)(*compiled)->Export(c, "id", doc);
    (*compiled)->CheckWrite(c, {"a", "owner"}).IgnoreError();
    (*compiled)->CheckWriteRow(c, "id", &doc, &doc).IgnoreError();
  }
  return 0;
}
