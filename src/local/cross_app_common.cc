// cross_app_common.cc — shared pieces of the owner and reader sides.
#include "local/cross_app_common.h"

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
  o.handshake_timeout = options.handshake_timeout;
  o.send_timeout = options.send_timeout;
  o.partial_message_timeout = options.send_timeout;  // an app cannot park half a message
  o.max_message_size = options.max_message_size;  // the owner splits what it sends to fit
  if (options.log) o.log = [log = options.log](std::string_view why) { log(std::string(why)); };
  return o;
}

Status SendMessage(SecureChannel& channel, const sync::Message& m) { return channel.Send(0, sync::EncodeMessage(m)); }

}  // namespace blaze::local
