// cross_app_common.cc — shared pieces of the owner and reader sides.
#include "local/cross_app_common.h"

#include "local/own_history.h"

namespace blaze::local {

Result<std::unique_ptr<TrustStore>> GroupTrustStore(const AppGroup& group) {
  BLAZE_ASSIGN_OR_RETURN(std::vector<AppEntry> apps, group.Apps());
  auto trust = std::make_unique<TrustStore>();
  for (const auto& app : apps) trust->Add(app.public_key, PeerIdentity{app.name, {"app"}});
  return trust;
}

ExportPolicy GrantFor(const ExportPolicy& policy, const std::string& app) {
  AppGrant grant;
  auto any = policy.apps.find(std::string(ExportPolicy::kAnyApp));
  if (any != policy.apps.end()) grant = any->second;
  auto own = policy.apps.find(app);
  if (own != policy.apps.end()) {
    for (const auto& [name, g] : own->second.collections) grant.collections[name] = g;
  }
  ExportPolicy out;
  out.apps.emplace(app, std::move(grant));
  return out;
}

ChannelOptions CrossAppChannelOptions(const KeyPair& identity, const TrustStore* trust, const std::string& db_name,
                                      const CrossAppOptions& options) {
  ChannelOptions o;
  o.identity = identity;
  o.trust = trust;
  o.database = "cross-app:" + db_name;
  // 1: the sync messages; 2: the owner also sends the app's own history
  // (own_history.h). The highest both speak is used (docs/cross-app.md).
  o.versions = {1, kCrossAppOwnHistoryVersion};
  o.handshake_timeout = options.handshake_timeout;
  o.send_timeout = options.send_timeout;
  o.partial_message_timeout = options.send_timeout;  // an app cannot park half a message
  o.max_message_size = options.max_message_size;  // the owner splits what it sends to fit
  if (options.log) o.log = [log = options.log](std::string_view why) { log(std::string(why)); };
  return o;
}

Status SendMessage(SecureChannel& channel, const sync::Message& m) { return channel.Send(0, sync::EncodeMessage(m)); }

store::WriteScope WriteScopeOf(const ExportPolicy& grant, const std::string& app, const std::string& db_name) {
  store::WriteScope scope;
  scope.by = "a cross-app replica of '" + db_name + "': the owner grants app '" + app + "' writes to " ;
  ExportPolicy resolved = GrantFor(grant, app);
  std::string names;
  for (const auto& [name, g] : resolved.apps.at(app).collections) {
    if (g.access != Access::kReadWrite) continue;
    store::WriteScope::Collection c;
    if (g.fields.include) {
      c.include_only = true;
      c.fields.insert(g.fields.include->begin(), g.fields.include->end());
    } else {
      c.fields.insert(g.fields.exclude.begin(), g.fields.exclude.end());
    }
    scope.collections.emplace(name, std::move(c));
    names += (names.empty() ? "'" : ", '") + name + "'";
  }
  scope.by += names.empty() ? "no collection" : names + " only";
  return scope;
}

}  // namespace blaze::local
