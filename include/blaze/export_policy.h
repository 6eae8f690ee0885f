// export_policy.h — what a database owner exports to the other apps of an
// app group (docs/cross-app.md, "Export policies").
//
// An ExportPolicy names, per app (or "*" for every registered app), the
// collections that app may see, whether it may write them, which fields
// travel and which records (a query, docs/query-language.md). Anything not
// granted is denied: an app absent from the policy, with no "*" entry, gets
// nothing.
//
//   { "apps": {
//       "dashboard": { "collections": {
//           "bugs":     { "access": "read", "fields": { "exclude": ["internalNotes"] },
//                         "where": "team == \"mobile\"" },
//           "comments": { "access": "read-write" } } },
//       "*": { "collections": { "releases": { "access": "read" } } } } }
//
// Resolution for one app: for each collection, the app's own entry, if it
// names that collection, wins over the "*" entry as a whole (the two are not
// merged); collections named only under "*" are granted to every app.
//
// A policy is built either by ParseExportPolicy (JSON text, as on the command
// line) or as these structs in C++; ValidateExportPolicy applies the same
// rules to both, with errors that name the JSON path of the offending part:
//   policy apps.dashboard.collections.bugs.access: expected "read" or "read-write", found "write"
//
// The structs are plain values; the functions are thread-safe. The owner of a
// shared database evaluates a policy through a compiled, immutable per-app
// view (internal; shared between threads as shared_ptr<const ...>), so a new
// policy can replace the old one while apps are connected.
#ifndef BLAZE_EXPORT_POLICY_H_
#define BLAZE_EXPORT_POLICY_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "blaze/status.h"

namespace blaze {

// What an app may do with one collection. kNone is the default for anything
// not granted; a grant is kRead or kReadWrite.
enum class Access { kNone, kRead, kReadWrite };

// "none", "read" or "read-write" (the JSON spelling).
std::string_view AccessName(Access access);

// Which top-level fields of a record travel to the app. The record id always
// travels. Field names are top-level document fields: a name with '.' is
// refused rather than silently matching nothing, and "_id" is refused
// (the id cannot be withheld).
struct FieldFilter {
  // Fields withheld; every other field travels.
  std::vector<std::string> exclude;
  // When set, only these fields travel. Setting both `include` and a
  // non-empty `exclude` is an error.
  std::optional<std::vector<std::string>> include;
  friend bool operator==(const FieldFilter&, const FieldFilter&) = default;
};

// One collection granted to an app.
struct CollectionGrant {
  Access access = Access::kRead;  // kRead or kReadWrite; kNone is refused
  FieldFilter fields;             // default: every field
  // A query (docs/query-language.md) a record must match to travel; empty:
  // every record. It may use $app, bound to the app's name; no other
  // variable is bound. It is evaluated on the owner's full record, so it may
  // test fields that `fields` withholds.
  std::string where;
  friend bool operator==(const CollectionGrant&, const CollectionGrant&) = default;
};

// The grants of one app (or of "*").
struct AppGrant {
  std::map<std::string, CollectionGrant> collections;  // collection name -> grant
  friend bool operator==(const AppGrant&, const AppGrant&) = default;
};

struct ExportPolicy {
  // The key of the entry that applies to every app.
  static constexpr std::string_view kAnyApp = "*";
  // App name ([a-z0-9_-]{1,64}, see ValidateAppName) or "*" -> grants.
  std::map<std::string, AppGrant> apps;
  friend bool operator==(const ExportPolicy&, const ExportPolicy&) = default;
};

// OK if `name` is an app name: 1 to 64 characters of a-z, 0-9, '_' and '-'.
// The rule is shared by export policies and app groups (blaze/app_group.h).
Status ValidateAppName(std::string_view name);

// Checks every rule of docs/cross-app.md: app and collection names, access
// values, field lists (non-empty names, no '.', no "_id", no repeats, not
// both include and exclude), and that each `where` parses and binds with
// only $app. kInvalidArgument naming the JSON path on the first violation.
Status ValidateExportPolicy(const ExportPolicy& policy);

// Parses the JSON form above, strictly: unknown keys, wrong types and bad
// values are kInvalidArgument naming the JSON path, then validates it.
// ("apps" is required; "collections" is required in each app; "access" is
// required in each collection; "fields" and "where" are optional.)
// A key repeated within one JSON object is not detected: the last one counts.
Result<ExportPolicy> ParseExportPolicy(std::string_view json);

// Reads and parses a policy file. kNotFound if it does not exist; parse
// errors are prefixed with the path.
Result<ExportPolicy> ReadExportPolicyFile(const std::string& path);

// The canonical JSON form (keys sorted, every optional part that is set);
// ParseExportPolicy(ExportPolicyToJson(p)) gives back p.
std::string ExportPolicyToJson(const ExportPolicy& policy);

}  // namespace blaze

#endif  // BLAZE_EXPORT_POLICY_H_
