// export_policy.cc — the JSON form of an ExportPolicy and its validation
// (blaze/export_policy.h).
//
// Parsing is two passes: the first checks the JSON shape (objects, known
// keys, types, access spellings) while building the structs; the second,
// ValidateExportPolicy, checks what the structs alone can get wrong (names,
// field lists, queries). A policy built in C++ goes through the second pass
// only, so both routes enforce the same rules with the same messages.
//
// Error messages name the JSON path of the offending part. A key that is not
// a plain word ([A-Za-z0-9_*-]+) is shown quoted in brackets, so
//   apps.dashboard.collections["bug reports"].where
// identifies the part unambiguously.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <set>

#include "blaze/export_policy.h"
#include "blaze/json.h"
#include "blaze/value.h"
#include "query/query.h"
#include "value/utf8.h"

namespace blaze {
namespace {

constexpr size_t kMaxAppName = 64;
constexpr size_t kMaxCollectionName = 256;  // the store's limit (src/store/document.cc)

bool IsPlainWord(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '*';
    if (!ok) return false;
  }
  return true;
}

// `path` extended by the member `key`.
std::string Member(const std::string& path, std::string_view key) {
  if (IsPlainWord(key)) return path.empty() ? std::string(key) : path + "." + std::string(key);
  return path + "[" + ToJson(Value(key)) + "]";
}

std::string Index(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

Status Error(const std::string& path, const std::string& what) {
  return Status::InvalidArgument(path.empty() ? "policy: " + what : "policy " + path + ": " + what);
}

// A short description of a JSON value for "found ..." in messages.
std::string Describe(const Value& v) {
  switch (v.type()) {
    case Value::Type::kNull: return "null";
    case Value::Type::kBool: return v.as_bool() ? "true" : "false";
    case Value::Type::kInt:
    case Value::Type::kDouble: return "the number " + ToJson(v);
    case Value::Type::kString: {
      const std::string& s = v.as_string();
      if (s.size() <= 60) return ToJson(v);
      return ToJson(Value(s.substr(0, 60))) + "...";
    }
    case Value::Type::kBytes: return "a {\"$bytes\": ...} object";
    case Value::Type::kArray: return "an array";
    case Value::Type::kMap: return "an object";
  }
  return "a value";
}

// Refuses members of `m` not in `allowed`; a typo such as "acess" must not
// silently drop a restriction.
Status CheckKeys(const Value::Map& m, const std::string& path, std::initializer_list<std::string_view> allowed) {
  for (const auto& [key, unused] : m) {
    bool known = false;
    for (std::string_view a : allowed) known = known || key == a;
    if (known) continue;
    std::string expected;
    size_t i = 0;
    for (std::string_view a : allowed) {
      if (i > 0) expected += (i + 1 == allowed.size()) ? (allowed.size() > 2 ? ", or " : " or ") : ", ";
      expected += "\"" + std::string(a) + "\"";
      ++i;
    }
    return Error(path, "unknown key " + ToJson(Value(key)) + " (expected " + expected + ")");
  }
  return Status::Ok();
}

Status ExpectObject(const Value& v, const std::string& path, const char* what) {
  if (v.is_map()) return Status::Ok();
  return Error(path, std::string("expected an object ") + what + ", found " + Describe(v));
}

Result<std::vector<std::string>> ParseNameList(const Value& v, const std::string& path) {
  if (!v.is_array()) return Error(path, "expected an array of field names, found " + Describe(v));
  std::vector<std::string> out;
  for (size_t i = 0; i < v.as_array().size(); ++i) {
    const Value& item = v.as_array()[i];
    if (!item.is_string()) return Error(Index(path, i), "expected a field name (a string), found " + Describe(item));
    out.push_back(item.as_string());
  }
  return out;
}

Result<CollectionGrant> ParseCollection(const Value& v, const std::string& path) {
  BLAZE_RETURN_IF_ERROR(ExpectObject(v, path, "{\"access\": ..., \"fields\": ..., \"where\": ...}"));
  const Value::Map& m = v.as_map();
  BLAZE_RETURN_IF_ERROR(CheckKeys(m, path, {"access", "fields", "where"}));
  CollectionGrant grant;
  const Value* access = v.Find("access");
  std::string access_path = Member(path, "access");
  if (access == nullptr) return Error(access_path, "missing; expected \"read\" or \"read-write\"");
  if (access->is_string() && access->as_string() == "read") {
    grant.access = Access::kRead;
  } else if (access->is_string() && access->as_string() == "read-write") {
    grant.access = Access::kReadWrite;
  } else {
    return Error(access_path, "expected \"read\" or \"read-write\", found " + Describe(*access));
  }
  if (const Value* fields = v.Find("fields")) {
    std::string fields_path = Member(path, "fields");
    BLAZE_RETURN_IF_ERROR(ExpectObject(*fields, fields_path, "{\"exclude\": [...]} or {\"include\": [...]}"));
    BLAZE_RETURN_IF_ERROR(CheckKeys(fields->as_map(), fields_path, {"exclude", "include"}));
    const Value* exclude = fields->Find("exclude");
    const Value* include = fields->Find("include");
    if (exclude != nullptr && include != nullptr) {
      return Error(fields_path, "give either \"include\" or \"exclude\", not both");
    }
    if (exclude != nullptr) {
      BLAZE_ASSIGN_OR_RETURN(grant.fields.exclude, ParseNameList(*exclude, Member(fields_path, "exclude")));
    }
    if (include != nullptr) {
      BLAZE_ASSIGN_OR_RETURN(grant.fields.include, ParseNameList(*include, Member(fields_path, "include")));
    }
  }
  if (const Value* where = v.Find("where")) {
    if (!where->is_string()) {
      return Error(Member(path, "where"), "expected a query (a string), found " + Describe(*where));
    }
    grant.where = where->as_string();
  }
  return grant;
}

Status ValidateFieldList(const std::vector<std::string>& names, const std::string& path) {
  std::set<std::string_view> seen;
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string& n = names[i];
    std::string at = Index(path, i);
    if (n.empty()) return Error(at, "a field name must not be empty");
    if (n == "_id") return Error(at, "\"_id\" is the record id, which always travels; it cannot be listed");
    if (n.find('.') != std::string::npos) {
      return Error(at, "expected a top-level field name, found " + ToJson(Value(n)) +
                           " (nested paths are not supported: list the top-level field)");
    }
    if (!value::IsValidUtf8(n)) return Error(at, "a field name must be valid UTF-8");
    if (!seen.insert(n).second) return Error(at, ToJson(Value(n)) + " is listed twice");
  }
  return Status::Ok();
}

Status ValidateGrant(const CollectionGrant& grant, const std::string& path) {
  if (grant.access != Access::kRead && grant.access != Access::kReadWrite) {
    return Error(Member(path, "access"),
                 "expected \"read\" or \"read-write\", found \"" + std::string(AccessName(grant.access)) + "\"");
  }
  std::string fields_path = Member(path, "fields");
  if (grant.fields.include && !grant.fields.exclude.empty()) {
    return Error(fields_path, "give either \"include\" or \"exclude\", not both");
  }
  BLAZE_RETURN_IF_ERROR(ValidateFieldList(grant.fields.exclude, Member(fields_path, "exclude")));
  if (grant.fields.include) {
    BLAZE_RETURN_IF_ERROR(ValidateFieldList(*grant.fields.include, Member(fields_path, "include")));
  }
  // The query must parse, and bind with $app alone: any other variable would
  // be unbound when the owner compiles the policy for an app.
  std::string where_path = Member(path, "where");
  auto q = query::Parse(grant.where);
  if (!q.ok()) return Error(where_path, q.status().message());
  auto bound = query::Bind(*q, query::Bindings{{"app", Value("app")}});
  if (!bound.ok()) return Error(where_path, bound.status().message() + " (a policy binds only $app)");
  return Status::Ok();
}

Status ValidateCollectionName(std::string_view name, const std::string& path) {
  if (name.empty()) return Error(path, "a collection name must not be empty");
  if (name.size() > kMaxCollectionName) return Error(path, "a collection name is at most 256 bytes");
  if (!value::IsValidUtf8(name)) return Error(path, "a collection name must be valid UTF-8");
  return Status::Ok();
}

}  // namespace

std::string_view AccessName(Access access) {
  switch (access) {
    case Access::kNone: return "none";
    case Access::kRead: return "read";
    case Access::kReadWrite: return "read-write";
  }
  return "unknown";
}

Status ValidateAppName(std::string_view name) {
  bool ok = !name.empty() && name.size() <= kMaxAppName;
  for (char c : name) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-');
  if (ok) return Status::Ok();
  std::string shown = name.size() <= 80 ? std::string(name) : std::string(name.substr(0, 80)) + "...";
  return Status::InvalidArgument("expected an app name of 1 to 64 characters a-z, 0-9, '_' or '-', found " +
                                 ToJson(Value(shown)));
}

Status ValidateExportPolicy(const ExportPolicy& policy) {
  for (const auto& [app, grants] : policy.apps) {
    std::string app_path = Member("apps", app);
    if (app != ExportPolicy::kAnyApp) {
      Status s = ValidateAppName(app);
      if (!s.ok()) return Error(app_path, s.message() + " (or \"*\" for every app)");
    }
    std::string colls_path = Member(app_path, "collections");
    for (const auto& [name, grant] : grants.collections) {
      std::string path = Member(colls_path, name);
      BLAZE_RETURN_IF_ERROR(ValidateCollectionName(name, path));
      BLAZE_RETURN_IF_ERROR(ValidateGrant(grant, path));
    }
  }
  return Status::Ok();
}

Result<ExportPolicy> ParseExportPolicy(std::string_view json) {
  // A key named twice is refused: a second entry must not silently widen access.
  auto root = ParseJson(json, JsonParseOptions{.reject_duplicate_keys = true});
  if (!root.ok()) return Error("", root.status().message());
  BLAZE_RETURN_IF_ERROR(ExpectObject(*root, "", "{\"apps\": {...}}"));
  BLAZE_RETURN_IF_ERROR(CheckKeys(root->as_map(), "", {"apps"}));
  const Value* apps = root->Find("apps");
  if (apps == nullptr) return Error("apps", "missing; expected an object of app names (or \"*\") to grants");
  BLAZE_RETURN_IF_ERROR(ExpectObject(*apps, "apps", "of app names (or \"*\") to grants"));
  ExportPolicy policy;
  for (const auto& [app, entry] : apps->as_map()) {
    std::string app_path = Member("apps", app);
    BLAZE_RETURN_IF_ERROR(ExpectObject(entry, app_path, "{\"collections\": {...}}"));
    BLAZE_RETURN_IF_ERROR(CheckKeys(entry.as_map(), app_path, {"collections"}));
    std::string colls_path = Member(app_path, "collections");
    const Value* colls = entry.Find("collections");
    if (colls == nullptr) return Error(colls_path, "missing; expected an object of collection names to grants");
    BLAZE_RETURN_IF_ERROR(ExpectObject(*colls, colls_path, "of collection names to grants"));
    AppGrant& grant = policy.apps[app];
    for (const auto& [name, body] : colls->as_map()) {
      BLAZE_ASSIGN_OR_RETURN(grant.collections[name], ParseCollection(body, Member(colls_path, name)));
    }
  }
  BLAZE_RETURN_IF_ERROR(ValidateExportPolicy(policy));
  return policy;
}

Result<ExportPolicy> ReadExportPolicyFile(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    int e = errno;
    std::string m = "cannot open policy file '" + path + "': " + std::strerror(e);
    return e == ENOENT ? Status::NotFound(std::move(m)) : Status::IOError(std::move(m));
  }
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) text.append(buf, n);
  bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) return Status::IOError("cannot read policy file '" + path + "'");
  auto policy = ParseExportPolicy(text);
  if (!policy.ok()) return policy.status().WithContext(path);
  return policy;
}

std::string ExportPolicyToJson(const ExportPolicy& policy) {
  auto names = [](const std::vector<std::string>& v) {
    Value::Array a;
    for (const auto& s : v) a.emplace_back(s);
    return Value(std::move(a));
  };
  Value::Map apps;
  for (const auto& [app, grants] : policy.apps) {
    Value::Map colls;
    for (const auto& [name, g] : grants.collections) {
      Value::Map c{{"access", Value(AccessName(g.access))}};
      if (g.fields.include) {
        c["fields"] = Value(Value::Map{{"include", names(*g.fields.include)}});
      } else if (!g.fields.exclude.empty()) {
        c["fields"] = Value(Value::Map{{"exclude", names(g.fields.exclude)}});
      }
      if (!g.where.empty()) c["where"] = Value(g.where);
      colls[name] = Value(std::move(c));
    }
    apps[app] = Value(Value::Map{{"collections", Value(std::move(colls))}});
  }
  return ToJson(Value(Value::Map{{"apps", Value(std::move(apps))}}));
}

}  // namespace blaze
