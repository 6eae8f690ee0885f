// app_policy.h — an ExportPolicy compiled for one app: what the owner of a
// shared database evaluates for every record it sends to, and every change it
// receives from, that app.
//
// Compile resolves the policy for the app once (per collection, the app's
// own entry wins over "*" as a whole; see blaze/export_policy.h), parses each
// `where` and binds $app to the app's name, so evaluation does no parsing and
// no lookups beyond one map find per call.
//
// Anything not granted is denied: access() is kNone, Visible() is false,
// StripFields() returns an empty map and CheckWrite() refuses.
//
// Thread safety: an AppPolicy is immutable after Compile and is shared as
// shared_ptr<const AppPolicy>; every method may be called from any thread.
// To change the policy at run time the owner compiles a new AppPolicy and
// swaps the pointer; holders of the old one keep a consistent view until they
// drop it.
#ifndef BLAZE_POLICY_APP_POLICY_H_
#define BLAZE_POLICY_APP_POLICY_H_

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "blaze/export_policy.h"
#include "blaze/status.h"
#include "blaze/value.h"
#include "query/query.h"

namespace blaze::policy {

class AppPolicy {
 public:
  // Validates `policy` (ValidateExportPolicy) and compiles it for `app`, a
  // valid app name (not "*"). kInvalidArgument on either.
  static Result<std::shared_ptr<const AppPolicy>> Compile(const ExportPolicy& policy, std::string_view app);

  const std::string& app() const { return app_; }

  // kNone, kRead or kReadWrite.
  Access access(std::string_view collection) const;

  // The collections granted to the app (read or read-write), sorted.
  std::vector<std::string> Collections() const;

  // Whether the record (id, doc: a map) travels to the app: the collection is
  // granted and the record matches its `where` (evaluated in memory on the
  // full document, excluded fields included).
  bool Visible(std::string_view collection, std::string_view id, const Value& doc) const;

  // Whether the top-level `field` of records of `collection` travels to the
  // app (false for a collection not granted).
  bool FieldExported(std::string_view collection, std::string_view field) const;

  // `doc` (a map: a whole record or the fields of a put) without the fields
  // the app may not see. An empty map for a collection not granted; a
  // non-map `doc` is returned unchanged for a granted collection.
  Value StripFields(std::string_view collection, const Value& doc) const;

  // StripFields(doc) if Visible(id, doc), else nullopt: what the app gets of
  // a record.
  std::optional<Value> Export(std::string_view collection, std::string_view id, const Value& doc) const;

  // OK if the app may write `fields` (top-level names; empty for a delete)
  // of records in `collection`; otherwise kPermissionDenied naming the app,
  // the collection and the first field refused. The collection must be
  // granted read-write, and every field must travel (a field the app cannot
  // see, it cannot write either).
  Status CheckWrite(std::string_view collection, const std::vector<std::string>& fields) const;
  // OK if the app may delete records of `collection`: CheckWrite's rules,
  // and the grant must withhold no field of it — a delete takes every field
  // of the record, the withheld ones too. Refused whatever the record holds,
  // so the refusal tells nothing about fields the app cannot see.
  Status CheckDelete(std::string_view collection) const;

  // Row-level check of a write to record `id`: `before` is the record as the
  // owner holds it (nullptr if absent or deleted), `after` the record the
  // write would leave (nullptr for a delete). Both must be Visible: an app
  // may neither touch a record outside its `where` nor move one out of it
  // or create one outside it. kPermissionDenied otherwise. Does not repeat
  // CheckWrite's field checks.
  Status CheckWriteRow(std::string_view collection, std::string_view id, const Value* before, const Value* after) const;

 private:
  // One granted collection, resolved for the app.
  struct Rule {
    Access access = Access::kNone;
    bool include_only = false;                  // fields lists the fields that travel
    std::set<std::string, std::less<>> fields;  // excluded, or (include_only) included
    std::optional<query::BoundQuery> where;     // nullopt: every record
    std::string where_text;                     // for messages
  };

  AppPolicy() = default;
  const Rule* Find(std::string_view collection) const;
  bool FieldAllowed(const Rule& rule, std::string_view field) const;

  std::string app_;
  std::map<std::string, Rule, std::less<>> rules_;  // granted collections only
};

}  // namespace blaze::policy

#endif  // BLAZE_POLICY_APP_POLICY_H_
