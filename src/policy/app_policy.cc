// app_policy.cc — resolution and evaluation of an export policy for one app.
#include "policy/app_policy.h"

#include "blaze/json.h"

namespace blaze::policy {
namespace {

std::string Quote(std::string_view s) {
  return "'" + std::string(s) + "'";
}

}  // namespace

Result<std::shared_ptr<const AppPolicy>> AppPolicy::Compile(const ExportPolicy& policy, std::string_view app) {
  Status name = ValidateAppName(app);
  if (!name.ok()) return name.WithContext("cannot compile the export policy for an app");
  BLAZE_RETURN_IF_ERROR(ValidateExportPolicy(policy));
  // Resolution: start from "*", then let the app's own entries replace whole
  // collections. Merging the two entries field by field would make the
  // result depend on both in ways a reader of the policy cannot see at a
  // glance; replacement keeps "what does dashboard get for bugs?" answerable
  // by reading one entry.
  std::map<std::string, const CollectionGrant*, std::less<>> resolved;
  if (auto any = policy.apps.find(std::string(ExportPolicy::kAnyApp)); any != policy.apps.end()) {
    for (const auto& [coll, grant] : any->second.collections) resolved[coll] = &grant;
  }
  if (auto own = policy.apps.find(std::string(app)); own != policy.apps.end()) {
    for (const auto& [coll, grant] : own->second.collections) resolved[coll] = &grant;
  }
  std::shared_ptr<AppPolicy> out(new AppPolicy());
  out->app_ = std::string(app);
  const query::Bindings vars{{"app", Value(app)}};
  for (const auto& [coll, grant] : resolved) {
    Rule rule;
    rule.access = grant->access;
    if (grant->fields.include) {
      rule.include_only = true;
      rule.fields.insert(grant->fields.include->begin(), grant->fields.include->end());
    } else {
      rule.fields.insert(grant->fields.exclude.begin(), grant->fields.exclude.end());
    }
    // ValidateExportPolicy has parsed and bound every `where` already, so
    // these cannot fail; check anyway rather than assume.
    auto q = query::Parse(grant->where);
    if (!q.ok()) return q.status().WithContext("export policy, collection " + Quote(coll));
    if (q->root().kind != query::Expr::Kind::kTrue) {
      auto bound = query::Bind(*q, vars);
      if (!bound.ok()) return bound.status().WithContext("export policy, collection " + Quote(coll));
      rule.where = std::move(bound).value();
      rule.where_text = grant->where;
    }
    out->rules_.emplace(coll, std::move(rule));
  }
  return std::shared_ptr<const AppPolicy>(std::move(out));
}

const AppPolicy::Rule* AppPolicy::Find(std::string_view collection) const {
  auto it = rules_.find(collection);
  return it == rules_.end() ? nullptr : &it->second;
}

bool AppPolicy::FieldAllowed(const Rule& rule, std::string_view field) const {
  bool listed = rule.fields.find(field) != rule.fields.end();
  return rule.include_only ? listed : !listed;
}

Access AppPolicy::access(std::string_view collection) const {
  const Rule* r = Find(collection);
  return r == nullptr ? Access::kNone : r->access;
}

std::vector<std::string> AppPolicy::Collections() const {
  std::vector<std::string> out;
  for (const auto& [name, rule] : rules_) out.push_back(name);
  return out;
}

bool AppPolicy::Visible(std::string_view collection, std::string_view id, const Value& doc) const {
  const Rule* r = Find(collection);
  if (r == nullptr) return false;
  return !r->where || query::Matches(*r->where, id, doc);
}

bool AppPolicy::FieldExported(std::string_view collection, std::string_view field) const {
  const Rule* r = Find(collection);
  return r != nullptr && FieldAllowed(*r, field);
}

Value AppPolicy::StripFields(std::string_view collection, const Value& doc) const {
  const Rule* r = Find(collection);
  if (r == nullptr) return Value::EmptyMap();
  if (!doc.is_map() || (!r->include_only && r->fields.empty())) return doc;
  Value::Map out;
  for (const auto& [field, v] : doc.as_map()) {
    if (FieldAllowed(*r, field)) out.emplace(field, v);
  }
  return Value(std::move(out));
}

std::optional<Value> AppPolicy::Export(std::string_view collection, std::string_view id, const Value& doc) const {
  if (!Visible(collection, id, doc)) return std::nullopt;
  return StripFields(collection, doc);
}

Status AppPolicy::CheckWrite(std::string_view collection, const std::vector<std::string>& fields) const {
  const Rule* r = Find(collection);
  std::string who = "app " + Quote(app_) + " may not write collection " + Quote(collection);
  if (r == nullptr) return Status::PermissionDenied(who + ": the export policy does not grant it to the app");
  if (r->access != Access::kReadWrite) return Status::PermissionDenied(who + ": the export policy grants it read-only");
  for (const std::string& f : fields) {
    if (FieldAllowed(*r, f)) continue;
    return Status::PermissionDenied("app " + Quote(app_) + " may not write field " + Quote(f) + " of collection " +
                                    Quote(collection) + ": the export policy " +
                                    (r->include_only ? "does not include it" : "excludes it"));
  }
  return Status::Ok();
}

Status AppPolicy::CheckDelete(std::string_view collection) const {
  BLAZE_RETURN_IF_ERROR(CheckWrite(collection, {}));
  const Rule* r = Find(collection);
  if (r->include_only || !r->fields.empty()) {
    return Status::PermissionDenied("app " + Quote(app_) + " may not delete records of collection " +
                                    Quote(collection) + ": the export policy withholds fields of it from the app, "
                                    "and a delete would remove those too");
  }
  return Status::Ok();
}

Status AppPolicy::CheckWriteRow(std::string_view collection, std::string_view id, const Value* before,
                                const Value* after) const {
  const Rule* r = Find(collection);
  if (r == nullptr || r->access != Access::kReadWrite) return CheckWrite(collection, {});
  if (!r->where) return Status::Ok();
  // One text whatever failed: a refusal must not tell whether a record the
  // app cannot see exists under that id.
  if ((before != nullptr && !query::Matches(*r->where, id, *before)) ||
      (after != nullptr && !query::Matches(*r->where, id, *after))) {
    return Status::PermissionDenied("app " + Quote(app_) + " may not write record " + Quote(id) + " of collection " +
                                    Quote(collection) + ": a write must find the record (if any) inside the app's "
                                    "where (" + r->where_text + ") and leave it there");
  }
  return Status::Ok();
}

}  // namespace blaze::policy
