// group_commands.cc — `blazedb group init|add|list`: app groups for
// cross-app sync (docs/cross-app.md). Each prints JSON, one object a line.
#include <sys/stat.h>

#include <cstdio>

#include "blaze/app_group.h"
#include "blaze/export_policy.h"
#include "blaze/json.h"
#include "blaze/keys.h"
#include "commands.h"

namespace blaze::cli {

Status GroupInit(const std::string& dir) {
  struct stat st;
  const bool existed = ::stat(dir.c_str(), &st) == 0;
  BLAZE_ASSIGN_OR_RETURN(AppGroup group, AppGroup::Init(dir));
  BLAZE_ASSIGN_OR_RETURN(auto apps, group.Apps());
  Value::Map out{
      {"group", Value(group.dir())}, {"created", Value(!existed)}, {"apps", Value(static_cast<int64_t>(apps.size()))}};
  std::printf("%s\n", ToJson(Value(std::move(out))).c_str());
  return Status::Ok();
}

Status GroupAdd(const std::string& dir, const std::string& app, const std::string& public_key) {
  auto key = PublicKeyFromHex(public_key);
  if (!key.ok()) return key.status().WithContext("PUBLIC_KEY (as printed by 'blazedb pubkey')");
  Status name = ValidateAppName(app);
  if (!name.ok()) return name.WithContext("APP_NAME");
  BLAZE_ASSIGN_OR_RETURN(AppGroup group, AppGroup::Open(dir));
  BLAZE_ASSIGN_OR_RETURN(bool added, group.AddApp(app, *key));
  Value::Map out{{"group", Value(group.dir())},
                 {"app", Value(app)},
                 {"public_key", Value(PublicKeyToHex(*key))},
                 {"added", Value(added)}};
  std::printf("%s\n", ToJson(Value(std::move(out))).c_str());
  return Status::Ok();
}

Status GroupList(const std::string& dir) {
  BLAZE_ASSIGN_OR_RETURN(AppGroup group, AppGroup::Open(dir));
  BLAZE_ASSIGN_OR_RETURN(auto apps, group.Apps());
  for (const AppEntry& e : apps) {
    Value::Map line{{"app", Value(e.name)}, {"public_key", Value(PublicKeyToHex(e.public_key))}};
    std::printf("%s\n", ToJson(Value(std::move(line))).c_str());
  }
  return Status::Ok();
}

}  // namespace blaze::cli
