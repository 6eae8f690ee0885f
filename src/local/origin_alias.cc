// origin_alias.cc — per-app aliases of node ids in version vectors.
#include "local/origin_alias.h"

#include "crypto/hash.h"
#include "crypto/hex.h"
#include "crypto/random.h"
#include "store/replica.h"

namespace blaze::local {

namespace {
constexpr const char* kAliasKeyMeta = "crossapp.alias_key";
}  // namespace

Result<OriginAliases> OriginAliases::Load(Database& db) {
  auto saved = DatabaseAccess::GetMeta(db, kAliasKeyMeta);
  if (saved.ok()) {
    auto key = crypto::HexDecode(*saved);
    if (!key || key->size() != 32) {
      return Status::Corruption("the owner's '" + std::string(kAliasKeyMeta) + "' is not 32 bytes of hex");
    }
    return OriginAliases(std::move(*key));
  }
  if (!saved.status().IsNotFound()) return saved.status();
  std::string key(32, '\0');
  BLAZE_RETURN_IF_ERROR(crypto::SecureRandom(reinterpret_cast<uint8_t*>(key.data()), key.size()));
  BLAZE_RETURN_IF_ERROR(DatabaseAccess::SetMeta(db, kAliasKeyMeta, crypto::HexEncode(key)));
  return OriginAliases(std::move(key));
}

NodeId OriginAliases::Alias(const std::string& app, NodeId node) const {
  char be[8];
  for (int i = 0; i < 8; ++i) be[i] = static_cast<char>(node.value >> (56 - 8 * i));
  auto mac = crypto::HmacSha256(key_, {app, std::string_view("\0", 1), std::string_view(be, 8)});
  uint64_t v = 0;
  if (mac.ok()) {
    for (int i = 0; i < 8; ++i) v = (v << 8) | (*mac)[i];
  }
  return NodeId{v == 0 ? 1 : v};
}

}  // namespace blaze::local
