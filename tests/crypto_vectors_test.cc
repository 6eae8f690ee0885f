// crypto_vectors_test.cc — the primitive wrappers against Wycheproof and the
// RFC known-answer file (tests/vectors/, provenance in SOURCES.md).
#include "crypto/aes_gcm.h"

#include <gtest/gtest.h>

#include <cstring>

#include "crypto/hash.h"
#include "crypto/x25519.h"
#include "support/vectors.h"

namespace blaze::crypto {
namespace {

using testing::Hex;
using testing::LoadVectors;
using testing::Unhex;
using testing::UnhexArray;

PrivateKey Priv(const std::string& hex) { return PrivateKey(UnhexArray<std::array<uint8_t, 32>>(hex)); }

TEST(WycheproofTest, X25519) {
  auto doc = LoadVectors("wycheproof/x25519_test.json");
  int valid = 0, acceptable_match = 0, acceptable_refused = 0;
  for (const auto& group : doc["testGroups"]) {
    for (const auto& t : group["tests"]) {
      SCOPED_TRACE("tcId " + std::to_string(t["tcId"].get<int>()));
      std::string expected = t["shared"];
      auto shared = X25519(Priv(t["private"]), UnhexArray<PublicKey>(t["public"]));
      std::string result = t["result"];
      if (result == "valid") {
        ASSERT_TRUE(shared.ok()) << shared.status().ToString();
        EXPECT_EQ(Hex(shared->view()), expected);
        ++valid;
      } else {
        ASSERT_EQ(result, "acceptable");
        if (shared.ok()) {
          EXPECT_EQ(Hex(shared->view()), expected);
          ++acceptable_match;
        } else {
          // Refusing is allowed only where the true result is all zeros.
          EXPECT_EQ(expected, std::string(64, '0'));
          ++acceptable_refused;
        }
      }
    }
  }
  EXPECT_EQ(valid, 264);
  EXPECT_EQ(acceptable_match + acceptable_refused, 254);
  EXPECT_GT(acceptable_refused, 0);
}

TEST(WycheproofTest, HkdfSha256) {
  auto doc = LoadVectors("wycheproof/hkdf_sha256_test.json");
  int valid = 0, invalid = 0;
  for (const auto& group : doc["testGroups"]) {
    for (const auto& t : group["tests"]) {
      SCOPED_TRACE("tcId " + std::to_string(t["tcId"].get<int>()));
      std::string okm;
      Status s = HkdfSha256(Unhex(t["salt"]), Unhex(t["ikm"]), Unhex(t["info"]), t["size"].get<size_t>(), &okm);
      if (t["result"] == "valid") {
        ASSERT_TRUE(s.ok()) << s.ToString();
        EXPECT_EQ(Hex(okm), t["okm"].get<std::string>());
        ++valid;
      } else {
        EXPECT_FALSE(s.ok());
        ++invalid;
      }
    }
  }
  EXPECT_EQ(valid, 83);
  EXPECT_EQ(invalid, 3);
}

TEST(WycheproofTest, Aes256GcmWith96BitNonce) {
  auto doc = LoadVectors("wycheproof/aes_gcm_test.json");
  int valid = 0, invalid = 0;
  for (const auto& group : doc["testGroups"]) {
    if (group["keySize"] != 256 || group["ivSize"] != 96 || group["tagSize"] != 128) continue;
    for (const auto& t : group["tests"]) {
      SCOPED_TRACE("tcId " + std::to_string(t["tcId"].get<int>()));
      std::string key = Unhex(t["key"]), iv = Unhex(t["iv"]), aad = Unhex(t["aad"]), msg = Unhex(t["msg"]);
      std::string sealed = Unhex(t["ct"]) + Unhex(t["tag"]);
      auto gcm = AesGcm::Create(reinterpret_cast<const uint8_t*>(key.data()));
      ASSERT_TRUE(gcm.ok());
      std::string opened;
      Status s = gcm->Open(reinterpret_cast<const uint8_t*>(iv.data()), aad, sealed, &opened);
      if (t["result"] == "valid") {
        ASSERT_TRUE(s.ok()) << s.ToString();
        EXPECT_EQ(opened, msg);
        std::string out;
        ASSERT_TRUE(gcm->Seal(reinterpret_cast<const uint8_t*>(iv.data()), aad, msg, &out).ok());
        EXPECT_EQ(Hex(out), Hex(sealed));
        ++valid;
      } else {
        EXPECT_FALSE(s.ok());
        EXPECT_TRUE(opened.empty());
        ++invalid;
      }
    }
  }
  EXPECT_EQ(valid, 39);
  EXPECT_EQ(invalid, 27);
}

TEST(RfcKnownAnswerTest, X25519ScalarMultAndDiffieHellman) {
  auto doc = LoadVectors("rfc/rfc_kat_x25519_hkdf_aesgcm.json")["rfc7748_x25519"];
  for (const auto& t : doc["scalarmult"]) {
    auto out = X25519(Priv(t["scalar"]), UnhexArray<PublicKey>(t["u"]));
    ASSERT_TRUE(out.ok());
    EXPECT_EQ(Hex(out->view()), t["output"].get<std::string>());
  }
  // Iterated: k = u = 9; r = X25519(k, u); u = k; k = r (1 and 1,000 rounds;
  // the 1,000,000-round value takes over a minute and is left to the RFC).
  std::array<uint8_t, 32> k = UnhexArray<std::array<uint8_t, 32>>(doc["iterated"]["start"]);
  PublicKey u = k;
  for (int i = 1; i <= 1000; ++i) {
    auto r = X25519(PrivateKey(k), u);
    ASSERT_TRUE(r.ok());
    u = k;
    k = r->array();
    if (i == 1) {
      EXPECT_EQ(Hex(std::string_view(reinterpret_cast<char*>(k.data()), 32)), doc["iterated"]["after_1"]);
    }
  }
  EXPECT_EQ(Hex(std::string_view(reinterpret_cast<char*>(k.data()), 32)), doc["iterated"]["after_1000"]);

  const auto& dh = doc["diffie_hellman"];
  auto alice = KeyPairFromPrivateKey(Priv(dh["alice_private"]));
  auto bob = KeyPairFromPrivateKey(Priv(dh["bob_private"]));
  ASSERT_TRUE(alice.ok() && bob.ok());
  EXPECT_EQ(PublicKeyToHex(alice->public_key), dh["alice_public"]);
  EXPECT_EQ(PublicKeyToHex(bob->public_key), dh["bob_public"]);
  auto s1 = X25519(alice->private_key, bob->public_key);
  auto s2 = X25519(bob->private_key, alice->public_key);
  ASSERT_TRUE(s1.ok() && s2.ok());
  EXPECT_EQ(Hex(s1->view()), dh["shared"]);
  EXPECT_EQ(Hex(s2->view()), dh["shared"]);
}

TEST(RfcKnownAnswerTest, HkdfSha256AndItsExtractStep) {
  auto doc = LoadVectors("rfc/rfc_kat_x25519_hkdf_aesgcm.json")["rfc5869_hkdf_sha256"];
  int n = 0;
  for (const auto& t : doc["tests"]) {
    std::string salt = Unhex(t["salt"]), ikm = Unhex(t["ikm"]);
    std::string okm;
    ASSERT_TRUE(HkdfSha256(salt, ikm, Unhex(t["info"]), t["L"].get<size_t>(), &okm).ok());
    EXPECT_EQ(Hex(okm), t["okm"].get<std::string>());
    // PRK = HMAC-SHA256(salt or 32 zeros, IKM) checks HmacSha256 too.
    std::string key = salt.empty() ? std::string(32, '\0') : salt;
    auto prk = HmacSha256(key, {ikm});
    ASSERT_TRUE(prk.ok());
    EXPECT_EQ(Hex(std::string_view(reinterpret_cast<const char*>(prk->data()), 32)), t["prk"].get<std::string>());
    ++n;
  }
  EXPECT_EQ(n, 3);
}

TEST(RfcKnownAnswerTest, GcmSpecAes256Cases) {
  auto doc = LoadVectors("rfc/rfc_kat_x25519_hkdf_aesgcm.json")["gcm_spec_aes256"];
  int n = 0;
  for (const auto& t : doc["tests"]) {
    std::string key = Unhex(t["key"]), iv = Unhex(t["iv"]);
    auto gcm = AesGcm::Create(reinterpret_cast<const uint8_t*>(key.data()));
    ASSERT_TRUE(gcm.ok());
    std::string out;
    ASSERT_TRUE(gcm->Seal(reinterpret_cast<const uint8_t*>(iv.data()), Unhex(t["aad"]), Unhex(t["pt"]), &out).ok());
    EXPECT_EQ(Hex(out), t["ct"].get<std::string>() + t["tag"].get<std::string>());
    ++n;
  }
  EXPECT_EQ(n, 4);
}

TEST(Sha256Test, KnownDigestsAndSplitInput) {
  auto empty = Sha256({""});
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(Hex(std::string_view(reinterpret_cast<const char*>(empty->data()), 32)),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  auto abc = Sha256({"a", "bc"});
  ASSERT_TRUE(abc.ok());
  EXPECT_EQ(Hex(std::string_view(reinterpret_cast<const char*>(abc->data()), 32)),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace blaze::crypto
